/**
 * Gradients of `Sum` and `Mean` that stay on the device.
 *
 * tfjs-core 4.22's gradients of Sum and Mean multiply dy by `ones(x.shape)`, a host typed array
 * that the webgpu backend uploads through a mapped staging buffer on every backward pass: 128 MiB
 * for a [4096, 8192] loss. Every loss reduced to a scalar passes through one, which makes it the
 * first suspect for the "every tf.grad costs ≈ 6.4 s whatever the op" cliff measured on the H100
 * (issue #10, `shared/gpu/NOTES.md`). These replacements broadcast dy on the device instead
 * (`broadcastTo`, a Tile kernel): the same values, no host array. {@linkcode initBackend}
 * registers them when it starts webgpu; other backends keep tfjs's own gradients.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;
const originals = new Map<string, tf.GradConfig>();

/**
 * Switches between these gradients and tfjs's own (to measure the difference on a GPU); returns
 * whether they were on.
 */
export function setDeviceGradients(on: boolean): boolean {
  const before = registered;
  if (on) registerDeviceGradients();
  else if (registered) {
    for (const config of originals.values()) tf.registerGradient(config);
    registered = false;
  }
  return before;
}

/** Registers the device-side Sum and Mean gradients (idempotent; global to tfjs). */
export function registerDeviceGradients(): void {
  if (registered) return;
  registered = true;
  for (const kernelName of ["Sum", "Mean"] as const) {
    if (!originals.has(kernelName)) {
      const original = tf.getGradient(kernelName);
      if (original) originals.set(kernelName, original);
    }
    tf.registerGradient({
      kernelName,
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
        const kept = x.shape.slice();
        let reduced = 1;
        for (const axis of axes) {
          reduced *= x.shape[axis];
          kept[axis] = 1;
        }
        return {
          x: () => {
            const g = tf.broadcastTo(
              tf.reshape(tf.cast(dy as tf.Tensor, "float32"), kept),
              x.shape,
            );
            return kernelName === "Mean" ? tf.div(g, reduced) : g;
          },
        };
      },
    });
  }
}

/** True once {@linkcode registerDeviceGradients} has run in this process. */
export function deviceGradientsRegistered(): boolean {
  return registered;
}

/**
 * tfjs's `Identity` kernel for the wasm backend without the copy.
 *
 * `tf.clone`, and with it every tensor a `tf.customGrad` saves for its gradient, runs `Identity`.
 * tfjs-backend-wasm 4.22 implements it as a new buffer and a copy (17 ms for a [4096, 8192] float32
 * tensor on the CI machine, measured), so a fused loss that saves its two logit tensors paid two
 * such copies per step. The cpu and webgpu backends share the buffer instead and count references,
 * as wasm's own `Reshape` does; this kernel does the same. It is safe because tfjs never writes
 * into a kernel's inputs: every kernel writes a fresh output, and `Variable.assign` swaps buffers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

interface RefCountingBackend {
  incRef(dataId: object): void;
}

let registered = false;

/** Replaces wasm's copying `Identity` by a shared, reference-counted one (idempotent). */
export function registerSharedIdentity(): void {
  if (registered) return;
  const original = tf.getKernel("Identity", "wasm");
  if (!original) {
    throw new Error("registerSharedIdentity: tfjs-backend-wasm has no Identity kernel");
  }
  registered = true;
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === "string") return original.kernelFunc(args);
      (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

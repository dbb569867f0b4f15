/**
 * Input checks that read tensor values, on backends that cannot read synchronously.
 *
 * tfjs-backend-webgpu reads a tensor synchronously (`dataSync`) by drawing it into an
 * OffscreenCanvas's 2d context, which Deno does not provide, so on webgpu every synchronous read
 * throws. The checks that guard the losses and models (finite logits, 0/1 masks, token ids and
 * labels in range) therefore run at once where they can (cpu, wasm, tensorflow), and on webgpu are
 * queued: {@linkcode flushDeferredChecks} reads them asynchronously and throws the first failure.
 * The trainer flushes once per step, in the same readback as the losses and the gradient norm and
 * before the update, so bad input still stops a run before it changes a weight.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A check over the values of a small tensor: returns an error message, or undefined when fine. */
export type ValueCheck = (values: Float32Array | Int32Array | Uint8Array) => string | undefined;

interface Pending {
  values: tf.Tensor;
  check: ValueCheck;
}

/** Most checks kept waiting; older ones are dropped (and counted) past this. */
export const MAX_PENDING_CHECKS = 256;

const pending: Pending[] = [];
let dropped = 0;

/** False on backends whose synchronous reads fail under Deno (webgpu). */
export function syncReadsAvailable(): boolean {
  return tf.getBackend() !== "webgpu"; // Deno's OffscreenCanvas has no 2d context to read through
}

/**
 * Runs `check` on the values of `values` now when the backend reads synchronously (throwing its
 * message as an Error), else keeps `values` and queues the check for
 * {@linkcode flushDeferredChecks}. Takes ownership of `values` (disposed after the check).
 */
export function checkValues(values: tf.Tensor, check: ValueCheck): void {
  if (syncReadsAvailable()) {
    const data = values.dataSync();
    values.dispose();
    const message = check(data);
    if (message) throw new Error(message);
    return;
  }
  pending.push({ values: tf.keep(values), check });
  while (pending.length > MAX_PENDING_CHECKS) {
    pending.shift()!.values.dispose();
    dropped++;
  }
}

/**
 * The values of `parts`, flattened and concatenated as float32: one readback when they all live
 * on the active backend, else one asynchronous read each (a tensor left on webgpu by an earlier
 * backend cannot be moved synchronously).
 */
async function readTogether(parts: tf.Tensor[]): Promise<Float32Array> {
  const info = (tf.engine() as unknown as {
    state: { tensorInfo: WeakMap<object, { backend: unknown }> };
  }).state.tensorInfo;
  if (parts.every((t) => info.get(t.dataId)?.backend === tf.backend())) {
    const joined = tf.tidy(() =>
      tf.concat(parts.map((t) => tf.reshape(tf.cast(t, "float32"), [-1])))
    );
    try {
      return await joined.data() as Float32Array;
    } finally {
      joined.dispose();
    }
  }
  const out = new Float32Array(parts.reduce((n, t) => n + t.size, 0));
  let offset = 0;
  for (const t of parts) {
    out.set(await t.data(), offset);
    offset += t.size;
  }
  return out;
}

/** Number of checks waiting for {@linkcode flushDeferredChecks}. */
export function pendingChecks(): number {
  return pending.length;
}

/**
 * Reads every queued check asynchronously, in one readback (one GPU round trip), and throws the
 * first failure (after disposing all). `alongside`, if given, is read in the same readback and its
 * values returned (float32), so a caller's own read costs no extra round trip; it is not disposed.
 * Checks dropped because more than {@linkcode MAX_PENDING_CHECKS} waited are reported on stderr.
 */
export async function flushDeferredChecks(alongside?: tf.Tensor): Promise<Float32Array> {
  if (dropped > 0) {
    console.error(
      `[kdlab] ${dropped} input checks were dropped unread (flushDeferredChecks not called often enough)`,
    );
    dropped = 0;
  }
  const batch = pending.splice(0);
  const parts = [...batch.map((b) => b.values), ...(alongside ? [alongside] : [])];
  if (parts.length === 0) return new Float32Array(0);
  let values: Float32Array;
  try {
    values = await readTogether(parts);
  } finally {
    for (const b of batch) b.values.dispose();
  }
  let offset = 0;
  let failure: string | undefined;
  for (const { values: t, check } of batch) {
    const own = values.subarray(offset, offset + t.size);
    offset += t.size;
    failure ??= check(t.dtype === "int32" ? Int32Array.from(own) : own);
  }
  if (failure) throw new Error(failure);
  return values.slice(offset);
}

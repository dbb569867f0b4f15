/**
 * Fixes for tfjs-backend-webgpu 4.22 kernels that are wrong under Deno, applied when webgpu starts.
 *
 * - `AddN` binds every input as a storage buffer in one shader. WebGPU's default limit is 8 storage
 *   buffers per shader stage (tfjs does not raise it), so with more than 7 inputs pipeline creation
 *   fails; the failure is a WebGPU validation error that Deno reports nowhere, the dispatch is
 *   skipped, and the output holds whatever its pooled buffer held before. Global-norm gradient
 *   clipping (one squared norm per parameter tensor) hit this: a GPT's gradient norm read 16 or
 *   1e-5 at random. The patched kernel sums at most `maxStorageBuffersPerShaderStage − 1` inputs
 *   per dispatch, as tfjs's own Concat does.
 * - Uncaptured WebGPU errors are printed on stderr (they were silent), so such a failure is seen.
 * - A synchronous read (`dataSync`, `arraySync`) of data that lives on the GPU fails under Deno
 *   with "Cannot read properties of null (reading 'clearRect')" (tfjs reads through an
 *   OffscreenCanvas 2d context, which Deno lacks). It now fails with an error that says so and
 *   names the fix (`await tensor.data()`). Reads of data still on the host keep working.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";

let patched = false;
const watched = new WeakSet<object>();

/** Applies the kernel fixes (idempotent) and watches the active webgpu device for errors. */
export function patchWebGPUKernels(): void {
  watchDeviceErrors();
  explainSyncReads();
  if (patched) return;
  patched = true;
  const original = tf.getKernel("AddN", "webgpu");
  if (!original) throw new Error("patchWebGPUKernels: tfjs-backend-webgpu has no AddN kernel");
  const addN = original.kernelFunc as unknown as (args: {
    inputs: tf.TensorInfo[];
    backend: WebGPUBackend;
  }) => tf.TensorInfo;
  tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({
    ...original,
    kernelFunc: ({ inputs, backend }) => {
      const gpu = backend as unknown as WebGPUBackend;
      const limit = Math.max(2, gpu.device.limits.maxStorageBuffersPerShaderStage - 1);
      let terms = inputs as unknown as tf.TensorInfo[];
      const temporaries: tf.TensorInfo[] = [];
      while (terms.length > limit) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < terms.length; i += limit) {
          const group = terms.slice(i, i + limit);
          if (group.length === 1) next.push(group[0]);
          else {
            const partial = addN({ inputs: group, backend: gpu });
            temporaries.push(partial);
            next.push(partial);
          }
        }
        terms = next;
      }
      const out = addN({ inputs: terms, backend: gpu });
      for (const t of temporaries) gpu.disposeData(t.dataId);
      return out;
    },
  });
}

interface ReadableBackend {
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values?: unknown; dtype?: string } | undefined };
}

const explained = new WeakSet<object>();

function explainSyncReads(): void {
  const backend = tf.backend() as unknown as ReadableBackend;
  if (explained.has(backend) || typeof backend.readSync !== "function") return;
  explained.add(backend);
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (data?.values != null || data?.dtype === "string" || data?.dtype === "complex64") {
      return readSync(dataId);
    }
    throw new Error(
      "synchronous reads (dataSync, arraySync) of GPU data are not available on the webgpu " +
        "backend under Deno; read asynchronously instead: await tensor.data() or tensor.array()",
    );
  };
}

function watchDeviceErrors(): void {
  const backend = tf.backend() as unknown as Partial<WebGPUBackend>;
  const device = backend.device;
  if (!device || watched.has(device)) return;
  watched.add(device);
  device.addEventListener("uncapturederror", (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    console.error(
      `[kdlab] WebGPU error (a kernel's result is invalid): ${error?.message ?? error}`,
    );
  });
}

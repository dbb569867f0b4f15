/**
 * A clear error for using the library before a tfjs backend is chosen. Importing `lib/backend.ts`
 * registers webgpu, wasm and cpu, but chooses none until `initBackend()` runs; tfjs's own error
 * then advises `await tf.ready()`, which would pick webgpu even on a software adapter (llvmpipe,
 * many times slower than wasm). Model builders and the trainer call {@link requireBackend} first.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Throws, naming `caller`, when no tfjs backend is set and tfjs cannot start one by itself (it
 * starts the highest-priority registered backend when that one starts synchronously, as `cpu`
 * does where only `@tensorflow/tfjs` is imported; webgpu and wasm start asynchronously).
 */
export function requireBackend(caller: string): void {
  if (tf.engine().backendName) return;
  try {
    tf.engine().backend; // starts the best registered backend, or throws if it starts async
  } catch (error) {
    throw new Error(
      `${caller}: no tfjs backend is set yet: call \`await initBackend()\` from lib/backend.ts ` +
        "first (webgpu on a GPU, else wasm; KD_BACKEND=webgpu|wasm|cpu|tensorflow chooses). " +
        `tfjs: ${(error as Error).message}`,
    );
  }
}

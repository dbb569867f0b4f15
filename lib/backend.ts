/**
 * Backend selection for tfjs under Deno.
 *
 * Automatic order: `tensorflow` (when `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` is
 * installed in the project's `node_modules`) → `webgpu` (only on a real GPU adapter) → `wasm`
 * (SIMD where the runtime supports it) → `cpu`. A name given explicitly, or in `KD_BACKEND`, is
 * honoured or fails with an error that says why; the software WebGPU adapter (Mesa llvmpipe,
 * SwiftShader) is used only when `webgpu` is asked for by name. Starting webgpu also registers
 * device-side gradients of Sum and Mean (`lib/gpu/device_gradients.ts`) and patches tfjs-webgpu's
 * AddN, which is silently wrong with more than 7 inputs (`lib/gpu/kernel_patches.ts`), and a
 * register-tiled fp32 matmul over tfjs's BatchMatMul (`lib/gpu/tiled_matmul.ts`). Starting wasm
 * registers a SIMD batched matmul over tfjs's scalar loop for batched and transposed products
 * (`lib/wasm/simd_matmul.ts`), SIMD kernels of the fused divergences
 * (`lib/wasm/simd_divergence.ts`), and an `Identity` that shares buffers instead of copying them
 * (`lib/wasm/shared_identity.ts`).
 *
 * Facts measured on the CI machine (2 cores): wasm SIMD ≈ 16 GFLOP/s on a 1024³ matmul, one thread:
 * the threaded wasm build cannot start its emscripten workers under Deno's `worker_threads`
 * (ERR_WORKER_PATH), so it is not used.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { registerDeviceGradients } from "./gpu/device_gradients.ts";
import { patchWebGPUKernels } from "./gpu/kernel_patches.ts";
import { registerTiledMatMul } from "./gpu/tiled_matmul.ts";
import { registerSimdMatMul } from "./wasm/simd_matmul.ts";
import { registerSimdDivergence } from "./wasm/simd_divergence.ts";
import { registerSharedIdentity } from "./wasm/shared_identity.ts";

/** Backends kdlab knows how to start, fastest first. */
export const BACKEND_NAMES = ["tensorflow", "webgpu", "wasm", "cpu"] as const;

/** One of {@linkcode BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** What {@linkcode initBackend} chose, for logs and run records. */
export interface BackendInfo {
  /** The tfjs backend now active. */
  name: BackendName;
  /** Adapter or device description (GPU name, "wasm simd", ...). */
  adapter: string;
  /** True when WebGPU runs on a software (fallback) adapter such as llvmpipe. */
  fallbackAdapter: boolean;
  /** Threads used by the wasm backend (1 under Deno today). */
  threads: number;
  /** Whether the wasm backend uses SIMD. */
  simd: boolean;
  /** The tfjs version. */
  tfjsVersion: string;
}

/** Options of {@linkcode initBackend}. */
export interface InitBackendOptions {
  /** Print the chosen backend on stderr (default true). */
  log?: boolean;
}

interface GpuAdapterLike {
  info?: { description?: string; vendor?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

let current: BackendInfo | undefined;

/**
 * Starts a tfjs backend and returns what was chosen.
 *
 * @param name a backend name, `"auto"`, or undefined to read `KD_BACKEND` (default `"auto"`).
 * @throws Error naming the backend when it is unknown or cannot start here.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const info = await initBackend("cpu", { log: false });
 * assert.equal(info.name, "cpu");
 * await assert.rejects(() => initBackend("tpu"), /unknown backend "tpu"/);
 * ```
 */
export async function initBackend(
  name?: string,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const requested = (name ?? Deno.env.get("KD_BACKEND") ?? "auto").trim().toLowerCase();
  if (requested !== "auto" && !(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(
      `initBackend: unknown backend "${requested}" (from ${
        name === undefined ? "KD_BACKEND" : "the name argument"
      }); expected one of auto, ${BACKEND_NAMES.join(", ")}`,
    );
  }
  const info = requested === "auto"
    ? await startFirstAvailable()
    : await startNamed(requested as BackendName);
  current = info;
  if (options.log ?? true) console.error(`[kdlab] backend: ${describeBackend(info)}`);
  return info;
}

/** The backend chosen by the last {@linkcode initBackend} call, or undefined before one. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** One line describing a backend, e.g. `wasm (wasm simd, 1 thread)`. */
export function describeBackend(info: BackendInfo): string {
  const extra = info.name === "wasm"
    ? `, ${info.threads} thread${info.threads === 1 ? "" : "s"}`
    : info.fallbackAdapter
    ? ", software adapter"
    : "";
  return `${info.name} (${info.adapter}${extra}), tfjs ${info.tfjsVersion}`;
}

async function startFirstAvailable(): Promise<BackendInfo> {
  if (findTfjsNode()) return await startNamed("tensorflow");
  const adapter = await requestAdapter();
  if (adapter && !isFallback(adapter)) return await startNamed("webgpu");
  try {
    return await startNamed("wasm");
  } catch (error) {
    console.error(`[kdlab] wasm backend unavailable (${(error as Error).message}); using cpu`);
    return await startNamed("cpu");
  }
}

async function startNamed(name: BackendName): Promise<BackendInfo> {
  let adapter = "";
  let fallbackAdapter = false;
  if (name === "tensorflow") {
    const found = findTfjsNode();
    if (!found) {
      throw new Error(
        'initBackend: backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node ' +
          "in this project's node_modules (npm install it where its install script can download " +
          "libtensorflow); it is not installed here",
      );
    }
    found.require(found.name);
    adapter = found.name;
  } else if (name === "webgpu") {
    const gpu = await requestAdapter();
    if (!gpu) {
      throw new Error(
        'initBackend: backend "webgpu" needs a WebGPU adapter and navigator.gpu found none ' +
          "(install Vulkan drivers, e.g. Debian's mesa-vulkan-drivers for the software adapter)",
      );
    }
    fallbackAdapter = isFallback(gpu);
    adapter = gpu.info?.description || `vendor ${gpu.info?.vendor ?? "?"}`;
    registerDeviceGradients();
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`initBackend: backend "${name}" failed to initialise (see the tfjs log above)`);
  }
  if (name === "webgpu") patchWebGPUKernels(), registerTiledMatMul();
  const simd = name === "wasm" && Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  if (name === "wasm") adapter = simd ? "wasm simd" : "wasm";
  if (name === "wasm") registerSharedIdentity();
  if (name === "wasm" && simd) registerSimdMatMul(), registerSimdDivergence();
  if (name === "cpu") adapter = "js";
  return {
    name,
    adapter,
    fallbackAdapter,
    threads: name === "wasm" ? getThreadsCount() : 1,
    simd,
    tfjsVersion: tf.version.tfjs,
  };
}

async function requestAdapter(): Promise<GpuAdapterLike | null> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return null;
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
  try {
    return await gpu.requestAdapter();
  } catch {
    return null;
  }
}

function isFallback(adapter: GpuAdapterLike): boolean {
  if (adapter.isFallbackAdapter || adapter.info?.isFallbackAdapter) return true;
  return /llvmpipe|swiftshader|software/i.test(adapter.info?.description ?? "");
}

function findTfjsNode(): { name: string; require: (id: string) => unknown } | undefined {
  const require = createRequire(import.meta.url); // resolves from the project's node_modules
  for (const name of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require.resolve(name);
      return { name, require };
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}

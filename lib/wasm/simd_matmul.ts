/**
 * A WebAssembly SIMD batched matmul for tfjs's wasm backend, registered over its `BatchMatMul`.
 *
 * tfjs-backend-wasm 4.22 sends a matmul to XNNPACK only when both operands are single matrices
 * without a transpose flag; everything else (attention's [B·H, T, d] products, any transposed
 * operand) runs a scalar triple loop at 1.8 GFLOP/s on the CI machine (measured: [64, 64, 32] ·
 * [64, 32, 64] in 9.4 ms), whatever the flags. In a GPT training step on wasm that loop took a
 * quarter of the time. This kernel computes C[b] = A[b]·B[b] with 128-bit vectors: for each row
 * of A and each block of 16 columns of C, four f32x4 accumulators stay in registers across the
 * whole inner dimension (one broadcast element of A times four vectors of B's row per step),
 * then blocks of 4 columns, then single columns for the rest. The module is written in
 * TypeScript (`wasm_module.ts`), imports tfjs's own memory, and reads and writes the tensors in
 * place.
 *
 * The registered kernel: a single matrix pair without flags stays with XNNPACK; a transposed
 * operand is transposed explicitly first (tfjs's Transpose kernel), then a single pair goes to
 * XNNPACK and a batch to this kernel. Batch broadcasting where one side has one matrix is
 * supported; other broadcasts go to tfjs's kernel. `KD_MATMUL=tfjs` disables it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { envFlag } from "../gpu/env.ts";
import { f4 } from "./simd_math.ts";
import { F32, I32, moduleBytes, op, V128, type WasmFunction } from "./wasm_module.ts";
import { backendMemory, heapOffset, instanceExports, type WasmBackendLike } from "./tfjs_heap.ts";

// Parameters of `bmm` (i32): pointers in bytes, sizes in elements, batch strides in bytes.
const A = 0, B = 1, OUT = 2, BATCH = 3, M = 4, K = 5, N = 6, A_STRIDE = 7, B_STRIDE = 8;
// Locals.
const I = 9, J = 10, KK = 11, AP = 12, BP = 13, ROW_A = 14, ROW_OUT = 15, ROW_BYTES = 16;
const ACC = [17, 18, 19, 20], AV = 21, S = 22;

/** The k loop for `width` columns starting at j: ACC (or S) += A[i, k] · B[k, j:j+width]. */
function innerLoop(width: 16 | 4 | 1): number[][] {
  const vectors = width / 4;
  const start = [
    op.get(ROW_A),
    op.set(AP),
    [...op.get(B), ...op.get(J), ...op.i32(4), ...op.i32Mul(), ...op.i32Add()],
    op.set(BP),
    op.get(K),
    op.set(KK),
  ];
  const zero = width === 1
    ? [[...op.f32(0), ...op.set(S)]]
    : ACC.slice(0, vectors).map((acc) => [...op.v128Zero(), ...op.set(acc)]);
  const step = width === 1
    ? [[
      ...op.get(S),
      ...op.get(AP),
      ...op.f32Load(),
      ...op.get(BP),
      ...op.f32Load(),
      ...op.f32Mul(),
      ...op.f32Add(),
      ...op.set(S),
    ]]
    : [
      [...f4.splat([...op.get(AP), ...op.f32Load()]), ...op.set(AV)],
      ...ACC.slice(0, vectors).map((acc, q) => [
        ...f4.add(op.get(acc), f4.mul(op.get(AV), [...op.get(BP), ...op.v128Load(16 * q)])),
        ...op.set(acc),
      ]),
    ];
  const advance = [
    [...op.get(AP), ...op.i32(4), ...op.i32Add(), ...op.set(AP)],
    [...op.get(BP), ...op.get(ROW_BYTES), ...op.i32Add(), ...op.set(BP)],
    [...op.get(KK), ...op.i32(1), ...op.i32Sub(), ...op.tee(KK), ...op.brIf(0)],
  ];
  const outPtr = [...op.get(ROW_OUT), ...op.get(J), ...op.i32(4), ...op.i32Mul(), ...op.i32Add()];
  const store = width === 1
    ? [[...outPtr, ...op.get(S), ...op.f32Store()]]
    : ACC.slice(0, vectors).map((acc, q) => [...outPtr, ...op.get(acc), ...op.v128Store(16 * q)]);
  return [...start, ...zero, op.loop(), ...step, ...advance, op.end(), ...store];
}

/** Columns j, j + width, … while j + width ≤ N. */
function columnLoop(width: 16 | 4 | 1): number[][] {
  return [
    op.block(),
    op.loop(),
    [...op.get(J), ...op.i32(width), ...op.i32Add(), ...op.get(N), ...op.i32GtU(), ...op.brIf(1)],
    ...innerLoop(width),
    [...op.get(J), ...op.i32(width), ...op.i32Add(), ...op.set(J)],
    op.br(0),
    op.end(),
    op.end(),
  ];
}

/** bmm(a, b, out, batch, M, K, N, aStride, bStride): out[b] = a[b]·b[b], all ≥ 1, row-major. */
const BMM: WasmFunction = {
  name: "bmm",
  params: 9,
  locals: [{ type: I32, count: 8 }, { type: V128, count: 5 }, { type: F32, count: 1 }],
  body: [
    [...op.get(N), ...op.i32(4), ...op.i32Mul(), ...op.set(ROW_BYTES)],
    op.loop(), // batches
    [...op.i32(0), ...op.set(I)],
    op.loop(), // rows
    [...op.get(A), ...op.get(I), ...op.get(K), ...op.i32Mul(), ...op.i32(4), ...op.i32Mul()],
    [...op.i32Add(), ...op.set(ROW_A)],
    [...op.get(OUT), ...op.get(I), ...op.get(ROW_BYTES), ...op.i32Mul(), ...op.i32Add()],
    [...op.set(ROW_OUT), ...op.i32(0), ...op.set(J)],
    ...columnLoop(16),
    ...columnLoop(4),
    ...columnLoop(1),
    [...op.get(I), ...op.i32(1), ...op.i32Add(), ...op.tee(I), ...op.get(M), ...op.i32LtU()],
    op.brIf(0),
    op.end(),
    [...op.get(A), ...op.get(A_STRIDE), ...op.i32Add(), ...op.set(A)],
    [...op.get(B), ...op.get(B_STRIDE), ...op.i32Add(), ...op.set(B)],
    [...op.get(OUT), ...op.get(M), ...op.get(ROW_BYTES), ...op.i32Mul(), ...op.i32Add()],
    op.set(OUT),
    [...op.get(BATCH), ...op.i32(1), ...op.i32Sub(), ...op.tee(BATCH), ...op.brIf(0)],
    op.end(),
  ],
};

/** The kernel's bytes (exported for tests). */
export const SIMD_MATMUL_WASM: Uint8Array = moduleBytes([BMM]);

type Bmm = (...args: number[]) => void;

let compiled: WebAssembly.Module | undefined;

/** The kernel over a wasm backend's memory, or undefined when the memory is not reachable. */
function kernelFor(backend: WasmBackendLike): Bmm | undefined {
  const memory = backendMemory(backend);
  if (!memory) return undefined;
  compiled ??= new WebAssembly.Module(SIMD_MATMUL_WASM as BufferSource);
  return instanceExports(compiled, memory).bmm as Bmm;
}

let enabled = envFlag("KD_MATMUL") !== "tfjs";
let registered = false;
let dispatched = 0;

/** Switches the SIMD kernel on or off (default on; `KD_MATMUL=tfjs`: off); returns the previous state. */
export function setSimdMatMul(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** How many products the SIMD kernel has computed in this process (for tests and benchmarks). */
export function simdMatMulCount(): number {
  return dispatched;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * Registers the SIMD kernel over tfjs's wasm `BatchMatMul` (idempotent). Called when the wasm
 * backend starts; returns false when the backend's memory cannot be reached (then tfjs's kernel
 * stays).
 */
export function registerSimdMatMul(): boolean {
  if (registered) return true;
  const original = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!original || !transpose) {
    throw new Error("registerSimdMatMul: tfjs-backend-wasm has no BatchMatMul or Transpose kernel");
  }
  const backend = tf.findBackend("wasm") as unknown as WasmBackendLike | null;
  if (!backend || !kernelFor(backend)) return false;
  registered = true;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
      };
      const wasm = args.backend as unknown as WasmBackendLike;
      const batchA = size(a.shape.slice(0, -2));
      const batchB = size(b.shape.slice(0, -2));
      const batch = Math.max(batchA, batchB);
      const m = a.shape[a.shape.length - (transposeA ? 1 : 2)];
      const k = a.shape[a.shape.length - (transposeA ? 2 : 1)];
      const n = b.shape[b.shape.length - (transposeB ? 2 : 1)];
      const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(
        a.shape.slice(0, -2),
        b.shape.slice(0, -2),
      );
      const simple = size(outBatch) === batch &&
        (batchA === batchB || Math.min(batchA, batchB) === 1);
      const empty = m * n * k * batch === 0 || k !== b.shape[b.shape.length - (transposeB ? 1 : 2)];
      const xnnpack = batch === 1 && !transposeA && !transposeB;
      const kernel = kernelFor(wasm);
      if (
        !enabled || !kernel || !simple || empty || xnnpack || a.dtype !== "float32" ||
        b.dtype !== "float32"
      ) {
        return original.kernelFunc(args);
      }
      const temporaries: tf.TensorInfo[] = [];
      const plain = (x: tf.TensorInfo, flag: boolean) => {
        if (!flag) return x;
        const perm = x.shape.map((_, i) => i);
        perm.splice(-2, 2, x.shape.length - 1, x.shape.length - 2);
        const t = transpose.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { perm } });
        temporaries.push(t as tf.TensorInfo);
        return t as tf.TensorInfo;
      };
      const pa = plain(a, transposeA);
      const pb = plain(b, transposeB);
      let out: tf.TensorInfo;
      if (batch === 1) {
        out = original.kernelFunc({
          ...args,
          inputs: { a: pa, b: pb },
          attrs: { transposeA: false, transposeB: false },
        }) as tf.TensorInfo;
      } else {
        out = wasm.makeOutput([...outBatch, m, n], "float32");
        const offset = (x: tf.TensorInfo) => heapOffset(wasm, x);
        kernel(
          offset(pa),
          offset(pb),
          offset(out),
          batch,
          m,
          k,
          n,
          batchA === 1 ? 0 : m * k * 4,
          batchB === 1 ? 0 : k * n * 4,
        );
        dispatched++;
      }
      for (const t of temporaries) wasm.disposeData(t.dataId);
      return out;
    },
  });
  return true;
}

/**
 * A register-tiled fp32 matrix multiply for the webgpu backend, registered over tfjs's
 * `BatchMatMul` kernel.
 *
 * tfjs-backend-webgpu 4.22 multiplies in 32×32 output tiles, 4×4 per thread; on the H100 that
 * reached 2.66 TFLOP/s at 4096³ against PyTorch's 51.4 (issue #10). This kernel is the classic
 * SGEMM blocking (Volkov & Demmel 2008; the CUTLASS / "How to optimize a CUDA matmul" recipe):
 * each workgroup of 16×16 threads computes a (16·TM)×(16·TN) tile of C, staging BK-deep slices of
 * A (stored transposed) and B in workgroup memory; each thread accumulates TM×TN outputs in
 * registers, strided by 16 so that its workgroup-memory reads are broadcasts (A) or consecutive
 * (B) and its stores to C are coalesced. Transposed operands are read in place (no copy);
 * batches broadcast when one side has a single matrix.
 *
 * The tile shape is a parameter ({@linkcode setTiledMatMul}, {@linkcode DEFAULT_TILING}), as are
 * three code forms: a vec4 layout (each thread owns 4-row and 4-column blocks, read from workgroup
 * memory as vec4), unrolled code (named registers instead of loops over private arrays), and
 * prefetching (the next K slice is read into registers while the current one is multiplied). All
 * are correct everywhere and meant to be tuned on the GPU with `bench/gpu_kd_step.ts`.
 * Products with few output tiles and a long K (a linear head's weight gradient: 512×V outputs
 * summed over 4096 tokens) are split along K (split-K, as in CUTLASS): each of S workgroups per
 * tile sums one K range into a partial product, and a second kernel adds the S partials, so that
 * a large GPU gets enough workgroups to hide memory latency ({@linkcode splitKFor}).
 * Small products (fewer than {@linkcode MIN_WORKGROUPS} tiles), other dtypes and batch broadcasts
 * beyond "one side has one matrix" go to tfjs's own kernel. `KD_MATMUL=tfjs` disables it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { envFlag } from "./env.ts";
import { ElementwiseProgram } from "./webgpu_kernel.ts";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";

/** Tile parameters: per-thread outputs TM×TN, K-slice depth BK (workgroups are 16×16 threads). */
export interface MatMulTiling {
  /** Outputs per thread along M (rows of C). */
  tm: number;
  /** Outputs per thread along N (columns of C). */
  tn: number;
  /** Depth of each K slice staged in workgroup memory. */
  bk: number;
  /**
   * Give each thread blocks of 4 consecutive rows and columns, read from workgroup memory as vec4
   * (needs TM, TN ∈ {4, 8}); otherwise each thread's rows and columns are strided by 16.
   */
  vec4?: boolean;
  /**
   * Write the per-thread products, the staging and the stores out with constant indices and named
   * registers instead of WGSL loops over private arrays.
   */
  unroll?: boolean;
  /**
   * Read the next K slice from global memory into registers while the current one is multiplied
   * (register double buffering), so that the loads' latency overlaps the arithmetic.
   */
  prefetch?: boolean;
  /**
   * Split K into this many ranges (1: never split); absent or 0: automatic, see
   * {@linkcode splitKFor}.
   */
  splitK?: number;
}

/** Automatic split-K aims for at least this many workgroups (two waves on a 132-SM GPU). */
export const SPLIT_K_TARGET_WORKGROUPS = 512;
/** Automatic split-K leaves each range at least this many K steps. */
export const SPLIT_K_MIN_DEPTH = 512;

/**
 * How many K ranges a product with `tiles` output tiles (all batches) and inner size `k` is split
 * into, and the depth of each (a multiple of `bk`, the last range may be shorter). `splitK` is the
 * tiling's setting: a fixed count (capped at one range per K slice), or 0 for automatic: no split
 * once `tiles` reaches {@linkcode SPLIT_K_TARGET_WORKGROUPS}, else the power of two (≤ 16) that
 * comes closest to it from below while keeping ranges at least {@linkcode SPLIT_K_MIN_DEPTH} deep.
 * `batch` caps the count so that batch·splits workgroup layers fit WebGPU's 65535.
 */
export function splitKFor(
  tiles: number,
  k: number,
  bk: number,
  splitK = 0,
  batch = 1,
): { splits: number; depth: number } {
  let splits = 1;
  if (splitK > 0) splits = splitK;
  else {
    while (
      splits < 16 && tiles * splits * 2 <= SPLIT_K_TARGET_WORKGROUPS &&
      k / (splits * 2) >= SPLIT_K_MIN_DEPTH
    ) splits *= 2;
  }
  splits = Math.max(1, Math.min(splits, Math.ceil(k / bk), Math.floor(65535 / batch)));
  const depth = Math.ceil(k / splits / bk) * bk;
  return { splits: Math.ceil(k / depth), depth };
}

/** Default: below this many output tiles, tfjs's kernel (which splits K for small outputs) is used. */
export const MIN_WORKGROUPS = 16;

let minWorkgroups = MIN_WORKGROUPS;
let dispatched = 0;
let splitDispatched = 0;

/** How many products the tiled kernel has computed in this process (for tests and benchmarks). */
export function tiledMatMulCount(): number {
  return dispatched;
}

/** How many of those were split along K (for tests and benchmarks). */
export function splitKCount(): number {
  return splitDispatched;
}

/**
 * The default tile shape: 128×128 outputs per workgroup, 8×8 per thread in the vec4 layout, K
 * slices of 8, unrolled (the classic SGEMM blocking; 8.3 KB of workgroup memory, under WebGPU's
 * 16 KB baseline). On the software adapter it was the fastest of the swept shapes with
 * 8x8x16vu (1024³: 1.2 s against 2.4 s for tfjs's kernel and 3.3 s for 4×4×16 loops); the GPU
 * sweep in `bench/gpu_kd_step.ts` is what should set it for a given card. Split-K is automatic.
 */
export const DEFAULT_TILING: Readonly<MatMulTiling> = {
  tm: 8,
  tn: 8,
  bk: 8,
  vec4: true,
  unroll: true,
  splitK: 0,
};

let tiling: MatMulTiling = { ...DEFAULT_TILING };
let enabled = envFlag("KD_MATMUL") !== "tfjs";
let registered = false;

/**
 * Switches the tiled kernel on or off and optionally sets its tile shape; returns the previous
 * state. Products with fewer than `minTiles` output tiles stay with tfjs. `tm`, `tn` ∈ {1, 2, 4, 8}, `bk` ∈ {4, 8, 16, 32}, and (16·tm)·bk and (16·tn)·bk must be
 * multiples of 256 so every thread loads the same number of elements.
 */
export function setTiledMatMul(
  on: boolean,
  shape?: MatMulTiling,
  minTiles = MIN_WORKGROUPS,
): { on: boolean; tiling: MatMulTiling; minTiles: number } {
  const before = { on: enabled, tiling, minTiles: minWorkgroups };
  warnedStorage = false;
  minWorkgroups = minTiles;
  if (shape) {
    const { tm, tn, bk, vec4 = false, unroll = false, prefetch = false, splitK = 0 } = shape;
    const ok = [1, 2, 4, 8].includes(tm) && [1, 2, 4, 8].includes(tn) &&
      [4, 8, 16, 32].includes(bk) && (16 * tm * bk) % 256 === 0 && (16 * tn * bk) % 256 === 0 &&
      (!vec4 || (tm % 4 === 0 && tn % 4 === 0)) && Number.isInteger(splitK) && splitK >= 0;
    if (!ok) {
      throw new Error(
        `setTiledMatMul: tiling ${JSON.stringify(shape)} is not supported; tm, tn in {1,2,4,8}, ` +
          "bk in {4,8,16,32}, 16·tm·bk and 16·tn·bk multiples of 256, tm, tn in {4,8} for vec4, " +
          "splitK a whole number (0: automatic)",
      );
    }
    tiling = { tm, tn, bk, vec4, unroll, prefetch, splitK };
  }
  enabled = on;
  return before;
}

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** Registers the tiled kernel over tfjs's webgpu `BatchMatMul` (idempotent). */
export function registerTiledMatMul(): void {
  if (registered) return;
  registered = true;
  const original = tf.getKernel("BatchMatMul", "webgpu");
  if (!original) throw new Error("registerTiledMatMul: tfjs-backend-webgpu has no BatchMatMul");
  tf.unregisterKernel("BatchMatMul", "webgpu");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
      const plan = enabled ? planMatMul(a, b, transposeA, transposeB) : undefined;
      const backend = args.backend as unknown as WebGPUBackend;
      if (!plan || !fitsWorkgroupStorage(backend, transposeA, transposeB)) {
        return original.kernelFunc(args);
      }
      const { splits, depth } = splitKFor(
        plan.tiles,
        plan.k,
        tiling.bk,
        tiling.splitK,
        plan.batch,
      );
      const program = new TiledMatMulProgram(plan, splits, transposeA, transposeB, tiling);
      dispatched++;
      const product = backend.runWebGPUProgram(
        program,
        [a, b],
        "float32",
        [
          { type: "int32", data: [plan.m, plan.n, plan.k] },
          { type: "int32", data: [plan.strideA, plan.strideB] },
          { type: "int32", data: [splits, depth] },
        ],
      );
      if (splits === 1) return product;
      splitDispatched++;
      const sum = backend.runWebGPUProgram(
        new SplitKSumProgram(plan.outShape),
        [product],
        "float32",
        [{ type: "int32", data: [splits] }, { type: "int32", data: [plan.m * plan.n] }],
      );
      backend.disposeData(product.dataId);
      return sum;
    },
  });
}

/**
 * Bytes of workgroup memory the staged tiles take: BK rows of BM (A) and BN (B) floats, plus the
 * padding slot (4 floats in the vec4 layout) of the side that is padded.
 */
export function workgroupStorageBytes(
  t: MatMulTiling,
  transposeA: boolean,
  transposeB: boolean,
): number {
  const slot = t.vec4 ? 4 : 1;
  const rowA = 16 * t.tm + (transposeA ? 0 : slot), rowB = 16 * t.tn + (transposeB ? slot : 0);
  return 4 * t.bk * (rowA + rowB);
}

let warnedStorage = false;

/** Whether the tiles fit the device's workgroup memory; warns once and says no otherwise. */
function fitsWorkgroupStorage(backend: WebGPUBackend, ta: boolean, tb: boolean): boolean {
  const limit = backend.device.limits.maxComputeWorkgroupStorageSize;
  const bytes = workgroupStorageBytes(tiling, ta, tb);
  if (bytes <= limit) return true;
  if (!warnedStorage) {
    warnedStorage = true;
    console.warn(
      `tiled matmul: tiling ${JSON.stringify(tiling)} needs ${bytes} bytes of workgroup memory, ` +
        `the device allows ${limit}; using tfjs's kernel`,
    );
  }
  return false;
}

interface Plan {
  m: number;
  n: number;
  k: number;
  batch: number;
  /** Output tiles over all batches. */
  tiles: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

/** Shapes this kernel takes, or undefined to leave the product to tfjs. */
function planMatMul(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): Plan | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return undefined;
  }
  const ra = a.shape.length, rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || k === 0) return undefined; // tfjs reports the mismatch
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1), batchB = outerB.reduce((x, y) => x * y, 1);
  let outer: number[];
  if (outerA.join() === outerB.join()) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else return undefined;
  const batch = Math.max(batchA, batchB);
  const tilesPerMatrix = Math.ceil(m / (16 * tiling.tm)) * Math.ceil(n / (16 * tiling.tn));
  if (batch * tilesPerMatrix < minWorkgroups || batch > 65535) return undefined;
  return {
    m,
    n,
    k,
    batch,
    tiles: batch * tilesPerMatrix,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    outShape: [...outer, m, n],
  };
}

class TiledMatMulProgram implements WebGPUProgram {
  variableNames = ["A", "B"];
  uniforms = "dims : vec3<i32>, strides : vec2<i32>, split : vec2<i32>,";
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1], z: [2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];

  constructor(
    plan: Plan,
    splits: number,
    readonly transposeA: boolean,
    readonly transposeB: boolean,
    readonly tile: MatMulTiling,
  ) {
    // Split K: one partial product per (batch, range), summed by SplitKSumProgram.
    this.outputShape = splits === 1 ? plan.outShape : [plan.batch * splits, plan.m, plan.n];
    this.dispatch = [
      Math.ceil(plan.n / (16 * tile.tn)),
      Math.ceil(plan.m / (16 * tile.tm)),
      plan.batch * splits,
    ];
    // tfjs caches compiled pipelines by this key: every option that changes the WGSL is in it.
    const { tm, tn, bk, vec4 = false, unroll = false, prefetch = false } = tile;
    this.shaderKey = `kdlabTiledMatMul_${transposeA}_${transposeB}_${tm}_${tn}_${bk}_` +
      `${vec4}_${unroll}_${prefetch}`;
  }

  getUserCode(): string {
    const { tm, tn, bk } = this.tile;
    const vec4 = this.tile.vec4 === true;
    const unroll = this.tile.unroll === true;
    const prefetch = this.tile.prefetch === true;
    const bm = 16 * tm, bn = 16 * tn;
    const loadsA = (bm * bk) / 256, loadsB = (bn * bk) / 256;
    // Element (row, col) of A (M×K) and B (K×N) in their stored layouts.
    const aIndex = this.transposeA ? "offA + col * M + row" : "offA + row * K + col";
    const bIndex = this.transposeB ? "offB + col * K + row" : "offB + row * N + col";
    // Staging reads consecutive K for untransposed A (and transposed B): consecutive threads then
    // write one column of the tile, so its rows get one padding slot to spread those writes over
    // the memory banks.
    const padA = this.transposeA ? 0 : 1, padB = this.transposeB ? 1 : 0;
    const cell = vec4 ? "vec4<f32>" : "f32";
    const width = (b: number, pad: number) => (vec4 ? b / 4 : b) + pad;
    const store = (tile: string, k: string, i: string) =>
      vec4 ? `${tile}[${k}][${i} >> 2u][${i} & 3u]` : `${tile}[${k}][${i}]`;
    // Element e = t + 256·l of a slice: its (row, k) in A's tile and (k, column) in B's.
    const where = {
      A: this.transposeA
        ? `let kk = e / ${bm}; let mm = e % ${bm};`
        : `let mm = e / ${bk}; let kk = e % ${bk};`,
      B: this.transposeB
        ? `let nn = e / ${bk}; let kk = e % ${bk};`
        : `let kk = e / ${bn}; let nn = e % ${bn};`,
    };
    const fetch = {
      A: (target: string, k: string) =>
        `let row = row0 + mm; let col = ${k} + kk; ${target} = 0.0;
        if (row < M && col < kEnd) { ${target} = A[${aIndex}]; }`,
      B: (target: string, k: string) =>
        `let row = ${k} + kk; let col = col0 + nn; ${target} = 0.0;
        if (row < kEnd && col < N) { ${target} = B[${bIndex}]; }`,
    };
    const put = {
      A: (source: string) => `${store("As", "kk", "u32(mm)")} = ${source};`,
      B: (source: string) => `${store("Bs", "kk", "u32(nn)")} = ${source};`,
    };
    /**
     * Staging code for the slice at K offset `k`: "both" reads global memory and writes the tiles;
     * with prefetching, "fetch" reads into the registers pa/pb and "put" writes them to the tiles.
     */
    const stage = (what: "both" | "fetch" | "put", k: string) =>
      (["A", "B"] as const).map((side) =>
        this.repeat(side === "A" ? loadsA : loadsB, (e, l) => {
          const reg = side === "A" ? this.register("pa", l) : this.register("pb", l);
          const body = what === "both"
            ? `var v = 0.0; ${fetch[side]("v", k)}\n        ${put[side]("v")}`
            : what === "fetch"
            ? fetch[side](reg, k)
            : put[side](reg);
          return `\n        let e = ${e}; ${where[side]}\n        ${body}`;
        })
      ).join("\n      ");
    return `
  var<workgroup> As : array<array<${cell}, ${width(bm, padA)}>, ${bk}>;
  var<workgroup> Bs : array<array<${cell}, ${width(bn, padB)}>, ${bk}>;

  fn main() {
    let M = uniforms.dims[0];
    let N = uniforms.dims[1];
    let K = uniforms.dims[2];
    let tx = i32(localId.x);
    let ty = i32(localId.y);
    let t = ty * 16 + tx;
    let row0 = i32(workgroupId.y) * ${bm};
    let col0 = i32(workgroupId.x) * ${bn};
    // Workgroup z computes batch z / S over K range z % S (S = uniforms.split[0]; 1 unless split).
    let z = i32(workgroupId.z);
    let batch = z / uniforms.split[0];
    let kBegin = (z % uniforms.split[0]) * uniforms.split[1];
    let kEnd = min(K, kBegin + uniforms.split[1]);
    let offA = batch * uniforms.strides[0];
    let offB = batch * uniforms.strides[1];
    ${
      unroll
        ? this.unrolledDeclarations()
        : vec4
        ? this.vec4Declarations()
        : this.scalarDeclarations()
    }

    ${prefetch ? `${this.registers("pa", loadsA)}\n    ${this.registers("pb", loadsB)}` : ""}
    ${prefetch ? `${stage("fetch", "kBegin")}` : ""}
    for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}) {
      // Stage A[row0 .. row0+BM, k0 .. k0+BK] as As[k][m] and B[k0 .. k0+BK, col0 .. col0+BN].
      ${prefetch ? stage("put", "k0") : stage("both", "k0")}
      workgroupBarrier();
      ${
      prefetch
        ? `// Fetch the next slice while this one is multiplied.\n      ${
          stage("fetch", `k0 + ${bk}`)
        }`
        : ""
    }
      for (var kk = 0; kk < ${bk}; kk++) {
        ${unroll ? this.unrolledProducts() : vec4 ? this.vec4Products() : this.scalarProducts()}
      }
      workgroupBarrier();
    }

    let offC = z * M * N;
    ${unroll ? this.unrolledStores() : vec4 ? this.vec4Stores() : this.scalarStores()}
  }`;
  }

  /**
   * `count` copies of `body(e)`, e = t + 256·l: written out with constant offsets when the tiling
   * asks for unrolling, else a WGSL loop over l.
   */
  private repeat(count: number, body: (e: string, l: string) => string): string {
    if (this.tile.unroll) {
      return Array.from({ length: count }, (_, l) => `{${body(`t + ${256 * l}`, `${l}`)}\n      }`)
        .join("\n      ");
    }
    return `for (var l = 0; l < ${count}; l++) {${body("t + l * 256", "l")}\n      }`;
  }

  /** Prefetch register `l` of the set `name`: a named variable when unrolled, else an array slot. */
  private register(name: string, l: string): string {
    return this.tile.unroll ? `${name}${l}` : `${name}[${l}]`;
  }

  /** Declares `count` prefetch registers named `name`. */
  private registers(name: string, count: number): string {
    if (!this.tile.unroll) return `var ${name} : array<f32, ${count}>;`;
    return Array.from({ length: count }, (_, l) => `var ${name}${l} = 0.0;`).join(" ");
  }

  /**
   * Unrolled: accumulators and operands are named scalars (or vec4s) with constant indices, so
   * the shader compiler keeps them in registers (a private array indexed in a loop may be placed
   * in local memory when the loop is not unrolled).
   */
  private unrolledDeclarations(): string {
    const { tm, tn } = this.tile;
    const vec4 = this.tile.vec4 === true;
    const lines: string[] = [];
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < (vec4 ? tn / 4 : tn); j++) {
        lines.push(`var acc_${i}_${j} = ${vec4 ? "vec4<f32>(0.0)" : "0.0"};`);
      }
    }
    return lines.join("\n    ");
  }

  private unrolledProducts(): string {
    const { tm, tn } = this.tile;
    const vec4 = this.tile.vec4 === true;
    const ra = vec4 ? tm / 4 : tm, rb = vec4 ? tn / 4 : tn;
    const lines: string[] = [];
    for (let r = 0; r < ra; r++) lines.push(`let a${r} = As[kk][ty + ${16 * r}];`);
    for (let r = 0; r < rb; r++) lines.push(`let b${r} = Bs[kk][tx + ${16 * r}];`);
    for (let i = 0; i < tm; i++) {
      const a = vec4 ? `vec4<f32>(a${i >> 2}[${i & 3}])` : `a${i}`;
      for (let j = 0; j < rb; j++) lines.push(`acc_${i}_${j} = fma(${a}, b${j}, acc_${i}_${j});`);
    }
    return lines.join("\n        ");
  }

  private unrolledStores(): string {
    const { tm, tn } = this.tile;
    const vec4 = this.tile.vec4 === true;
    const lines: string[] = [];
    for (let i = 0; i < tm; i++) {
      const row = vec4 ? `row0 + 4 * ty + ${64 * (i >> 2) + (i & 3)}` : `row0 + ty + ${16 * i}`;
      lines.push(`{ let row = ${row};`);
      lines.push(`  if (row < M) {`);
      for (let j = 0; j < tn; j++) {
        const col = vec4 ? `col0 + 4 * tx + ${64 * (j >> 2) + (j & 3)}` : `col0 + tx + ${16 * j}`;
        const value = vec4 ? `acc_${i}_${j >> 2}[${j & 3}]` : `acc_${i}_${j}`;
        lines.push(
          `    { let col = ${col}; if (col < N) { result[offC + row * N + col] = ${value}; } }`,
        );
      }
      lines.push(`  }`);
      lines.push(`}`);
    }
    return lines.join("\n    ");
  }

  /** Scalar layout: thread (tx, ty) owns rows ty + 16i and columns tx + 16j. */
  private scalarDeclarations(): string {
    const { tm, tn } = this.tile;
    return `var acc : array<array<f32, ${tn}>, ${tm}>;
    for (var i = 0; i < ${tm}; i++) {
      for (var j = 0; j < ${tn}; j++) { acc[i][j] = 0.0; }
    }
    var aReg : array<f32, ${tm}>;
    var bReg : array<f32, ${tn}>;`;
  }

  private scalarProducts(): string {
    const { tm, tn } = this.tile;
    return `for (var i = 0; i < ${tm}; i++) { aReg[i] = As[kk][ty + 16 * i]; }
        for (var j = 0; j < ${tn}; j++) { bReg[j] = Bs[kk][tx + 16 * j]; }
        for (var i = 0; i < ${tm}; i++) {
          for (var j = 0; j < ${tn}; j++) { acc[i][j] = fma(aReg[i], bReg[j], acc[i][j]); }
        }`;
  }

  private scalarStores(): string {
    const { tm, tn } = this.tile;
    return `for (var i = 0; i < ${tm}; i++) {
      let row = row0 + ty + 16 * i;
      for (var j = 0; j < ${tn}; j++) {
        let col = col0 + tx + 16 * j;
        if (row < M && col < N) { result[offC + row * N + col] = acc[i][j]; }
      }
    }`;
  }

  /**
   * vec4 layout: thread (tx, ty) owns rows 4·ty + 64·i′ + (0..3) and columns 4·tx + 64·j′ + (0..3),
   * so each k step reads its operands from workgroup memory as TM/4 + TN/4 vec4 loads (broadcast for
   * A, consecutive for B) and accumulates TM·TN/4 vec4 fmas.
   */
  private vec4Declarations(): string {
    const { tm, tn } = this.tile;
    return `var acc : array<array<vec4<f32>, ${tn / 4}>, ${tm}>;
    for (var i = 0; i < ${tm}; i++) {
      for (var j = 0; j < ${tn / 4}; j++) { acc[i][j] = vec4<f32>(0.0); }
    }
    var aReg : array<vec4<f32>, ${tm / 4}>;
    var bReg : array<vec4<f32>, ${tn / 4}>;`;
  }

  private vec4Products(): string {
    const { tm, tn } = this.tile;
    return `for (var i = 0; i < ${tm / 4}; i++) { aReg[i] = As[kk][ty + 16 * i]; }
        for (var j = 0; j < ${tn / 4}; j++) { bReg[j] = Bs[kk][tx + 16 * j]; }
        for (var i = 0; i < ${tm}; i++) {
          let a = vec4<f32>(aReg[i / 4][i % 4]);
          for (var j = 0; j < ${tn / 4}; j++) { acc[i][j] = fma(a, bReg[j], acc[i][j]); }
        }`;
  }

  private vec4Stores(): string {
    const { tm, tn } = this.tile;
    return `for (var i = 0; i < ${tm}; i++) {
      let row = row0 + 4 * ty + 64 * (i / 4) + i % 4;
      for (var j = 0; j < ${tn / 4}; j++) {
        let col = col0 + 4 * tx + 64 * j;
        for (var c = 0; c < 4; c++) {
          if (row < M && col + c < N) { result[offC + row * N + col + c] = acc[i][j][c]; }
        }
      }
    }`;
  }
}

/** Adds split-K's S partial products ([batch·S, M, N], batch-major) into [batch, M, N]. */
class SplitKSumProgram extends ElementwiseProgram {
  variableNames = ["P"];
  uniforms = "splits : i32, mn : i32,";
  shaderKey = "kdlabSplitKSum";

  constructor(outShape: number[]) {
    super(outShape);
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index >= uniforms.size) { return; }
    let mn = uniforms.mn;
    let batch = index / mn;
    let base = batch * uniforms.splits * mn + index % mn;
    var total = 0.0;
    for (var s = 0; s < uniforms.splits; s++) { total += P[base + s * mn]; }
    setOutputAtIndex(index, total);
  }`;
  }
}

/**
 * The fused divergences of `lib/gpu/fused_divergence.ts` as WebAssembly SIMD kernels for tfjs's
 * wasm backend: the same two kernels (`KdlabDivergenceRows`: per-row statistics and the divergence,
 * `KdlabDivergenceGrad`: the gradient recomputed from the logits), the same divergences (FKL, CE,
 * RKL, generalized JSD, skew KL/RKL, TVD; a target λ·teacher + (1−λ)·student for TAID), the same
 * row statistics, so `fusedDivergenceRows` and every loss built on it run unchanged on wasm.
 *
 * On wasm the composite path is slow for a reason the GPU does not share: tfjs-backend-wasm's Exp
 * and Log are scalar loops, and logSoftmax, exp, sub, mul, sum and their autodiff each sweep the
 * [N, V] logits. Here the forward kernel sweeps each row three times (the maxima; Σ e^(x − max),
 * keeping the exponentials in a 2·V scratch; the divergence, with p and q read back from the
 * scratch), and the backward kernel once, four lanes at a time, with the vector exp and log of
 * `simd_math.ts` (within 1 ulp of float64). A row's tail (V mod 4 elements) runs the same vector
 * code on a splat of one element, counted in lane 0 only.
 *
 * Row statistics per row (as the WGSL kernel, `DIVERGENCE_STATS`): the maximum and log Σ e^(x − max)
 * of the target and of the student logits, D, Σg, and the counts of non-finite teacher and student
 * logits (so the losses reject NaN/Inf from this
 * sweep, without a separate pass). Per-divergence terms t(ℓp, ℓq) and g = ∂t/∂ℓq are documented
 * in `lib/gpu/fused_divergence.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  DIVERGENCE_GRAD_KERNEL,
  DIVERGENCE_ROWS_KERNEL,
  DIVERGENCE_STATS,
  type FusedDivergenceAttrs,
  type FusedDivergenceKind,
} from "../gpu/fused_divergence.ts";
import { F32, I32, moduleBytes, op, type WasmFunction } from "./wasm_module.ts";
import { backendMemory, heapOffset, instanceExports, type WasmBackendLike } from "./tfjs_heap.ts";
import {
  assign,
  type Expr,
  expScratch,
  f4,
  f4Const,
  i4,
  i4Const,
  Locals,
  logScratch,
  vexp,
  vlog,
} from "./simd_math.ts";

const get = op.get;
const LANE0 = i4Const(-1, 0, 0, 0);

/** The f32 parameters both functions take after their pointers and sizes. */
const SCALARS = ["invT", "lambda", "param", "logWp", "logWq"] as const;

/** Builds one function's locals and the expressions shared by its passes over a row. */
class RowCode {
  readonly l: Locals;
  readonly exp: ReturnType<typeof expScratch>;
  readonly log: ReturnType<typeof logScratch>;
  /** Byte offset within the row, the row's size in bytes, its teacher and student addresses. */
  readonly i: number;
  readonly rowBytes: number;
  readonly t: number;
  readonly s: number;
  /** The current teacher and student lanes. */
  readonly xt: number;
  readonly xs: number;
  /** Splats of the scalars, and the per-kind locals. */
  readonly k: Record<(typeof SCALARS)[number] | "oneMinusLambda" | "oneMinusParam", number>;
  readonly lp: number;
  readonly lq: number;
  readonly p: number;
  readonly q: number;
  readonly lm: number;
  readonly g: number;
  /** Scratch of logAddExp. */
  readonly tmpX: number;
  readonly tmpY: number;

  constructor(readonly scalarBase: number) {
    this.l = new Locals(scalarBase + SCALARS.length);
    const l = this.l;
    this.exp = expScratch(l);
    this.log = logScratch(l);
    [this.i, this.rowBytes, this.t, this.s] = [l.add(I32), l.add(I32), l.add(I32), l.add(I32)];
    [this.xt, this.xs] = [l.v128(), l.v128()];
    this.k = {
      invT: l.v128(),
      lambda: l.v128(),
      param: l.v128(),
      logWp: l.v128(),
      logWq: l.v128(),
      oneMinusLambda: l.v128(),
      oneMinusParam: l.v128(),
    };
    [this.lp, this.lq, this.p, this.q, this.lm, this.g] = [1, 2, 3, 4, 5, 6].map(() => l.v128());
    [this.tmpX, this.tmpY] = [l.v128(), l.v128()];
  }

  /** Splats the f32 parameters into their v128 locals; sets rowBytes from the i32 `v` parameter. */
  prologue(vParam: number): Expr[] {
    const scalar = (name: (typeof SCALARS)[number]) => get(this.scalarBase + SCALARS.indexOf(name));
    const oneMinus = (x: Expr) => f4.splat([...op.f32(1), ...x, ...op.f32Sub()]);
    return [
      [...get(vParam), ...op.i32(4), ...op.i32Mul(), ...op.set(this.rowBytes)],
      ...SCALARS.map((name) => assign(this.k[name], f4.splat(scalar(name)))),
      assign(this.k.oneMinusLambda, oneMinus(scalar("lambda"))),
      assign(this.k.oneMinusParam, oneMinus(scalar("param"))),
    ];
  }

  /** Target logits at temperature T: (λ·t + (1−λ)·s)/T. */
  target(): Expr {
    return f4.mul(
      f4.add(
        f4.mul(get(this.k.lambda), get(this.xt)),
        f4.mul(get(this.k.oneMinusLambda), get(this.xs)),
      ),
      get(this.k.invT),
    );
  }

  /** Student logits at temperature T. */
  student(): Expr {
    return f4.mul(get(this.xs), get(this.k.invT));
  }

  /** log(e^x + e^y), stable: max + log(1 + e^−|x−y|). */
  logAddExp(x: Expr, y: Expr): Expr {
    const [a, b] = [get(this.tmpX), get(this.tmpY)];
    return [
      ...assign(this.tmpX, x),
      ...assign(this.tmpY, y),
      ...f4.add(
        f4.max(a, b),
        vlog(
          f4.add(this.l.f4(1), vexp(f4.neg(f4.abs(f4.sub(a, b))), this.exp)),
          this.log,
        ),
      ),
    ];
  }

  /** Lanes `value` counted in a sum: all lanes in the vector loop, lane 0 in the tail. */
  counted(value: Expr, tail: boolean): Expr {
    return tail ? i4.and(value, LANE0) : value;
  }

  /** Lanes at byte offset i of the row at local `base`: a vector, or (tail) one element splatted. */
  loadAt(base: number, tail: boolean): Expr {
    const address = [...get(base), ...get(this.i), ...op.i32Add()];
    return tail ? f4.splat([...address, ...op.f32Load()]) : f4.load(address);
  }

  /** Stores `value` at byte offset i of the row at local `base`: 4 lanes, or (tail) lane 0. */
  storeAt(base: number, value: Expr, tail: boolean): Expr {
    const address = [...get(base), ...get(this.i), ...op.i32Add()];
    return tail
      ? [...address, ...f4.lane(value, 0), ...op.f32Store()]
      : [...address, ...value, ...op.v128Store()];
  }

  /**
   * One sweep over the row: `body(tail)` runs with xt and xs holding four teacher and student
   * logits, then (tail) with each remaining logit splatted to all four lanes.
   */
  sweep(body: (tail: boolean) => Expr[]): Expr[] {
    const pass = (tail: boolean) => [
      assign(this.xt, this.loadAt(this.t, tail)),
      assign(this.xs, this.loadAt(this.s, tail)),
      ...body(tail),
      [...get(this.i), ...op.i32(tail ? 4 : 16), ...op.i32Add(), ...op.set(this.i)],
      op.br(0),
    ];
    return [
      [...op.i32(0), ...op.set(this.i)],
      op.block(),
      op.loop(),
      [...get(this.i), ...op.i32(16), ...op.i32Add(), ...get(this.rowBytes), ...op.i32GtU()],
      op.brIf(1),
      ...pass(false),
      op.end(),
      op.end(),
      op.block(),
      op.loop(),
      [...get(this.i), ...get(this.rowBytes), ...op.i32GeU(), ...op.brIf(1)],
      ...pass(true),
      op.end(),
      op.end(),
    ];
  }
}

/** The four lanes of a local, extracted by `lane` and folded pairwise by the scalar `combine`. */
const foldLanes = (x: number, lane: (v: Expr, i: number) => Expr, combine: Expr): Expr => [
  ...lane(get(x), 0),
  ...lane(get(x), 1),
  ...combine,
  ...lane(get(x), 2),
  ...lane(get(x), 3),
  ...combine,
  ...combine,
];

/** Sum of the four f32 lanes of a local. */
const laneSum = (x: number): Expr => foldLanes(x, f4.lane, op.f32Add());

/** Maximum of the four f32 lanes of a local. */
const laneMax = (x: number): Expr => foldLanes(x, f4.lane, op.f32Max());

/** Sum of the four i32 lanes of a local, as f32. */
const laneCount = (
  x: number,
): Expr => [...foldLanes(x, i4.lane, op.i32Add()), ...op.f32ConvertI32S()];

/** −1 in lanes whose value is NaN or ±Inf (all exponent bits set), 0 elsewhere. */
const nonFinite = (c: RowCode, x: Expr): Expr =>
  i4.eq(i4.and(x, c.l.i4(0x7f800000)), c.l.i4(0x7f800000));

interface KindCode {
  /** Which of p = e^ℓp and q = e^ℓq the terms read (set before them). */
  needs: { p: boolean; q: boolean };
  /** Statements run first (e.g. ℓm into the `lm` local). */
  setup?: (c: RowCode) => Expr[];
  term: (c: RowCode) => Expr;
  g: (c: RowCode) => Expr;
}

/** Per-divergence term and g = ∂term/∂ℓq over the locals lp, lq, p, q, lm. */
function kindCode(kind: FusedDivergenceKind): KindCode {
  const v = (c: RowCode) => ({
    lp: get(c.lp),
    lq: get(c.lq),
    p: get(c.p),
    q: get(c.q),
    lm: get(c.lm),
    param: get(c.k.param),
    oneMinus: get(c.k.oneMinusParam),
  });
  // ℓm = log(w_p·p + w_q·q) with log w_p, log w_q passed in.
  const mixture = (c: RowCode) => [
    assign(
      c.lm,
      c.logAddExp(f4.add(get(c.lp), get(c.k.logWp)), f4.add(get(c.lq), get(c.k.logWq))),
    ),
  ];
  switch (kind) {
    case "fkl":
      return {
        needs: { p: true, q: false },
        term: (c) => f4.mul(v(c).p, f4.sub(v(c).lp, v(c).lq)),
        g: (c) => f4.neg(v(c).p),
      };
    case "ce":
      return {
        needs: { p: true, q: false },
        term: (c) => f4.neg(f4.mul(v(c).p, v(c).lq)),
        g: (c) => f4.neg(v(c).p),
      };
    case "rkl":
      return {
        needs: { p: false, q: true },
        term: (c) => f4.mul(v(c).q, f4.sub(v(c).lq, v(c).lp)),
        g: (c) => f4.mul(v(c).q, f4.add(f4.sub(v(c).lq, v(c).lp), c.l.f4(1))),
      };
    case "gjsd":
      return {
        needs: { p: true, q: true },
        setup: mixture,
        term: (c) =>
          f4.add(
            f4.mul(f4.mul(v(c).param, v(c).p), f4.sub(v(c).lp, v(c).lm)),
            f4.mul(f4.mul(v(c).oneMinus, v(c).q), f4.sub(v(c).lq, v(c).lm)),
          ),
        g: (c) => f4.mul(f4.mul(v(c).oneMinus, v(c).q), f4.sub(v(c).lq, v(c).lm)),
      };
    case "skl":
      return {
        needs: { p: true, q: false },
        setup: mixture,
        term: (c) => f4.mul(v(c).p, f4.sub(v(c).lp, v(c).lm)),
        g: (c) =>
          f4.neg(
            f4.mul(v(c).oneMinus, vexp(f4.sub(f4.add(v(c).lp, v(c).lq), v(c).lm), c.exp)),
          ),
      };
    case "srkl":
      return {
        needs: { p: false, q: true },
        setup: mixture,
        term: (c) => f4.mul(v(c).q, f4.sub(v(c).lq, v(c).lm)),
        g: (c) =>
          f4.sub(
            f4.mul(v(c).q, f4.add(f4.sub(v(c).lq, v(c).lm), c.l.f4(1))),
            f4.mul(f4.mul(v(c).param, v(c).q), vexp(f4.sub(v(c).lq, v(c).lm), c.exp)),
          ),
      };
    case "tvd": {
      // ½·sign(q − p)·q: +h where q > p, −h where q < p, 0 where equal (h = ½q).
      const half = (c: RowCode) => f4.mul(v(c).q, c.l.f4(0.5));
      return {
        needs: { p: true, q: true },
        term: (c) => f4.mul(f4.abs(f4.sub(v(c).p, v(c).q)), c.l.f4(0.5)),
        g: (c) =>
          f4.sub(
            i4.and(half(c), f4.gt(v(c).q, v(c).p)),
            i4.and(half(c), f4.lt(v(c).q, v(c).p)),
          ),
      };
    }
  }
}

/**
 * ℓp, ℓq (and p, q, ℓm as the kind needs) from xt, xs and splats of the row's maxima and log-sums
 * (`row`: target max, target log Σ, student max, student log Σ), as (x − max) − log Σ.
 */
function logProbs(
  c: RowCode,
  code: KindCode,
  row: number[],
  options: { q?: boolean; p?: Expr; qFrom?: Expr } = {},
): Expr[] {
  const [ma, la, mb, lb] = row.map(get);
  return [
    assign(c.lp, f4.sub(f4.sub(c.target(), ma), la)),
    assign(c.lq, f4.sub(f4.sub(c.student(), mb), lb)),
    ...code.needs.p ? [assign(c.p, options.p ?? vexp(get(c.lp), c.exp))] : [],
    ...code.needs.q || options.q ? [assign(c.q, options.qFrom ?? vexp(get(c.lq), c.exp))] : [],
    ...code.setup?.(c) ?? [],
  ];
}

/** A loop over rows: `body` per row, then every pointer local in `advance` moves by `bytes`. */
function rowLoop(rows: number, body: Expr[], advance: [number, Expr][]): Expr[] {
  return [
    op.block(),
    op.loop(),
    [...get(rows), ...op.i32Eqz(), ...op.brIf(1)],
    ...body,
    ...advance.map(([local, bytes]) => [...get(local), ...bytes, ...op.i32Add(), ...op.set(local)]),
    [...get(rows), ...op.i32(1), ...op.i32Sub(), ...op.set(rows)],
    op.br(0),
    op.end(),
    op.end(),
  ];
}

/**
 * rows(teacher, student, out, scratch, n, v, invT, λ, param, log w_p, log w_q): out[r] = the row
 * statistics of row r. `scratch` holds 2·v floats: sweep 2 leaves e^(x − max) of both rows there,
 * and sweep 3 reads p and q back as e^(x − max)/Σ instead of computing two more exponentials.
 */
function rowsFunction(kind: FusedDivergenceKind): WasmFunction {
  const [T, S, OUT, SCRATCH, N, V] = [0, 1, 2, 3, 4, 5];
  const c = new RowCode(6);
  const code = kindCode(kind);
  const [ma, mb, sa, sb, d, gs, badT, badS] = new Array(8).fill(0).map(() => c.l.v128());
  const [ea, eb] = [c.l.v128(), c.l.v128()];
  const [invSa, invSb] = [c.l.v128(), c.l.v128()];
  const [scratchA, scratchB] = [c.l.add(I32), c.l.add(I32)];
  const acc = (local: number, value: Expr, tail: boolean) =>
    assign(local, f4.add(get(local), c.counted(value, tail)));
  const count = (local: number, x: number, tail: boolean) =>
    assign(local, i4.sub(get(local), c.counted(nonFinite(c, get(x)), tail)));
  // log Σ, as a splat (in the sum's local).
  const logSum = (sum: number) => assign(sum, vlog(f4.splat(laneSum(sum)), c.log));
  const store = (slot: number, scalar: Expr) => [
    ...get(OUT),
    ...scalar,
    ...op.f32Store(4 * slot),
  ];
  const row = [
    ...[ma, mb].map((m) => assign(m, f4Const(-Infinity))),
    ...[sa, sb, d, gs, badT, badS].map((x) => assign(x, f4Const(0))),
    [...get(T), ...op.set(c.t), ...get(S), ...op.set(c.s)],
    // Sweep 1: maxima of both rows, non-finite counts.
    ...c.sweep((tail) => [
      assign(ma, f4.max(get(ma), c.target())),
      assign(mb, f4.max(get(mb), c.student())),
      count(badT, c.xt, tail),
      count(badS, c.xs, tail),
    ]),
    assign(ma, f4.splat(laneMax(ma))),
    assign(mb, f4.splat(laneMax(mb))),
    // Sweep 2: Σ e^(x − max) of both rows, the terms kept in the scratch rows.
    ...c.sweep((tail) => [
      assign(ea, vexp(f4.sub(c.target(), get(ma)), c.exp)),
      assign(eb, vexp(f4.sub(c.student(), get(mb)), c.exp)),
      c.storeAt(scratchA, get(ea), tail),
      c.storeAt(scratchB, get(eb), tail),
      acc(sa, get(ea), tail),
      acc(sb, get(eb), tail),
    ]),
    assign(invSa, f4.div(c.l.f4(1), f4.splat(laneSum(sa)))),
    assign(invSb, f4.div(c.l.f4(1), f4.splat(laneSum(sb)))),
    logSum(sa),
    logSum(sb),
    ...[ma, sa, mb, sb].map((x, slot) => store(slot, f4.lane(get(x), 0))),
    // Sweep 3: the divergence and Σg.
    ...c.sweep((tail) => [
      ...logProbs(c, code, [ma, sa, mb, sb], {
        p: f4.mul(c.loadAt(scratchA, tail), get(invSa)),
        qFrom: f4.mul(c.loadAt(scratchB, tail), get(invSb)),
      }),
      assign(c.g, code.g(c)),
      acc(d, code.term(c), tail),
      acc(gs, get(c.g), tail),
    ]),
    store(4, laneSum(d)),
    store(5, laneSum(gs)),
    store(6, laneCount(badT)),
    store(7, laneCount(badS)),
  ];
  // Pooled constants are set first; the locals are declared once the body has allocated them all.
  const body = [
    ...c.prologue(V),
    [...get(SCRATCH), ...op.set(scratchA)],
    [...get(SCRATCH), ...get(c.rowBytes), ...op.i32Add(), ...op.set(scratchB)],
    ...rowLoop(N, row, [
      [T, get(c.rowBytes)],
      [S, get(c.rowBytes)],
      [OUT, op.i32(4 * DIVERGENCE_STATS)],
    ]),
  ];
  const params = [I32, I32, I32, I32, I32, I32, ...SCALARS.map(() => F32)];
  return { name: "rows", params, locals: c.l.declarations(), body: [...c.l.init(), ...body] };
}

/**
 * grad(teacher, student, stats, dy, out, n, v, invT, λ, param, log w_p, log w_q):
 * out[r, j] = (g_j − q_j·Σg)·dy[r]/T from the row statistics of the forward kernel.
 */
function gradFunction(kind: FusedDivergenceKind): WasmFunction {
  const [T, S, STATS, DY, OUT, N, V] = [0, 1, 2, 3, 4, 5, 6];
  const c = new RowCode(7);
  const code = kindCode(kind);
  const row4 = [c.l.v128(), c.l.v128(), c.l.v128(), c.l.v128()];
  const [sumG, scale] = [c.l.v128(), c.l.v128()];
  const out = c.l.add(I32);
  const stat = (slot: number) => f4.splat([...get(STATS), ...op.f32Load(4 * slot)]);
  const value = () => f4.mul(f4.sub(get(c.g), f4.mul(get(c.q), get(sumG))), get(scale));
  const row = [
    ...row4.map((x, slot) => assign(x, stat(slot))),
    assign(sumG, stat(5)),
    assign(scale, f4.mul(f4.splat([...get(DY), ...op.f32Load()]), get(c.k.invT))),
    [...get(T), ...op.set(c.t), ...get(S), ...op.set(c.s), ...get(OUT), ...op.set(out)],
    ...c.sweep((tail) => [
      ...logProbs(c, code, row4, { q: true }),
      assign(c.g, code.g(c)),
      c.storeAt(out, value(), tail),
    ]),
  ];
  const body = [
    ...c.prologue(V),
    ...rowLoop(N, row, [
      [T, get(c.rowBytes)],
      [S, get(c.rowBytes)],
      [OUT, get(c.rowBytes)],
      [STATS, op.i32(4 * DIVERGENCE_STATS)],
      [DY, op.i32(4)],
    ]),
  ];
  const params = [I32, I32, I32, I32, I32, I32, I32, ...SCALARS.map(() => F32)];
  return { name: "grad", params, locals: c.l.declarations(), body: [...c.l.init(), ...body] };
}

/** The module of one divergence (exported for tests). */
export function simdDivergenceModule(kind: FusedDivergenceKind): Uint8Array {
  return moduleBytes([rowsFunction(kind), gradFunction(kind)]);
}

type Fn = (...args: number[]) => void;

const compiled = new Map<FusedDivergenceKind, WebAssembly.Module>();

/** The rows and grad functions of one divergence over the backend's memory. */
function kernelsFor(backend: WasmBackendLike, kind: FusedDivergenceKind) {
  const memory = backendMemory(backend);
  if (!memory) throw new Error("simd divergence: tfjs-backend-wasm's memory is not reachable");
  let module = compiled.get(kind);
  if (!module) {
    module = new WebAssembly.Module(simdDivergenceModule(kind) as BufferSource);
    compiled.set(kind, module);
  }
  const exports = instanceExports(module, memory);
  return { fns: { rows: exports.rows as Fn, grad: exports.grad as Fn }, memory };
}

/** The scalar parameters of both functions, λ read from its tensor when given. */
function scalars(
  a: FusedDivergenceAttrs,
  lambda: tf.TensorInfo | undefined,
  backend: WasmBackendLike,
  memory: WebAssembly.Memory,
): number[] {
  const lam = lambda
    ? new Float32Array(memory.buffer, heapOffset(backend, lambda), 1)[0]
    : a.interpolation;
  // Mixture weights of ℓm: gjsd m = βp + (1−β)q, skl m = αp + (1−α)q, srkl m = (1−α)p + αq.
  const [wp, wq] = a.kind === "srkl" ? [1 - a.param, a.param] : [a.param, 1 - a.param];
  return [a.invTemperature, lam, a.param, Math.log(wp), Math.log(wq)];
}

let registered = false;

/**
 * Registers the wasm kernels of the fused divergences with tfjs (idempotent). Called by
 * `initBackend("wasm")` when the runtime has WebAssembly SIMD; returns false when the backend's
 * memory is not reachable (the losses then keep the composite path).
 */
export function registerSimdDivergence(): boolean {
  if (registered) return true;
  const backend = tf.findBackend("wasm") as unknown as WasmBackendLike | null;
  if (!backend || !backendMemory(backend)) return false;
  registered = true;
  tf.registerKernel({
    kernelName: DIVERGENCE_ROWS_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { teacher, student, lambda } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as FusedDivergenceAttrs;
      const b = backend as unknown as WasmBackendLike;
      const [n, v] = teacher.shape;
      const out = b.makeOutput([n, DIVERGENCE_STATS], "float32");
      const scratch = b.makeOutput([2, v], "float32");
      const { fns, memory } = kernelsFor(b, a.kind);
      const args = scalars(a, lambda, b, memory);
      const pointers = [teacher, student, out, scratch].map((x) => heapOffset(b, x));
      fns.rows(...pointers, n, v, ...args);
      b.disposeData(scratch.dataId);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: DIVERGENCE_GRAD_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { teacher, student, stats, dy, lambda } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as FusedDivergenceAttrs;
      const b = backend as unknown as WasmBackendLike;
      const [n, v] = teacher.shape;
      const out = b.makeOutput([n, v], "float32");
      const { fns, memory } = kernelsFor(b, a.kind);
      const args = scalars(a, lambda, b, memory);
      const pointers = [teacher, student, stats, dy, out].map((x) => heapOffset(b, x));
      fns.grad(...pointers, n, v, ...args);
      return out;
    },
  });
  return true;
}

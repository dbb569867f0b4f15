/**
 * The vector exp and log of `simd_math.ts` against float64 Math.exp/Math.log, lane by lane, over
 * their whole ranges and at the edges (underflow, clamp, NaN, powers of two, √2).
 */
import nodeAssert from "node:assert/strict";
import { I32, moduleBytes, op } from "./wasm_module.ts";
import { assign, type Expr, expScratch, f4, Locals, logScratch, vexp, vlog } from "./simd_math.ts";

const assert = (ok: boolean, message?: string) => nodeAssert.ok(ok, message);

/** Runs `fn` on every 4 lanes of xs (length a multiple of 4) in a fresh module and memory. */
function mapLanes(fn: "exp" | "log", xs: Float32Array): Float32Array {
  const locals = new Locals(3); // src, dst, count (in vectors)
  const scratchE = expScratch(locals), scratchL = logScratch(locals);
  const x = locals.v128();
  const [SRC, DST, COUNT] = [0, 1, 2];
  const apply = (v: Expr) => fn === "exp" ? vexp(v, scratchE) : vlog(v, scratchL);
  const loop = [
    op.loop(),
    assign(x, f4.load(op.get(SRC))),
    [...op.get(DST), ...apply(op.get(x)), ...op.v128Store()],
    [...op.get(SRC), ...op.i32(16), ...op.i32Add(), ...op.set(SRC)],
    [...op.get(DST), ...op.i32(16), ...op.i32Add(), ...op.set(DST)],
    [...op.get(COUNT), ...op.i32(1), ...op.i32Sub(), ...op.tee(COUNT), ...op.brIf(0)],
    op.end(),
  ];
  // The constants the loop used are pooled: set them first, then declare every local.
  const body = [...locals.init(), ...loop];
  const bytes = moduleBytes([
    { name: "map", params: [I32, I32, I32], locals: locals.declarations(), body },
  ]);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((xs.length * 8) / 65536) + 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  new Float32Array(memory.buffer, 0, xs.length).set(xs);
  (instance.exports.map as (...a: number[]) => void)(0, xs.length * 4, xs.length / 4);
  return new Float32Array(memory.buffer, xs.length * 4, xs.length).slice();
}

const ULP = 2 ** -23;

Deno.test("vexp is within 1 ulp of e^x over [−87.3, 88] and exact at the edges", () => {
  const xs = new Float32Array(400_000);
  for (let i = 0; i < xs.length; i++) xs[i] = -87.3 + (175.3 * i) / (xs.length - 1);
  const ys = mapLanes("exp", xs);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const want = Math.exp(xs[i]);
    worst = Math.max(worst, Math.abs(ys[i] - want) / want);
  }
  assert(worst < ULP, `relative error ${worst} (${worst / ULP} ulp)`);
  const edges = Float32Array.of(0, -0, -87.5, -1e30, -Infinity, NaN, 1e-30, -1e-7);
  const out = mapLanes("exp", edges);
  nodeAssert.deepEqual(Array.from(out.slice(0, 5)), [1, 1, 0, 0, 0]);
  assert(Number.isNaN(out[5]), "NaN in, NaN out");
  assert(out[6] === 1 && Math.abs(out[7] - Math.exp(-1e-7)) <= ULP, "tiny arguments");
  const clamped = mapLanes("exp", Float32Array.of(88, 89, 1e30, Infinity));
  assert(clamped.every((y) => Math.abs(y - Math.exp(88)) / Math.exp(88) < 2 * ULP), `${clamped}`);
});

Deno.test("vlog is within 1 ulp (absolute below 1) of log x from 1e-37 to 3e38", () => {
  const xs = new Float32Array(400_000);
  for (let i = 0; i < xs.length; i++) xs[i] = Math.exp(-85 + (173 * i) / (xs.length - 1));
  // The mantissa's edges: powers of two and √2 on both sides.
  const edges = [1, 2, 0.5, 1024, Math.SQRT2, Math.SQRT1_2, 1 + ULP, 1 - ULP / 2, 3.4e38, 1.2e-38];
  const all = Float32Array.from([...xs, ...edges, 1, 1]); // a multiple of 4
  const ys = mapLanes("log", all);
  let worst = 0;
  for (let i = 0; i < all.length; i++) {
    const want = Math.log(all[i]);
    worst = Math.max(worst, Math.abs(ys[i] - want) / Math.max(1, Math.abs(want)));
  }
  assert(worst < ULP, `error ${worst} (${worst / ULP} ulp)`);
  assert(mapLanes("log", Float32Array.of(1, 1, 1, 1)).every((y) => y === 0), "log 1 = 0 exactly");
});

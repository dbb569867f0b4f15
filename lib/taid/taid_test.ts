import assert from "node:assert/strict";
import { TAID } from "./taid.ts";

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol, `${what}: ${a} vs ${e}`);

Deno.test("TAID.update reproduces the reference note's golden sequence (N = 100000)", () => {
  const taid = new TAID({ totalSteps: 100_000 });
  const ts = [2.0, 1.8, 1.9, 1.5, 1.5].map((loss) => taid.update(loss));
  [0.4, 0.40015007, 0.40030007, 0.40045019, 0.40060026].forEach((e, i) =>
    close(ts[i], e, 5e-9, `t[${i}]`)
  );
  close(taid.state().momentum, 0.00251001, 5e-9, "momentum");
});

Deno.test("TAID: with N = 10 the linear floor wins each step", () => {
  const taid = new TAID({ totalSteps: 10 });
  const ts = [2.0, 1.8, 1.9, 1.5, 1.5].map((loss) => taid.update(loss));
  [0.4, 0.46, 0.52, 0.58, 0.64].forEach((e, i) => close(ts[i], e, 1e-12, `t[${i}]`));
});

Deno.test("TAID: t is monotone, stays in [tStart, tEnd], reaches tEnd; linear mode is exactly linear", () => {
  let seed = 7;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  for (const adaptive of [true, false]) {
    const taid = new TAID({ totalSteps: 200, alpha: 0.05, adaptive });
    let prev = taid.t;
    for (let k = 0; k <= 200; k++) {
      const t = taid.update(3 * Math.exp(-k / 80) + 1 + noise());
      assert.ok(t >= prev - 1e-15 && t >= 0.4 && t <= 1, `k=${k} t=${t}`);
      if (!adaptive && k > 0) close(t, taid.linearT(k), 1e-12, "linear");
      prev = t;
    }
    close(taid.t, 1, 1e-12, "reaches tEnd");
  }
});

Deno.test("TAID: adaptive beats the floor early with a large α (concave rise)", () => {
  const taid = new TAID({ totalSteps: 1000, alpha: 0.01 });
  for (let k = 0; k < 100; k++) taid.update(2 - k * 0.001);
  assert.ok(taid.t > taid.linearT(99) + 0.05, `t=${taid.t} floor=${taid.linearT(99)}`);
});

Deno.test("TAID: state/load round trip continues identically", () => {
  const a = new TAID({ totalSteps: 50, alpha: 0.02 });
  [2, 1.9, 1.7].forEach((l) => a.update(l));
  const b = new TAID({ totalSteps: 50, alpha: 0.02 });
  b.load(a.state());
  for (const l of [1.6, 1.65, 1.4]) assert.equal(b.update(l), a.update(l));
});

Deno.test("TAID: bad configuration and input are named", () => {
  assert.throws(() => new TAID({ totalSteps: 0 }), /totalSteps must be a positive integer/);
  assert.throws(() => new TAID({ totalSteps: 10, tStart: 1 }), /tStart must be in \[0, 1\)/);
  assert.throws(
    () => new TAID({ totalSteps: 10, tStart: 0.5, tEnd: 0.4 }),
    /tEnd must be in \(0, 1\] and ≥ tStart/,
  );
  assert.throws(() => new TAID({ totalSteps: 10, beta: 1 }), /beta must be in \[0, 1\)/);
  assert.throws(() => new TAID({ totalSteps: 10 }).update(NaN), /loss must be finite/);
  assert.throws(
    () => new TAID({ totalSteps: 10 }).load({ t: 2, prevLoss: null, momentum: 0, step: 0 }),
    /t must be a number in \[0, 1\]/,
  );
  assert.throws(
    () => new TAID({ totalSteps: 10 }).load({ t: 0.5, prevLoss: NaN, momentum: 0, step: 0 }),
    /TAID.load: malformed state/,
  );
});

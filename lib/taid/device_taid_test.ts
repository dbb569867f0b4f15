import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { DeviceTAID } from "./device_taid.ts";
import { TAID, type TAIDConfig } from "./taid.ts";
import { taidLoss } from "./taid_loss.ts";

await initBackend("cpu", { log: false });

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol, `${what}: ${a} vs ${e}`);

/** A noisy, mostly falling loss curve (deterministic). */
function lossCurve(n: number, seed = 7): number[] {
  let s = seed;
  const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  return Array.from({ length: n }, (_, k) => 3 * Math.exp(-k / 80) + 1 + noise());
}

/** Feeds `losses` to a DeviceTAID (as float32 scalars) and returns t after each update. */
async function deviceTrace(taid: DeviceTAID, losses: number[], gates?: number[]) {
  const ts: number[] = [];
  for (const [k, l] of losses.entries()) {
    const loss = tf.scalar(l);
    const gate = gates && tf.tensor1d([gates[k]]);
    taid.update(loss, k, gate);
    tf.dispose([loss, ...gate ? [gate] : []]);
    ts.push((await taid.state()).t);
  }
  return ts;
}

Deno.test("DeviceTAID follows the float64 host TAID step for step (adaptive and linear)", async () => {
  const losses = lossCurve(300);
  const configs: TAIDConfig[] = [
    { totalSteps: 300, alpha: 0.05 },
    { totalSteps: 300, alpha: 0.5, beta: 0.9, tStart: 0.2, tEnd: 0.9 },
    { totalSteps: 300, adaptive: false },
    { totalSteps: 100_000 }, // the paper's defaults: t stays on the adaptive branch
  ];
  for (const config of configs) {
    const host = new TAID(config);
    const device = new DeviceTAID(config);
    const before = tf.memory().numTensors;
    const ts = await deviceTrace(device, losses.map(Math.fround));
    assert.equal(tf.memory().numTensors, before, "update leaks no tensors");
    let left = false;
    losses.forEach((l, k) => {
      const t = host.update(Math.fround(l), k);
      close(ts[k], t, 2e-6, `${JSON.stringify(config)} t[${k}]`);
      left ||= t > host.linearT(k) + 1e-6;
    });
    if (config.adaptive !== false && config.alpha !== undefined) {
      assert.ok(left, "the adaptive branch is exercised");
    }
    const [h, d] = [host.state(), await device.state()];
    close(d.momentum, h.momentum, 1e-6, "momentum");
    close(d.prevLoss!, h.prevLoss!, 1e-6, "previous loss");
    assert.equal(d.step, h.step);
    device.dispose();
  }
});

Deno.test("DeviceTAID: a NaN/Inf loss or a closed gate leaves the state as it was", async () => {
  const losses = lossCurve(12);
  const host = new TAID({ totalSteps: 12, alpha: 0.3 });
  const device = new DeviceTAID({ totalSteps: 12, alpha: 0.3 });
  const skipped = new Set([3, 4, 8]);
  const fed = losses.map((l, k) => (k === 3 ? NaN : k === 4 ? Infinity : l));
  const gates = losses.map((_, k) => (k === 8 ? 0 : 1));
  const ts = await deviceTrace(device, fed.map(Math.fround), gates);
  losses.forEach((l, k) => {
    const t = skipped.has(k) ? host.t : host.update(Math.fround(l), k);
    close(ts[k], t, 2e-6, `t[${k}]`);
  });
  const d = await device.state();
  close(d.momentum, host.state().momentum, 1e-6, "momentum");
  device.dispose();
});

Deno.test("DeviceTAID: state/load round trip (from either form) continues identically", async () => {
  const losses = lossCurve(20);
  const a = new DeviceTAID({ totalSteps: 20, alpha: 0.2 });
  await deviceTrace(a, losses.slice(0, 10));
  const b = new DeviceTAID({ totalSteps: 20, alpha: 0.2 });
  b.load(JSON.parse(JSON.stringify(await a.state())));
  assert.deepEqual(await b.state(), await a.state());
  const rest = losses.slice(10);
  const next = async (x: DeviceTAID) => {
    const ts = [];
    for (const l of rest) {
      const loss = tf.scalar(l);
      x.update(loss);
      loss.dispose();
      ts.push((await x.state()).t);
    }
    return ts;
  };
  assert.deepEqual(await next(b), await next(a));
  // A host TAID's state loads too; a fresh one has no previous loss.
  const host = new TAID({ totalSteps: 20 });
  const c = new DeviceTAID({ totalSteps: 20 });
  const f32 = Math.fround(0.4);
  assert.deepEqual(await c.state(), { ...host.state(), t: f32 });
  host.update(2);
  c.load(host.state());
  assert.deepEqual(await c.state(), { t: f32, prevLoss: 2, momentum: 0, step: 1 });
  [a, b, c].forEach((x) => x.dispose());
});

Deno.test("DeviceTAID.loss equals taidLoss at the same t, with gradients", () => {
  const taid = new DeviceTAID({ totalSteps: 10 });
  tf.tidy(() => {
    for (let k = 0; k < 3; k++) taid.update(tf.scalar(2 - 0.2 * k));
    const t = taid.t().dataSync()[0];
    close(t, 0.52, 1e-6, "t on the floor at k = 2");
    const teacher = tf.tensor2d([[0, 2, -0.5, 0], [1, 1, 0, -2]]);
    const student = tf.tensor2d([[1, 0, -1, 0.5], [0, 0.5, 0.5, 1]]);
    const f = (s: tf.Tensor) => taid.loss(teacher, s);
    const g = (s: tf.Tensor) => taidLoss(teacher, s, t);
    close(f(student).dataSync()[0], g(student).dataSync()[0], 1e-6, "loss");
    const [ga, gb] = [tf.grad(f)(student).dataSync(), tf.grad(g)(student).dataSync()];
    ga.forEach((x, i) => close(x, gb[i], 1e-6, `grad[${i}]`));
  });
  taid.dispose();
});

Deno.test("DeviceTAID: bad configuration and input are named", () => {
  assert.throws(() => new DeviceTAID({ totalSteps: 0 }), /DeviceTAID: totalSteps must be/);
  assert.throws(() => new DeviceTAID({ totalSteps: 5, alpha: 2 }), /alpha must be in \[0, 1\]/);
  const taid = new DeviceTAID({ totalSteps: 5 });
  tf.tidy(() => {
    assert.throws(
      () => taid.update(tf.ones([2])),
      /loss must be a float32 scalar, got float32 \[2\]/,
    );
    assert.throws(() => taid.update(tf.scalar(1), -1), /step must be a non-negative integer/);
    assert.throws(
      () => taidLoss(tf.ones([1, 3]), tf.ones([1, 3]), tf.ones([2])),
      /a tensor t must be a float32 scalar, got float32 \[2\]/,
    );
  });
  assert.throws(
    () => taid.load({ t: 1.5, prevLoss: null, momentum: 0, step: 0 }),
    /t must be a number in \[0, 1\]/,
  );
  assert.throws(
    () => taid.load({ t: 0.5, prevLoss: NaN, momentum: 0, step: 0 }),
    /malformed state/,
  );
  taid.dispose();
});

import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  maskedMean64,
  numericGradient,
  randomRows,
  rowDivergence64,
  type Rows64,
} from "../../tests/reference/losses64.ts";
import {
  forwardKL,
  generalizedJSD,
  reverseKL,
  skewKL,
  skewReverseKL,
  totalVariation,
} from "./mod.ts";
import { forwardKLKernel } from "./forward_kl.ts";
import { pointwiseLossNaive } from "./pointwise.ts";
import { generalizedJSDKernel } from "./generalized_jsd.ts";
import { reverseKLKernel } from "./reverse_kl.ts";
import { skewKLKernel, skewReverseKLKernel } from "./skew_kl.ts";
import { totalVariationKernel } from "./total_variation.ts";
import { taidLoss, taidLossNaive } from "../taid/mod.ts";
import type { PointwiseOptions } from "./pointwise.ts";

await tf.setBackend("cpu");

type Loss = (t: tf.Tensor, s: tf.Tensor, o?: PointwiseOptions) => tf.Scalar;
interface Case {
  name: string;
  loss: Loss;
  naive: Loss;
  row: (t: number[], s: number[], T: number, sFixed?: number[]) => number;
}

const cases: Case[] = [
  {
    name: "forwardKL",
    loss: forwardKL,
    naive: (t, s, o) => pointwiseLossNaive("fkl", forwardKLKernel, t, s, o) as tf.Scalar,
    row: (t, s, T) => rowDivergence64.fkl(t, s, T),
  },
  {
    name: "reverseKL",
    loss: reverseKL,
    naive: (t, s, o) => pointwiseLossNaive("rkl", reverseKLKernel, t, s, o) as tf.Scalar,
    row: (t, s, T) => rowDivergence64.rkl(t, s, T),
  },
  {
    name: "totalVariation",
    loss: totalVariation,
    naive: (t, s, o) => pointwiseLossNaive("tvd", totalVariationKernel, t, s, o) as tf.Scalar,
    row: (t, s, T) => rowDivergence64.tvd(t, s, T),
  },
  ...[0, 0.1, 0.5, 0.9, 1].map((beta) => ({
    name: `generalizedJSD β=${beta}`,
    loss: ((t, s, o) => generalizedJSD(t, s, { ...o, beta })) as Loss,
    naive: ((t, s, o) => pointwiseLossNaive("gjsd", generalizedJSDKernel(beta), t, s, o)) as Loss,
    row: (t: number[], s: number[], T: number) => rowDivergence64.gjsd(t, s, T, beta),
  })),
  ...[0, 0.1, 0.5].map((alpha) => ({
    name: `skewKL α=${alpha}`,
    loss: ((t, s, o) => skewKL(t, s, { ...o, alpha })) as Loss,
    naive: ((t, s, o) => pointwiseLossNaive("skl", skewKLKernel(alpha), t, s, o)) as Loss,
    row: (t: number[], s: number[], T: number) => rowDivergence64.skl(t, s, T, alpha),
  })),
  ...[0, 0.1, 0.5].map((alpha) => ({
    name: `skewReverseKL α=${alpha}`,
    loss: ((t, s, o) => skewReverseKL(t, s, { ...o, alpha })) as Loss,
    naive: ((t, s, o) => pointwiseLossNaive("srkl", skewReverseKLKernel(alpha), t, s, o)) as Loss,
    row: (t: number[], s: number[], T: number) => rowDivergence64.srkl(t, s, T, alpha),
  })),
  ...[0.2, 0.4, 0.9].map((tt) => ({
    name: `taidLoss t=${tt}`,
    loss: ((t, s, o) => taidLoss(t, s, tt, o)) as Loss,
    naive: ((t, s, o) => taidLossNaive(t, s, tt, o)) as Loss,
    row: (t: number[], s: number[], T: number, sFixed?: number[]) =>
      rowDivergence64.taid(t, s, T, tt, sFixed),
  })),
];

const N = 6, V = 7;
const teacher = randomRows(N, V, 11, 3);
const student = randomRows(N, V, 12, 3);
const mask = [1, 0, 1, 1, 0, 1];

function reference(c: Case, t: Rows64, s: Rows64, T: number, m?: number[], sFixed?: Rows64) {
  return maskedMean64(t.map((row, i) => c.row(row, s[i], T, sFixed?.[i])), m);
}

function value(x: tf.Tensor): number {
  return x.dataSync()[0];
}

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

for (const c of cases) {
  Deno.test(`${c.name}: known answers against float64 at several temperatures, masked and not`, () => {
    for (const T of [0.5, 1, 2, 4]) {
      for (const m of [undefined, mask]) {
        const got = tf.tidy(() =>
          value(c.loss(tf.tensor2d(teacher), tf.tensor2d(student), {
            temperature: T,
            mask: m && tf.tensor1d(m),
          }))
        );
        close(got, reference(c, teacher, student, T, m), 2e-5, `T=${T} mask=${Boolean(m)}`);
      }
    }
  });

  Deno.test(`${c.name}: gradient matches float64 finite differences; chunked = autodiff`, () => {
    const T = 2;
    const f = (s: Rows64) => reference(c, teacher, s, T, mask, student);
    const numeric = numericGradient(f, student).flat();
    const opts = (chunkElements?: number) => ({
      temperature: T,
      mask: tf.tensor1d(mask),
      chunkElements,
    });
    const t = tf.tensor2d(teacher);
    for (const chunkElements of [undefined, 2 * V, V]) {
      const g = tf.tidy(() =>
        tf.grad((s: tf.Tensor) => c.loss(t, s, opts(chunkElements)))(tf.tensor2d(student))
          .dataSync()
      );
      numeric.forEach((n, i) => close(g[i], n, 1e-4, `chunked(${chunkElements}) grad[${i}]`));
    }
    const naive = tf.tidy(() =>
      tf.grad((s: tf.Tensor) => c.naive(t, s, opts()))(tf.tensor2d(student)).dataSync()
    );
    numeric.forEach((n, i) => close(naive[i], n, 1e-4, `naive grad[${i}]`));
    t.dispose();
  });

  Deno.test(`${c.name}: [B, T, V] input, sum and none reductions`, () => {
    tf.tidy(() => {
      const t3 = tf.tensor3d([teacher.slice(0, 3), teacher.slice(3)]);
      const s3 = tf.tensor3d([student.slice(0, 3), student.slice(3)]);
      const m2 = tf.tensor2d([mask.slice(0, 3), mask.slice(3)]);
      const perRow = teacher.map((row, i) => c.row(row, student[i], 1) * mask[i]);
      const none = c.loss(t3, s3, { mask: m2, reduction: "none" });
      assert.deepEqual(none.shape, [2, 3]);
      Array.from(none.dataSync()).forEach((v, i) => close(v, perRow[i], 2e-5, `none[${i}]`));
      close(
        value(c.loss(t3, s3, { mask: m2, reduction: "sum" })),
        perRow.reduce((a, b) => a + b),
        2e-5,
        "sum",
      );
    });
  });

  Deno.test(`${c.name}: zero when student = teacher; finite for logits of ±1e4`, () => {
    tf.tidy(() => {
      const same = tf.tensor2d(teacher);
      close(value(c.loss(same, same)), 0, 1e-6, "D(p‖p)");
      const extremeT = tf.tensor2d([[1e4, -1e4, 0, 5], [-1e4, -1e4, 1e4, 0]]);
      const extremeS = tf.tensor2d([[-1e4, 1e4, 0, 0], [1e4, 0, -1e4, 3]]);
      const loss = value(c.loss(extremeT, extremeS));
      const grad = tf.grad((s: tf.Tensor) => c.loss(extremeT, s))(extremeS).dataSync();
      assert.ok(Number.isFinite(loss), `loss ${loss}`);
      assert.ok(Array.from(grad).every(Number.isFinite), `grad ${grad}`);
    });
  });
}

Deno.test("properties: GJSD(½) symmetric; skewKL(0) = FKL; skewRKL(0) = RKL; TAID(1) = FKL; TAID(0) = 0", () => {
  tf.tidy(() => {
    const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
    close(value(generalizedJSD(t, s)), value(generalizedJSD(s, t)), 1e-6, "GJSD symmetric");
    close(value(skewKL(t, s, { alpha: 0 })), value(forwardKL(t, s)), 1e-6, "SKL α=0");
    close(value(skewReverseKL(t, s, { alpha: 0 })), value(reverseKL(t, s)), 1e-6, "SRKL α=0");
    close(value(taidLoss(t, s, 1)), value(forwardKL(t, s)), 1e-6, "TAID t=1");
    close(value(taidLoss(t, s, 0)), 0, 1e-7, "TAID t=0");
    const g0 = tf.grad((x: tf.Tensor) => taidLoss(t, x, 0))(s).dataSync();
    assert.ok(Array.from(g0).every((g) => Math.abs(g) < 1e-7), "TAID t=0 has zero gradient");
  });
});

Deno.test("TAID golden values from the reference note (t = 0.4)", () => {
  tf.tidy(() => {
    const t = tf.tensor2d([[0, 2, -0.5, 0]]), s = tf.tensor2d([[1, 0, -1, 0.5]]);
    close(value(taidLoss(t, s, 0.4)), 0.129716, 1e-5, "KL");
    close(value(taidLoss(t, s, 0.4, { crossEntropy: true })), 1.396341, 1e-5, "CE");
    const g = tf.grad((x: tf.Tensor) => taidLoss(t, x, 0.4))(s).dataSync();
    [0.162350, -0.206268, -0.012702, 0.056620].forEach((e, i) =>
      close(g[i], e, 1e-5, `grad[${i}]`)
    );
  });
});

Deno.test("bad input is named: shapes, vocab, NaN/Inf, T, β/α, t, mask", () => {
  tf.tidy(() => {
    const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
    assert.throws(() => forwardKL(t, tf.zeros([N, V + 1])), /forwardKL: .*vocab sizes differ/);
    assert.throws(() => forwardKL(t, tf.zeros([N + 1, V])), /shapes differ/);
    assert.throws(() => forwardKL(tf.zeros([V]), tf.zeros([V])), /teacherLogits must be \[N, V\]/);
    assert.throws(() => forwardKL(tf.zeros([0, V]), tf.zeros([0, V])), /empty batch/);
    assert.throws(() => reverseKL(t, tf.fill([N, V], NaN)), /studentLogits contain NaN or Inf/);
    assert.throws(
      () => reverseKL(tf.fill([N, V], Infinity), s),
      /teacherLogits contain NaN or Inf/,
    );
    assert.throws(
      () => forwardKL(t, s, { temperature: 0 }),
      /temperature must be a finite number > 0/,
    );
    assert.throws(() => forwardKL(t, s, { temperature: -1 }), /temperature/);
    assert.throws(() => generalizedJSD(t, s, { beta: 1.5 }), /beta must be a number in \[0, 1\]/);
    assert.throws(() => skewKL(t, s, { alpha: -0.1 }), /skewKL: alpha/);
    assert.throws(() => skewReverseKL(t, s, { alpha: NaN }), /skewReverseKL: alpha/);
    assert.throws(() => taidLoss(t, s, 1.2), /t must be a number in \[0, 1\]/);
    assert.throws(
      () => forwardKL(t, s, { mask: tf.ones([N + 1]) }),
      /mask must have the leading shape \[6\]/,
    );
    assert.throws(() => forwardKL(t, s, { mask: tf.zeros([N]) }), /every position is masked/);
    assert.throws(() => forwardKL(t, s, { mask: tf.fill([N], 0.5) }), /only 0 and 1/);
  });
});

Deno.test("no tensor leaks over 100 forward+backward calls", () => {
  const t = tf.tensor2d(teacher), s = tf.variable(tf.tensor2d(student));
  const m = tf.tensor1d(mask);
  const optimizer = tf.train.sgd(0.1);
  const step = () =>
    optimizer.minimize(() =>
      tf.add(taidLoss(t, s, 0.5, { mask: m, chunkElements: 2 * V }), generalizedJSD(t, s))
    );
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([t, s, m]);
  optimizer.dispose();
});

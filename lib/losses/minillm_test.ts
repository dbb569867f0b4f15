import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import {
  logSoftmax64,
  miniLLM64,
  numericGradient,
  randomRows,
  type Rows64,
} from "../../tests/reference/losses64.ts";
import { miniLLMLoss } from "./minillm.ts";
import { getLoss } from "./registry.ts";

await initBackend("cpu", { log: false });

const [B, T, V] = [2, 3, 5];
const teacher = randomRows(B * T, V, 11);
const student = randomRows(B * T, V, 12);
const labels = [0, 3, 1, 4, 2, 2];
const mask = [0, 1, 1, 0, 1, 1];
const eps = 0.2;
// Old log-probabilities and weights chosen so that ρ = w·q(y)/q_old(y) falls below, inside and
// above [1 − ε, 1 + ε], with advantages of both signs: every branch of the surrogate is taken,
// each far enough from a kink for finite differences.
const targetRatio = [0.5, 1.0, 1.5, 0.6, 1.05, 1.4];
const weights = [1, 0.9, 1.2, 0.8, 1, 1.1];
const advantages = [0.7, -1.2, 0.9, -0.4, 1.3, -0.8];
const oldLogProbs = student.map((s, i) =>
  logSoftmax64(s)[labels[i]] - Math.log(targetRatio[i] / weights[i])
);
const rollout64 = { labels, oldLogProbs, weights, advantages };

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

const tensors = (s: Rows64 | tf.Tensor = student) => ({
  teacher: tf.tensor3d(teacher.flat(), [B, T, V]),
  student: s instanceof tf.Tensor ? s : tf.tensor3d(s.flat(), [B, T, V]),
  labels: tf.tensor2d(labels, [B, T], "int32"),
  mask: tf.tensor2d(mask, [B, T]),
  rollout: {
    oldLogProbs: tf.tensor2d(oldLogProbs, [B, T]),
    weights: tf.tensor2d(weights, [B, T]),
    advantages: tf.tensor2d(advantages, [B, T]),
  },
});

Deno.test("miniLLMLoss matches float64 on every branch of the clipped surrogate", () => {
  for (const [singleStep, longTerm] of [[true, true], [false, true], [true, false]]) {
    for (const clipRange of [0.2, 0.45]) {
      for (const m of [undefined, mask]) {
        const got = tf.tidy(() => {
          const x = tensors();
          return miniLLMLoss(x.teacher, x.student, {
            labels: x.labels,
            rollout: x.rollout,
            mask: m && x.mask,
            clipRange,
            singleStep,
            longTerm,
          }).dataSync()[0];
        });
        const want = miniLLM64(teacher, student, rollout64, {
          clipRange,
          singleStep,
          longTerm,
          mask: m,
        });
        close(
          got,
          want,
          2e-5,
          `singleStep=${singleStep} longTerm=${longTerm} ε=${clipRange} mask=${Boolean(m)}`,
        );
      }
    }
  }
});

Deno.test("miniLLMLoss gradient matches float64 finite differences (clipped rows get only the KL's)", () => {
  for (const singleStep of [true, false]) {
    const f = (s: Rows64) => miniLLM64(teacher, s, rollout64, { clipRange: eps, singleStep, mask });
    const numeric = numericGradient(f, student).flat();
    const got = tf.tidy(() => {
      const x = tensors();
      return tf.grad((s: tf.Tensor) =>
        miniLLMLoss(x.teacher, s, {
          labels: x.labels,
          rollout: x.rollout,
          mask: x.mask,
          clipRange: eps,
          singleStep,
        })
      )(x.student).dataSync();
    });
    numeric.forEach((n, i) => close(got[i], n, 1e-4, `singleStep=${singleStep} grad[${i}]`));
    if (!singleStep) {
      // Row 2 (ρ = 1.5 > 1 + ε, A > 0) and row 5 (ρ = 1.4, A < 0: the unclipped branch) differ:
      // the first is flat, the second is not; rows 0 and 3 are masked.
      const row = (r: number) => Array.from(got.slice(r * V, (r + 1) * V));
      assert.ok(row(2).every((g) => g === 0), `clipped row: ${row(2)}`);
      assert.ok(row(5).some((g) => Math.abs(g) > 1e-3), `unclipped row: ${row(5)}`);
      assert.ok(row(0).every((g) => g === 0) && row(3).every((g) => g === 0), "masked rows");
    }
  }
});

Deno.test("miniLLMLoss: the registry's minillm objective is the same loss", () => {
  tf.tidy(() => {
    const x = tensors();
    const objective = getLoss("minillm", { clipRange: 0.3 });
    assert.equal(objective.needsTeacher, true);
    assert.equal(objective.needsRollout, true);
    const got = objective.loss({
      teacherLogits: x.teacher,
      studentLogits: x.student,
      labels: x.labels,
      mask: x.mask,
      rollout: x.rollout,
    }).dataSync()[0];
    const want = miniLLM64(teacher, student, rollout64, {
      clipRange: 0.3,
      singleStep: true,
      mask,
    });
    close(got, want, 2e-5, "registry");
    assert.throws(
      () => getLoss("minillm", { clipRange: 1 }),
      /minillm: config.clipRange must be a number in \(0, 1\)/,
    );
    assert.throws(() => getLoss("minillm", { singleStep: 1 }), /singleStep must be true or false/);
    assert.throws(
      () => getLoss("minillm", { singleStep: false, longTerm: false }),
      /singleStep and config.longTerm are both false/,
    );
    assert.throws(
      () =>
        objective.loss({ teacherLogits: x.teacher, studentLogits: x.student, labels: x.labels }),
      /minillm: inputs.rollout and inputs.labels are required/,
    );
  });
});

Deno.test("miniLLMLoss names the bad argument", () => {
  tf.tidy(() => {
    const x = tensors();
    const base = { labels: x.labels, rollout: x.rollout, mask: x.mask };
    const cases: [() => unknown, RegExp][] = [
      [
        () => miniLLMLoss(x.teacher, x.student, { ...base, clipRange: 0 }),
        /clipRange must be a number in \(0, 1\), got 0/,
      ],
      [
        () =>
          miniLLMLoss(x.teacher, x.student, {
            ...base,
            rollout: { ...x.rollout, weights: tf.ones([B * T]) },
          }),
        /rollout.weights must have the leading shape \[2,3\]/,
      ],
      [
        () =>
          miniLLMLoss(x.teacher, x.student, {
            ...base,
            rollout: { ...x.rollout, advantages: tf.fill([B, T], NaN) },
          }),
        /rollout.advantages contains NaN or Inf/,
      ],
      [
        () => miniLLMLoss(x.teacher, x.student, { ...base, singleStep: false, longTerm: false }),
        /singleStep and longTerm are both off/,
      ],
      [
        () =>
          miniLLMLoss(x.teacher, x.student, {
            ...base,
            labels: tf.fill([B, T], V, "int32"),
          }),
        /labels\[0\] = 5 is not a class id in \[0, 5\)/,
      ],
      [
        () => miniLLMLoss(tf.zeros([B, T, V + 1]), x.student, base),
        /vocab sizes differ/,
      ],
    ];
    for (const [run, message] of cases) assert.throws(run, message);
  });
});

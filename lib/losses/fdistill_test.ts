import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { flushDeferredChecks } from "../deferred_checks.ts";
import { gpuTest } from "../../tests/fixtures/gpu_test.ts";
import {
  fDistill64,
  numericGradient,
  randomRows,
  type Rows64,
} from "../../tests/reference/losses64.ts";
import { fDistill, type FDistillDivergence, forwardKL, getLoss, totalVariation } from "./mod.ts";

await tf.setBackend("cpu");

// 4 sequences of 3 positions over 5 tokens; sequences 1 and 3 were sampled from the student.
const [B, L, V] = [4, 3, 5];
const teacher = randomRows(B * L, V, 11, 3);
const student = randomRows(B * L, V, 12, 2);
const studentRows = [0, 1, 0, 1];
const mask = [[0, 1, 1], [1, 1, 0], [1, 1, 1], [0, 1, 1]];
const fromStudent = studentRows.flatMap((s) => Array(L).fill(s));
const divergences: FDistillDivergence[] = ["kl", "rkl", "js", "tvd"];

const tensor3 = (rows: Rows64) => tf.tensor3d(rows.flat(), [B, L, V]);
const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );

function ours(
  s: tf.Tensor,
  divergence: FDistillDivergence,
  options: { temperature?: number; beta?: number } = {},
) {
  return fDistill(tensor3(teacher), s, {
    divergence,
    studentRows: tf.tensor1d(studentRows),
    mask: tf.tensor2d(mask),
    ...options,
  });
}

for (const divergence of divergences) {
  Deno.test(`fDistill ${divergence}: known answers against float64 (temperatures, β)`, () => {
    for (const temperature of [1, 2]) {
      for (const beta of divergence === "js" ? [0.5, 0.2, 0.9] : [undefined]) {
        const got = tf.tidy(() =>
          ours(tensor3(student), divergence, { temperature, beta }).dataSync()[0]
        );
        const want = fDistill64(
          teacher,
          student,
          fromStudent,
          mask.flat(),
          divergence,
          temperature,
          beta,
        );
        close(got, want, 2e-5, `T=${temperature} β=${beta}`);
      }
    }
  });

  Deno.test(`fDistill ${divergence}: gradient matches float64 finite differences`, () => {
    const beta = 0.3;
    const f = (s: Rows64) =>
      fDistill64(
        teacher,
        s,
        fromStudent,
        mask.flat(),
        divergence,
        2,
        divergence === "js" ? beta : 0.5,
      );
    const numeric = numericGradient(f, student).flat();
    const options = { temperature: 2, ...(divergence === "js" ? { beta } : {}) };
    const g = tf.tidy(() =>
      tf.grad((s: tf.Tensor) => ours(s, divergence, options))(tensor3(student)).dataSync()
    );
    numeric.forEach((n, i) => close(g[i], n, 1e-4, `grad[${i}]`));
    // Masked positions and, for one-sided divergences, the other side's rows get no gradient.
    const rowGrad = (i: number) => Array.from(g.slice(i * V, (i + 1) * V));
    for (let i = 0; i < B * L; i++) {
      const counted = mask.flat()[i] === 1 &&
        (divergence === "kl"
          ? fromStudent[i] === 0
          : divergence === "rkl"
          ? fromStudent[i] === 1
          : true);
      assert.equal(rowGrad(i).some((v) => v !== 0), counted, `row ${i}`);
    }
  });
}

Deno.test("fDistill: one side's term is that divergence on its rows; TVD over equal sides is plain TVD", () => {
  tf.tidy(() => {
    const t = tensor3(teacher), s = tensor3(student);
    const allTeacher = tf.zeros([B]);
    close(
      fDistill(t, s, { divergence: "kl", studentRows: allTeacher }).dataSync()[0],
      forwardKL(t, s).dataSync()[0],
      1e-6,
      "kl on teacher rows = forward KL",
    );
    // Two copies of the same sequences, one labelled teacher-sampled and one student-sampled:
    // ½·mean_teacher + ½·mean_student equals the mean over all rows.
    const t2 = tf.concat([t, t]), s2 = tf.concat([s, s]);
    close(
      fDistill(t2, s2, { divergence: "tvd", studentRows: tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1]) })
        .dataSync()[0],
      totalVariation(t, s).dataSync()[0],
      1e-6,
      "tvd",
    );
    // [N, V] logits: studentRows runs over positions.
    const flatRows = tf.tensor1d(fromStudent);
    close(
      fDistill(t.reshape([B * L, V]), s.reshape([B * L, V]), {
        divergence: "js",
        studentRows: flatRows,
      }).dataSync()[0],
      fDistill64(teacher, student, fromStudent, Array(B * L).fill(1), "js"),
      2e-5,
      "[N, V]",
    );
  });
});

Deno.test("fDistill: bad input is a named error", () => {
  tf.tidy(() => {
    const t = tensor3(teacher), s = tensor3(student);
    const rows = tf.tensor1d(studentRows);
    assert.throws(
      () => fDistill(t, s, { divergence: "kl", studentRows: tf.ones([B]) }),
      /divergence "kl" needs teacher-sampled rows \(studentRows 0\); the batch has none/,
    );
    assert.throws(
      () => fDistill(t, s, { divergence: "js", studentRows: tf.zeros([B]) }),
      /needs student-sampled rows/,
    );
    assert.throws(
      () => fDistill(t, s, { divergence: "tvd", studentRows: tf.tensor1d([0, 0.5, 1, 1]) }),
      /studentRows must hold only 0 and 1/,
    );
    assert.throws(
      () => fDistill(t, s, { divergence: "tvd", studentRows: tf.ones([B * L]) }),
      /studentRows must be a tensor of shape \[4\]/,
    );
    assert.throws(
      () => fDistill(t, s, { divergence: "hellinger" as FDistillDivergence, studentRows: rows }),
      /divergence must be one of kl, rkl, js, tvd, got "hellinger"/,
    );
    for (const beta of [0, 1, NaN]) {
      assert.throws(
        () => fDistill(t, s, { divergence: "js", studentRows: rows, beta }),
        /beta must be a number in \(0, 1\)/,
      );
    }
    assert.throws(
      () => fDistill(t, s.slice([0, 0, 0], [B, L, V - 1]), { divergence: "js", studentRows: rows }),
      /vocab sizes differ/,
    );
    const nan = tf.concat([tf.fill([1, L, V], NaN), s.slice([1, 0, 0], [B - 1, L, V])]);
    assert.throws(
      () => fDistill(t, nan, { divergence: "tvd", studentRows: rows }),
      /studentLogits contain NaN or Inf/,
    );
    assert.throws(
      () =>
        fDistill(
          t,
          s,
          {
            divergence: "tvd",
            studentRows: rows,
            reduction: "sum",
          } as unknown as Parameters<typeof fDistill>[2],
        ),
      /reduction is not supported/,
    );
  });
});

Deno.test("registry: fdistill says whose samples it needs and checks its config", () => {
  assert.deepEqual(getLoss("fdistill", { divergence: "kl" }).needsSamples, ["teacher"]);
  assert.deepEqual(getLoss("fdistill", { divergence: "rkl" }).needsSamples, ["student"]);
  assert.deepEqual(getLoss("fdistill").needsSamples, ["teacher", "student"]);
  assert.throws(() => getLoss("fdistill", { divergence: "kl", beta: 0.5 }), /beta applies to/);
  assert.throws(() => getLoss("fdistill", { divergence: "js", beta: 1 }), /in \(0, 1\)/);
  for (const divergence of ["x", "toString"]) {
    assert.throws(() => getLoss("fdistill", { divergence }), /divergence must be one of/);
  }
  const loss = getLoss("fdistill", { divergence: "js", beta: 0.2, temperature: 2 });
  const got = tf.tidy(() =>
    loss.loss({
      teacherLogits: tensor3(teacher),
      studentLogits: tensor3(student),
      mask: tf.tensor2d(mask),
      studentRows: tf.tensor1d(studentRows),
    }).dataSync()[0]
  );
  close(got, fDistill64(teacher, student, fromStudent, mask.flat(), "js", 2, 0.2), 2e-5, "js");
  assert.throws(
    () =>
      tf.tidy(() =>
        loss.loss({ teacherLogits: tensor3(teacher), studentLogits: tensor3(student) })
      ),
    /inputs.studentRows is required/,
  );
});

Deno.test("fDistill on wasm (its fused divergence kernels) matches float64, value and gradient", async () => {
  await initBackend("wasm", { log: false });
  try {
    for (const divergence of divergences) {
      const f = (s: Rows64) => fDistill64(teacher, s, fromStudent, mask.flat(), divergence, 1.5);
      const [value, grad] = tf.tidy(() => {
        const s = tensor3(student);
        return [
          ours(s, divergence, { temperature: 1.5 }).dataSync()[0],
          tf.grad((x: tf.Tensor) => ours(x, divergence, { temperature: 1.5 }))(s).dataSync(),
        ];
      }) as unknown as [number, Float32Array];
      close(value, f(student), 2e-5, `${divergence} value`);
      numericGradient(f, student).flat().forEach((n, i) =>
        close(grad[i], n, 1e-4, `${divergence} grad[${i}]`)
      );
    }
  } finally {
    await tf.setBackend("cpu");
  }
});

gpuTest("fDistill on webgpu (fused WGSL kernels, deferred checks) matches float64", async () => {
  await initBackend("webgpu", { log: false });
  try {
    for (const divergence of divergences) {
      const f = (s: Rows64) => fDistill64(teacher, s, fromStudent, mask.flat(), divergence, 1.5);
      const s = tensor3(student);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
        ours(x, divergence, { temperature: 1.5 })
      )(s);
      const [v, g] = [(await value.data())[0], await grad.data()];
      await flushDeferredChecks();
      close(v, f(student), 2e-5, `${divergence} value`);
      numericGradient(f, student).flat().forEach((n, i) =>
        close(g[i], n, 1e-4, `${divergence} grad[${i}]`)
      );
      tf.dispose([s, value, grad]);
    }
    // On webgpu the check on studentRows is deferred to the next flush (the trainer's readback).
    const loss = fDistill(tensor3(teacher), tensor3(student), {
      divergence: "kl",
      studentRows: tf.ones([B]),
    });
    await assert.rejects(flushDeferredChecks(), /needs teacher-sampled rows/);
    loss.dispose();
  } finally {
    await tf.setBackend("cpu");
  }
});

import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { miniLM64, numericGradient, randomRows } from "../../tests/reference/losses64.ts";
import { miniLMAttention, miniLMTerms } from "./minilm_attention.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

const [B, H, T, dT, dS] = [2, 2, 4, 3, 2];
/** Nested [B][H][T][last] from a flat list. */
function nest(flat: number[], last: number): number[][][][] {
  return Array.from(
    { length: B },
    (_, b) =>
      Array.from({ length: H }, (_, h) =>
        Array.from({ length: T }, (_, t) => {
          const at = ((b * H + h) * T + t) * last;
          return flat.slice(at, at + last);
        })),
  );
}
/** Row softmax of scores [.., T] over the allowed keys (the future ones masked when causal). */
function softmaxRows(scores: number[][][][], causal: boolean): number[][][][] {
  return scores.map((hs) =>
    hs.map((rows) =>
      rows.map((row, q) => {
        const e = row.map((s, k) => (causal && k > q ? 0 : Math.exp(s)));
        const z = e.reduce((a, b) => a + b, 0);
        return e.map((x) => x / z);
      })
    )
  );
}
const flatOf = (seed: number, last: number, scale = 1.5) =>
  randomRows(1, B * H * T * last, seed, scale)[0];
const teacherScores = nest(flatOf(1, T, 3), T);
const teacherValues = nest(flatOf(2, dT), dT);
const studentScores0 = flatOf(3, T, 2);
const studentValues0 = flatOf(4, dS);
const causalBias = tf.tidy(() =>
  tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9)
);
const mask = [[1, 1, 1, 0], [1, 1, 1, 1]];

/** tfjs terms as a function of the student's raw scores and values (flat). */
function tfTerms(scores: tf.Tensor, values: tf.Tensor, causal: boolean, withMask: boolean) {
  const logits = (s: tf.Tensor) => (causal ? tf.add(s, causalBias) : s);
  const teacher = tf.softmax(logits(tf.tensor4d(teacherScores.flat(3), [B, H, T, T])));
  const student = tf.softmax(logits(scores.reshape([B, H, T, T])));
  return miniLMTerms(
    teacher,
    student,
    tf.tensor4d(teacherValues.flat(3), [B, H, T, dT]),
    values.reshape([B, H, T, dS]),
    { causal, mask: withMask ? tf.tensor2d(mask) : undefined },
  );
}
function reference(scores: number[], values: number[], causal: boolean, withMask: boolean) {
  return miniLM64(
    softmaxRows(teacherScores, causal),
    softmaxRows(nest(scores, T), causal),
    teacherValues,
    nest(values, dS),
    { causal, mask: withMask ? mask : undefined },
  );
}

for (const causal of [false, true]) {
  for (const withMask of [false, true]) {
    const label = `${causal ? "causal" : "bidirectional"}${withMask ? ", padded" : ""}`;
    Deno.test(`MiniLM (${label}): L_AT and L_VR match float64, and so do their gradients`, () => {
      const ref = reference(studentScores0, studentValues0, causal, withMask);
      tf.tidy(() => {
        const { attention, valueRelation } = tfTerms(
          tf.tensor1d(studentScores0),
          tf.tensor1d(studentValues0),
          causal,
          withMask,
        );
        close(attention.dataSync()[0], ref.attention, 1e-5, "L_AT");
        close(valueRelation.dataSync()[0], ref.valueRelation, 1e-5, "L_VR");
        assert.ok(ref.attention > 0.05 && ref.valueRelation > 0.05, "a test that can fail");
      });
      const n = studentScores0.length;
      const both = (x: number[]) => {
        const r = reference(x.slice(0, n), x.slice(n), causal, withMask);
        return 0.7 * r.attention + 1.3 * r.valueRelation;
      };
      const x0 = [...studentScores0, ...studentValues0];
      const numeric = numericGradient((x) => both(x[0]), [x0])[0];
      const grads = tf.tidy(() =>
        tf.grads((s: tf.Tensor, v: tf.Tensor) => {
          const { attention, valueRelation } = tfTerms(s, v, causal, withMask);
          return tf.add(tf.mul(0.7, attention), tf.mul(1.3, valueRelation)) as tf.Scalar;
        })([tf.tensor1d(studentScores0), tf.tensor1d(studentValues0)]).map((g) => [...g.dataSync()])
      ).flat();
      numeric.forEach((g, i) => close(grads[i], g, 2e-4, `gradient ${i}`));
      // The weighted loss is the same combination.
      const weighted = tf.tidy(() => {
        const logits = (s: tf.Tensor) => (causal ? tf.add(s, causalBias) : s);
        return miniLMAttention(
          tf.softmax(logits(tf.tensor4d(teacherScores.flat(3), [B, H, T, T]))),
          tf.softmax(logits(tf.tensor4d(studentScores0, [B, H, T, T]))),
          tf.tensor4d(teacherValues.flat(3), [B, H, T, dT]),
          tf.tensor4d(studentValues0, [B, H, T, dS]),
          {
            causal,
            mask: withMask ? tf.tensor2d(mask) : undefined,
            attentionWeight: 0.7,
            valueWeight: 1.3,
          },
        ).dataSync()[0];
      });
      close(weighted, both(x0), 1e-5, "0.7·L_AT + 1.3·L_VR");
    });
  }
}

Deno.test("MiniLM: zero for identical maps; head counts, shapes and bad values are named errors", () => {
  tf.tidy(() => {
    const a = tf.softmax(tf.tensor4d(teacherScores.flat(3), [B, H, T, T]));
    const v = tf.tensor4d(teacherValues.flat(3), [B, H, T, dT]);
    close(miniLMAttention(a, a, v, v).dataSync()[0], 0, 1e-6, "same maps and values");
    const vs = tf.tensor4d(studentValues0, [B, H, T, dS]);
    const threeHeads = tf.softmax(tf.ones([B, 3, T, T]));
    assert.throws(
      () => miniLMAttention(a, threeHeads, v, vs),
      /head counts and lengths must match/,
    );
    assert.throws(
      () => miniLMAttention(a, a, v, tf.ones([B, H, T])),
      /studentValues must be \[2, 2, 4, d\]/,
    );
    assert.throws(
      () => miniLMAttention(a, tf.ones([B, H, T, T + 1]), v, vs),
      /studentAttention must be \[B, H, T, T\]/,
    );
    assert.throws(
      () => miniLMAttention(a, a, v, vs, { mask: tf.ones([B, T + 1]) }),
      /mask must be \[2, 4\]/,
    );
    assert.throws(
      () => miniLMAttention(a, a, v, vs, { valueWeight: -1 }),
      /miniLMAttention: valueWeight must be a number in \[0, Infinity\], got -1/,
    );
    assert.throws(
      () => miniLMAttention(a, tf.ones([B, H, T, T]), v, vs),
      /probabilities over the keys/,
    );
    const nan = tf.where(tf.equal(tf.range(0, B * H * T * dS).reshape([B, H, T, dS]), 5), NaN, vs);
    assert.throws(() => miniLMAttention(a, a, v, nan), /studentValues holds 1 NaN\/Inf/);
    assert.throws(
      () => miniLMAttention(a, a, v, vs, { mask: tf.zeros([B, T]) }),
      /excludes every position/,
    );
    assert.throws(
      () => miniLMAttention(a, a, v, vs, { mask: tf.fill([B, T], 0.5) }),
      /only 0 and 1/,
    );
  });
});

Deno.test("MiniLM: no tensor is left behind", () => {
  const a = tf.softmax(tf.tensor4d(teacherScores.flat(3), [B, H, T, T]));
  const v = tf.tensor4d(teacherValues.flat(3), [B, H, T, dT]);
  const before = tf.memory().numTensors;
  miniLMAttention(a, a, v, v, { causal: true, mask: undefined }).dispose();
  const terms = miniLMTerms(a, a, v, v);
  tf.dispose([terms.attention, terms.valueRelation]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, v]);
});

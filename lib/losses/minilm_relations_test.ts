import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { miniLMv2_64, numericGradient, randomRows } from "../../tests/reference/losses64.ts";
import { miniLMTerms } from "./minilm_attention.ts";
import { miniLMv2Relations, miniLMv2Terms, type QueryKeyValue } from "./minilm_relations.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

// Teacher: 3 heads of 4 (H·d_h = 12); student: 2 heads of 3 (6). A_r = 3 divides both; A_r = 2
// splits the teacher's heads across relation heads (12 / 2 = 6 = 1.5 heads).
const [B, T] = [2, 4];
const TEACHER = { H: 3, d: 4 };
const STUDENT = { H: 2, d: 3 };
const mask = [[1, 1, 1, 0], [1, 1, 1, 1]];

/** Nested [B][H][T][d] from a flat list. */
function nest(flat: number[], H: number, d: number): number[][][][] {
  return Array.from(
    { length: B },
    (_, b) =>
      Array.from({ length: H }, (_, h) =>
        Array.from({ length: T }, (_, t) => {
          const at = ((b * H + h) * T + t) * d;
          return flat.slice(at, at + d);
        })),
  );
}
const size = ({ H, d }: { H: number; d: number }) => B * H * T * d;
const teacherFlat = [1, 2, 3].map((seed) => randomRows(1, size(TEACHER), seed, 1.5)[0]);
const student0 = [4, 5, 6].map((seed) => randomRows(1, size(STUDENT), seed, 1.5)[0]);

const qkv64 = (flat: number[][], { H, d }: { H: number; d: number }) => ({
  queries: nest(flat[0], H, d),
  keys: nest(flat[1], H, d),
  values: nest(flat[2], H, d),
});
const qkvTensors = (flat: (number[] | tf.Tensor)[], { H, d }: { H: number; d: number }) => {
  const t = (x: number[] | tf.Tensor) =>
    (x instanceof tf.Tensor ? x : tf.tensor1d(x)).reshape([B, H, T, d]);
  return { queries: t(flat[0]), keys: t(flat[1]), values: t(flat[2]) };
};

for (const relationHeads of [3, 2, 1]) {
  for (const causal of [false, true]) {
    for (const withMask of [false, true]) {
      const label = `A_r ${relationHeads}, ${causal ? "causal" : "bidirectional"}` +
        `${withMask ? ", padded" : ""}`;
      Deno.test(`MiniLMv2 (${label}): Q-Q, K-K, V-V match float64, and so do their gradients`, () => {
        const options = { relationHeads, causal, mask: withMask ? mask : undefined };
        const ref = miniLMv2_64(
          qkv64(teacherFlat, TEACHER),
          qkv64(student0, STUDENT),
          relationHeads,
          options,
        );
        tf.tidy(() => {
          const terms = miniLMv2Terms(
            qkvTensors(teacherFlat, TEACHER),
            qkvTensors(student0, STUDENT),
            {
              ...options,
              mask: withMask ? tf.tensor2d(mask) : undefined,
            },
          );
          close(terms.queryQuery.dataSync()[0], ref.queryQuery, 1e-5, "L_QQ");
          close(terms.keyKey.dataSync()[0], ref.keyKey, 1e-5, "L_KK");
          close(terms.valueValue.dataSync()[0], ref.valueValue, 1e-5, "L_VV");
          assert.ok(
            Math.min(ref.queryQuery, ref.keyKey, ref.valueValue) > 0.01,
            "a test that can fail",
          );
        });
        const weights = { queryWeight: 0.5, keyWeight: 1.5, valueWeight: 1 };
        const loss64 = (x: number[][]) => {
          const r = miniLMv2_64(
            qkv64(teacherFlat, TEACHER),
            qkv64(x, STUDENT),
            relationHeads,
            options,
          );
          return 0.5 * r.queryQuery + 1.5 * r.keyKey + r.valueValue;
        };
        const numeric = numericGradient(loss64, student0).flat();
        const grads = tf.tidy(() =>
          tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
            miniLMv2Relations(qkvTensors(teacherFlat, TEACHER), qkvTensors([q, k, v], STUDENT), {
              ...options,
              ...weights,
              mask: withMask ? tf.tensor2d(mask) : undefined,
            })
          )(student0.map((x) => tf.tensor1d(x))).flatMap((g) => [...g.dataSync()])
        );
        numeric.forEach((g, i) => close(grads[i], g, 2e-4, `gradient ${i}`));
      });
    }
  }
}

Deno.test("MiniLMv2's V-V term with A_r = H is MiniLM's value relation", () => {
  tf.tidy(() => {
    const teacher = qkvTensors(teacherFlat, TEACHER);
    const student = qkvTensors(student0.map((x) => [...x, ...x].slice(0, size(TEACHER))), TEACHER);
    const uniform = tf.fill([B, TEACHER.H, T, T], 1 / T);
    const v1 = miniLMTerms(uniform, uniform, teacher.values, student.values, { causal: true });
    const v2 = miniLMv2Terms(teacher, student, { relationHeads: TEACHER.H, causal: true });
    close(v2.valueValue.dataSync()[0], v1.valueRelation.dataSync()[0], 1e-6, "L_VV vs L_VR");
  });
});

Deno.test("MiniLMv2: zero for identical models; shapes, head splits and bad values are named errors", () => {
  tf.tidy(() => {
    const t = qkvTensors(teacherFlat, TEACHER);
    const s = qkvTensors(student0, STUDENT);
    close(miniLMv2Relations(t, t, { relationHeads: 4 }).dataSync()[0], 0, 1e-6, "same model");
    assert.throws(
      () => miniLMv2Relations(t, s, { relationHeads: 4 }),
      /relationHeads 4 must divide the student's H·d_h = 2·3 = 6/,
    );
    assert.throws(
      () => miniLMv2Relations(t, s, { relationHeads: 0 }),
      /relationHeads must be a positive integer, got 0/,
    );
    assert.throws(
      () => miniLMv2Relations(t, { ...s, keys: tf.ones([B, 2, T, 4]) }, { relationHeads: 3 }),
      /student.keys must be \[B, H, T, d_h\] like student.queries \(\[2, 2, 4, 3\]\), got \[2,2,4,4\]/,
    );
    const longer = qkvTensors(student0.map((x) => [...x, ...x]), { H: 2, d: 6 });
    assert.throws(
      () => miniLMv2Relations(t, longer, { relationHeads: 3, mask: tf.ones([B, T + 1]) }),
      /mask must be \[2, 4\]/,
    );
    const otherLength = {
      queries: tf.ones([B, 2, T + 1, 3]),
      keys: tf.ones([B, 2, T + 1, 3]),
      values: tf.ones([B, 2, T + 1, 3]),
    };
    assert.throws(
      () => miniLMv2Relations(t, otherLength, { relationHeads: 3 }),
      /same batch and length/,
    );
    assert.throws(
      () => miniLMv2Relations(t, s, { relationHeads: 3, keyWeight: -1 }),
      /miniLMv2Relations: keyWeight must be a number in \[0, Infinity\], got -1/,
    );
    const nan = tf.where(
      tf.equal(tf.range(0, size(STUDENT)).reshape([B, 2, T, 3]), 7),
      NaN,
      s.values,
    );
    assert.throws(
      () => miniLMv2Relations(t, { ...s, values: nan }, { relationHeads: 3 }),
      /student.values holds 1 NaN\/Inf/,
    );
    assert.throws(
      () => miniLMv2Relations(t, s, { relationHeads: 3, mask: tf.zeros([B, T]) }),
      /excludes every position/,
    );
    assert.throws(
      () => miniLMv2Relations(t, s, { relationHeads: 3, mask: tf.fill([B, T], 0.5) }),
      /only 0 and 1/,
    );
    assert.throws(
      () => miniLMv2Relations(t, s, undefined as unknown as { relationHeads: number }),
      /relationHeads must be a positive integer, got undefined/,
    );
  });
});

Deno.test("MiniLMv2: no tensor is left behind", () => {
  const t: QueryKeyValue = qkvTensors(teacherFlat, TEACHER);
  const s: QueryKeyValue = qkvTensors(student0, STUDENT);
  const before = tf.memory().numTensors;
  miniLMv2Relations(t, s, { relationHeads: 3, causal: true, mask: undefined }).dispose();
  const terms = miniLMv2Terms(t, s, { relationHeads: 1 });
  tf.dispose([terms.queryQuery, terms.keyKey, terms.valueValue]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([t, s].flatMap((m) => [m.queries, m.keys, m.values]));
});

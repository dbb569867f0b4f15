import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import {
  akl64,
  binaryKLNorm64,
  ce64,
  deltaKD64,
  dist64,
  dkd64,
  dkdParts64,
  hellinger64,
  hinton64,
  logSoftmax64,
  nkd64,
  numericGradient,
  pld64,
  randomRows,
  rowDivergence64,
  type Rows64,
  sinkhorn64,
  standardize64,
} from "../../tests/reference/losses64.ts";
import {
  adaptiveKL,
  ctkd,
  ctkdLambda,
  CTKDTemperature,
  ctkdTemperatureOf,
  deltaKD,
  dist,
  dkd,
  dkdParts,
  dualHeadKD,
  F_GENERATORS,
  fDivergence,
  getLoss,
  hintonKD,
  lossNames,
  miniLMAttention,
  miniLMv2Relations,
  MINIMAL_HEAD_WIDTHS,
  MINIMAL_MAP_CHANNELS,
  minimalConfig,
  nkd,
  pearsonCorrelation,
  pld,
  psKDTargets,
  sinKD,
  sinkhornKD,
  softTargetCrossEntropy,
  standardizeLogits,
} from "./mod.ts";

await tf.setBackend("cpu");

const N = 5, C = 6;
const teacher = randomRows(N, C, 21, 4);
const student = randomRows(N, C, 22, 3);
const aux = randomRows(N, C, 23, 3);
const labels = [0, 3, 5, 2, 3];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

interface Case {
  name: string;
  /** tfjs loss of the student logits (teacher, labels fixed). */
  loss: (s: tf.Tensor2D) => tf.Scalar;
  /** float64 reference of the same loss. */
  ref: (s: Rows64) => number;
}

const perRow = (f: (t: number[], s: number[], y: number, i: number) => number) => (s: Rows64) =>
  mean(s.map((row, i) => f(teacher[i], row, labels[i], i)));

const t2 = () => tf.tensor2d(teacher);
const cases: Case[] = [
  {
    name: "hintonKD (T=4, CE 0.1, KD 0.9)",
    loss: (s) => hintonKD(t2(), s, { labels, ceWeight: 0.1, kdWeight: 0.9 }),
    ref: perRow((t, s, y) => hinton64(t, s, y, 4, 0.1, 0.9)),
  },
  {
    name: "hintonKD with logit standardization (T=2, CE 0.1, KD 9)",
    loss: (s) =>
      hintonKD(t2(), s, { labels, ceWeight: 0.1, kdWeight: 9, temperature: 2, standardize: true }),
    ref: perRow((t, s, y) =>
      0.1 * ce64(s, y) + 9 * 4 * rowDivergence64.fkl(standardize64(t), standardize64(s), 2)
    ),
  },
  {
    name: "dist (τ=1, β=γ=1, CE 1: the released defaults)",
    loss: (s) => dist(t2(), s, { labels }),
    ref: (s) => dist64(teacher, s, labels, 1, 1, 1, 1),
  },
  {
    name: "dist (τ=4, β=2, γ=0.5, no CE)",
    loss: (s) => dist(t2(), s, { temperature: 4, beta: 2, gamma: 0.5, ceWeight: 0 }),
    ref: (s) => dist64(teacher, s, labels, 4, 2, 0.5, 0),
  },
  {
    name: "dist with a mask (rows 1 and 3 dropped from both relations and the CE)",
    loss: (s) => dist(t2(), s, { labels, temperature: 2, mask: tf.tensor1d([1, 0, 1, 0, 1]) }),
    ref: (s) => dist64(teacher, s, labels, 2, 1, 1, 1, [true, false, true, false, true]),
  },
  {
    name: "dkd (α=1, β=8, T=4, warm-up 5/20)",
    loss: (s) => dkd(t2(), s, { labels, epoch: 5 }),
    ref: perRow((t, s, y) => dkd64(t, s, y, 4, 1, 8, 1, 5 / 20)),
  },
  {
    name: "dkd (α=0.5, β=2, T=1)",
    loss: (s) => dkd(t2(), s, { labels, alpha: 0.5, beta: 2, temperature: 1 }),
    ref: perRow((t, s, y) => dkd64(t, s, y, 1, 0.5, 2, 1, 1)),
  },
  {
    name: "nkd (T=1, γ=1.5)",
    loss: (s) => nkd(t2(), s, { labels }),
    ref: perRow((t, s, y) => nkd64(t, s, y, 1, 1.5, 1)),
  },
  {
    name: "nkd (T=3, γ=3.5)",
    loss: (s) => nkd(t2(), s, { labels, temperature: 3, gamma: 3.5 }),
    ref: perRow((t, s, y) => nkd64(t, s, y, 3, 3.5, 1)),
  },
  {
    name: "pld (τ=1)",
    loss: (s) => pld(t2(), s, { labels }),
    ref: perRow((t, s, y) => pld64(t, s, y, 1)),
  },
  {
    name: "pld (τ=4)",
    loss: (s) => pld(t2(), s, { labels, temperature: 4 }),
    ref: perRow((t, s, y) => pld64(t, s, y, 4)),
  },
  {
    name: "sinkhornKD (T=2, ε=0.1, 20 its)",
    loss: (s) => sinkhornKD(t2(), s),
    ref: (s) => sinkhorn64(teacher, s, 2, 0.1, 20),
  },
  {
    name: "sinkhornKD (T=1, ε=0.5, 5 its)",
    loss: (s) => sinkhornKD(t2(), s, { temperature: 1, epsilon: 0.5, iterations: 5 }),
    ref: (s) => sinkhorn64(teacher, s, 1, 0.5, 5),
  },
  {
    name: "sinKD (α=0.9, τ=3.5, β=0.1)",
    loss: (s) => sinKD(t2(), s, { labels }),
    ref: (s) =>
      0.9 * perRow((t, row) => {
          const p = logSoftmax64(t, 3.5).map(Math.exp);
          const q = logSoftmax64(row, 3.5);
          return -p.reduce((a, pi, j) => a + pi * q[j], 0);
        })(s) +
      0.1 * perRow((_t, row, y) => ce64(row, y))(s) + 0.1 * sinkhorn64(teacher, s, 2, 0.1, 20),
  },
  {
    name: "dualHeadKD (aux head gradient)",
    loss: (a) => dualHeadKD(t2(), tf.tensor2d(student), { auxLogits: a, labels, alpha: 0.5 }),
    ref: (a) =>
      mean(
        a.map((row, i) => ce64(student[i], labels[i]) + 0.5 * binaryKLNorm64(teacher[i], row, 2)),
      ),
  },
  {
    name: "adaptiveKL (μ=0.5)",
    loss: (s) => adaptiveKL(t2(), s),
    ref: perRow((t, s) => akl64(t, s, 1, 0.5)),
  },
  {
    name: "adaptiveKL (μ=0.3, T=2)",
    loss: (s) => adaptiveKL(t2(), s, { mu: 0.3, temperature: 2 }),
    ref: perRow((t, s) => akl64(t, s, 2, 0.3)),
  },
  {
    name: "deltaKD (κ=1, T=1)",
    loss: (s) =>
      deltaKD(t2(), s, {
        teacherBaseLogits: tf.tensor2d(aux),
        studentBaseLogits: tf.tensor2d(student),
      }),
    ref: (s) => mean(s.map((row, i) => deltaKD64(teacher[i], aux[i], student[i], row, 1, 1))),
  },
  {
    name: "deltaKD (κ=0.5, T=2)",
    loss: (s) =>
      deltaKD(t2(), s, {
        teacherBaseLogits: tf.tensor2d(aux),
        studentBaseLogits: tf.tensor2d(student),
        kappa: 0.5,
        temperature: 2,
      }),
    ref: (s) => mean(s.map((row, i) => deltaKD64(teacher[i], aux[i], student[i], row, 0.5, 2))),
  },
  {
    name: "ctkd at a fixed T=3",
    loss: (s) => ctkd(t2(), s, { temperature: 3, labels }),
    ref: perRow((t, s, y) => 0.1 * ce64(s, y) + 0.9 * 9 * rowDivergence64.fkl(t, s, 3)),
  },
  {
    name: "fDivergence(hellinger)",
    loss: (s) => fDivergence(F_GENERATORS.hellinger)(t2(), s, { temperature: 2 }),
    ref: perRow((t, s) => hellinger64(t, s, 2)),
  },
  {
    name: "fDivergence(kl) = forward KL",
    loss: (s) => fDivergence(F_GENERATORS.kl)(t2(), s),
    ref: perRow((t, s) => rowDivergence64.fkl(t, s, 1)),
  },
];

for (const backend of ["cpu", "wasm"]) {
  for (const c of cases) {
    Deno.test(`${c.name}: known answer and finite-difference gradient against float64 (${backend})`, async () => {
      await initBackend(backend, { log: false });
      try {
        checkCase(c);
      } finally {
        await initBackend("cpu", { log: false });
      }
    });
  }
}

function checkCase(c: Case): void {
  {
    const input = c.name.startsWith("dualHeadKD") ? aux : student;
    tf.tidy(() => close(c.loss(tf.tensor2d(input)).dataSync()[0], c.ref(input), 2e-5, "value"));
    const numeric = numericGradient(c.ref, input).flat();
    const grad = tf.tidy(() =>
      tf.grad((s: tf.Tensor) => c.loss(s as tf.Tensor2D))(tf.tensor2d(input)).dataSync()
    );
    numeric.forEach((n, i) => close(grad[i], n, 2e-4, `grad[${i}]`));
  }
}

Deno.test("DKD parts: KD = TCKD + (1 − p_y)·NCKD, and they match float64", () => {
  tf.tidy(() => {
    const { tckd, nckd } = dkdParts(
      tf.tensor2d(teacher),
      tf.tensor2d(student),
      tf.tensor1d(labels, "int32"),
      2,
    );
    const [tc, nc] = [tckd.dataSync(), nckd.dataSync()];
    teacher.forEach((t, i) => {
      const ref = dkdParts64(t, student[i], labels[i], 2);
      close(tc[i], ref.tckd, 1e-5, "tckd");
      close(nc[i], ref.nckd, 1e-5, "nckd");
      const py = Math.exp(-ce64(t.map((v) => v / 2), labels[i]));
      close(
        ref.tckd + (1 - py) * ref.nckd,
        rowDivergence64.fkl(t, student[i], 2),
        1e-10,
        "identity",
      );
    });
  });
});

Deno.test("DKD with a confident teacher (logit gap 60) stays finite", () => {
  tf.tidy(() => {
    const t = tf.tensor2d([[60, 0, 0, 0], [0, 0, -60, 0]]);
    const s = tf.tensor2d([[1, 2, 3, 4], [4, 3, 2, 1]]);
    const g = tf.grad((x: tf.Tensor) => dkd(t, x, { labels: [0, 2], temperature: 1 }))(s)
      .dataSync();
    assert.ok(Array.from(g).every(Number.isFinite));
  });
});

Deno.test("PS-KD targets and soft-target cross-entropy", () => {
  tf.tidy(() => {
    const prev = tf.softmax(tf.tensor2d(teacher));
    const targets = psKDTargets(labels, prev as tf.Tensor2D, 1, 4); // α = 0.8·2/4 = 0.4
    const p = prev.arraySync() as number[][];
    const want = p.map((row, i) => row.map((v, c) => 0.6 * (c === labels[i] ? 1 : 0) + 0.4 * v));
    targets.arraySync().flat().forEach((v, i) => close(v, want.flat()[i], 1e-6, "target"));
    const ce = softTargetCrossEntropy(targets, tf.tensor2d(student)).dataSync()[0];
    const ref = mean(student.map((row, i) => {
      const l = row.map((v) => v - Math.log(row.reduce((a, x) => a + Math.exp(x), 0)));
      return -want[i].reduce((a, w, c) => a + w * l[c], 0);
    }));
    close(ce, ref, 1e-5, "soft CE");
    assert.throws(
      () => psKDTargets(labels, prev as tf.Tensor2D, 4, 4),
      /epoch must be an integer in \[0, 4\)/,
    );
  });
});

Deno.test("CTKD: λ schedule, gradient reversal flips θ's gradient", () => {
  close(ctkdLambda(0), 0, 1e-12, "λ(0)");
  close(ctkdLambda(5), -0.5, 1e-12, "λ(5)");
  assert.equal(ctkdLambda(12), -1);
  const temp = new CTKDTemperature();
  close(temp.value(), 1 + 20 / (1 + Math.exp(-1)), 1e-6, "initial T ≈ 15.6");
  close(ctkdTemperatureOf(0), 11, 1e-12, "T(θ = 0) = 1 + 20/2");
  close(ctkdTemperatureOf(-40, 2, 10), 2, 1e-12, "T → tStart as θ → −∞");
  assert.throws(() => ctkdTemperatureOf(NaN), /theta must be finite/);
  const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
  const gradAt = (lambda: number) =>
    tf.tidy(() =>
      tf.variableGrads(() => ctkd(t, s, { temperature: temp.temperature(lambda), labels }))
        .grads[temp.theta.name]
        .dataSync()[0]
    );
  const plain = gradAt(1), reversed = gradAt(-1);
  assert.ok(Math.abs(plain) > 0);
  close(reversed, -plain, 1e-6, "reversed gradient");
  tf.dispose([t, s]);
  temp.dispose();
});

/** Last-layer attention of a [1, 2, N, N] "teacher" and "student" (MiniLM(v2)'s inputs). */
function attentionInputs(causal = false) {
  const layer = (seed: number, d: number) => ({
    probabilities: tf.softmax(tf.randomNormal([1, 2, N, N], 0, 1, "float32", seed)),
    values: tf.randomNormal([1, 2, N, d], 0, 1, "float32", seed + 1),
    queries: tf.randomNormal([1, 2, N, d], 0, 1, "float32", seed + 2),
    keys: tf.randomNormal([1, 2, N, d], 0, 1, "float32", seed + 3),
    causal,
  });
  return { teacherAttention: layer(1, 4), studentAttention: layer(3, 2) };
}

Deno.test("registry: minilm is MiniLM's loss, plus CE when asked; its inputs are checked", () => {
  tf.tidy(() => {
    const inputs = {
      ...attentionInputs(),
      studentLogits: tf.tensor2d(student),
      labels: tf.tensor1d(labels, "int32"),
    };
    const { teacherAttention: t, studentAttention: s } = inputs;
    const transfer = miniLMAttention(t.probabilities, s.probabilities, t.values, s.values, {
      valueWeight: 0.5,
    }).dataSync()[0];
    const minilm = getLoss("minilm", { valueWeight: 0.5 });
    assert.equal(minilm.needsAttention, "heads");
    close(minilm.loss(inputs).dataSync()[0], transfer, 1e-6, "minilm = L_AT + 0.5·L_VR");
    const ce = mean(student.map((row, i) => ce64(row, labels[i])));
    close(
      getLoss("minilm", { valueWeight: 0.5, ceWeight: 0.25 }).loss(inputs).dataSync()[0],
      transfer + 0.25 * ce,
      1e-5,
      "+ 0.25·CE",
    );
    assert.throws(() => minilm.loss({ studentLogits: tf.tensor2d(student) }), /teacherAttention/);
    assert.throws(
      () => minilm.loss({ ...inputs, studentAttention: { ...s, causal: true } }),
      /both be causal or both not/,
    );
    assert.throws(() => minilm.loss({ ...inputs, mask: tf.ones([N]) }), /mask is not supported/);
    assert.throws(() => getLoss("minilm", { ceWeight: -1 }), /ceWeight must be a number/);
    assert.throws(() => getLoss("minilm", { valueWeight: NaN }), /valueWeight must be a number/);
    assert.equal(minilm.teacherLayer, undefined, "the teacher's last layer by default");
    assert.equal(getLoss("minilm", { teacherLayer: 2 }).teacherLayer, 2);
    for (const bad of [0, -1, 1.5, "2"]) {
      assert.throws(
        () => getLoss("minilm", { teacherLayer: bad }),
        /minilm: config.teacherLayer must be a layer number from 1/,
      );
    }
  });
});

Deno.test("registry: minilmv2 is MiniLMv2's loss, plus CE when asked; its config and inputs are checked", () => {
  tf.tidy(() => {
    const inputs = {
      ...attentionInputs(true),
      studentLogits: tf.tensor2d(student),
      labels: tf.tensor1d(labels, "int32"),
    };
    const { teacherAttention: t, studentAttention: s } = inputs;
    const relations = miniLMv2Relations(t, s, { relationHeads: 2, causal: true, keyWeight: 0.5 })
      .dataSync()[0];
    const v2 = getLoss("minilmv2", { relationHeads: 2, keyWeight: 0.5 });
    assert.equal(v2.needsAttention, "relations");
    close(v2.loss(inputs).dataSync()[0], relations, 1e-6, "minilmv2 = QQ + 0.5·KK + VV");
    const ce = mean(student.map((row, i) => ce64(row, labels[i])));
    close(
      getLoss("minilmv2", { relationHeads: 2, keyWeight: 0.5, ceWeight: 0.25 }).loss(inputs)
        .dataSync()[0],
      relations + 0.25 * ce,
      1e-5,
      "+ 0.25·CE",
    );
    assert.equal(getLoss("minilmv2", { relationHeads: 2, teacherLayer: 3 }).teacherLayer, 3);
    assert.throws(
      () => getLoss("minilmv2", { relationHeads: 2, teacherLayer: 0 }),
      /minilmv2: config.teacherLayer must be a layer number from 1/,
    );
    assert.throws(() => getLoss("minilmv2"), /relationHeads must be a positive integer/);
    assert.throws(() => getLoss("minilmv2", { relationHeads: 1.5 }), /relationHeads must be/);
    assert.throws(
      () => getLoss("minilmv2", { relationHeads: 2, queryWeight: -1 }),
      /queryWeight must be a number/,
    );
    assert.throws(
      () => getLoss("minilmv2", { relationHeads: 3 }).loss(inputs),
      /relationHeads 3 must divide the teacher's H·d_h = 2·4 = 8/,
    );
    assert.throws(
      () => v2.loss({ ...inputs, studentAttention: { ...s, queries: undefined } }),
      /with queries and keys are required/,
    );
    assert.throws(
      () => v2.loss({ ...inputs, studentAttention: { ...s, causal: false } }),
      /both be causal or both not/,
    );
    assert.throws(() => v2.loss({ ...inputs, mask: tf.ones([N]) }), /mask is not supported/);
  });
});

/** A rollout for MiniLLM's objective: old log-probabilities, importance weights, advantages. */
const rolloutInputs = (n: number) => ({
  oldLogProbs: tf.fill([n], -1.5),
  weights: tf.linspace(0.8, 1.2, n),
  advantages: tf.linspace(-1, 1, n),
});

Deno.test("registry: every name builds and computes a finite loss; unknown names/keys are errors", () => {
  const names = Object.keys(lossNames());
  for (
    const name of [
      "sft",
      "fkl",
      "rkl",
      "tvd",
      "gjsd",
      "skl",
      "srkl",
      "akl",
      "kd",
      "dist",
      "dkd",
      "nkd",
      "pld",
      "sinkhorn",
      "dual_head",
      "ctkd",
      "delta_kd",
      "taid",
      "ps_kd",
      "minilm",
      "minilmv2",
      "minillm",
      "fdistill",
      "sparse_kd",
      "fitnet",
      "rkd",
      "sp",
      "pkt",
      "crd",
      "crd_nce",
      "at",
      "cc",
      "vid",
      "nst",
      "vid_maps",
      "fitnet_maps",
      "ft",
      "ab",
      "fsp",
    ]
  ) {
    assert.ok(names.includes(name), name);
  }
  for (const name of names) {
    const objective = getLoss(name, minimalConfig(name));
    const value = tf.tidy(() =>
      objective.loss({
        teacherLogits: tf.tensor2d(teacher),
        studentLogits: tf.tensor2d(student),
        labels: tf.tensor1d(labels, "int32"),
        auxLogits: tf.tensor2d(aux),
        teacherBaseLogits: tf.tensor2d(aux),
        studentBaseLogits: tf.tensor2d(student),
        ...(objective.needsAttention ? attentionInputs() : {}),
        ...(objective.needsRollout ? { rollout: rolloutInputs(labels.length) } : {}),
        ...(objective.needsSamples
          ? { studentRows: tf.tensor1d(labels.map((_, i) => i % 2)) }
          : {}),
        ...(objective.needsFeatures
          ? {
            teacherFeatures: tf.tensor2d(randomRows(N, MINIMAL_HEAD_WIDTHS.teacherDim, 41)),
            studentFeatures: tf.tensor2d(randomRows(N, MINIMAL_HEAD_WIDTHS.studentDim, 42)),
          }
          : {}),
        ...(objective.needsExampleIds ? { exampleIds: tf.tensor1d([0, 1, 2, 3, 4], "int32") } : {}),
        ...(objective.needsMaps
          ? {
            studentMaps: [
              tf.randomUniform(
                [N, 4, 4, MINIMAL_MAP_CHANNELS.studentChannels[0]],
                0,
                1,
                "float32",
                43,
              ),
            ],
            teacherMapTargets: objective.teacherMapTargets!([
              tf.randomUniform(
                [N, 4, 4, MINIMAL_MAP_CHANNELS.teacherChannels[0]],
                0,
                1,
                "float32",
                44,
              ),
            ]),
          }
          : {}),
        ...(objective.needsTargets
          ? {
            teacherTargets: {
              ids: tf.tensor2d(labels.map((y) => [y, 0]), [labels.length, 2], "int32"),
              probs: tf.tensor2d(labels.map(() => [0.75, 0.25])),
            },
          }
          : {}),
      }).dataSync()[0]
    );
    assert.ok(Number.isFinite(value), `${name}: ${value}`);
    objective.dispose?.();
    objective.variables?.().forEach((v) => v.isDisposed || v.dispose());
  }
  assert.throws(() => getLoss("kl2"), /unknown objective "kl2"; registered: sft, fkl/);
  assert.throws(
    () => getLoss("fkl", { beta: 1 }),
    /"fkl" takes temperature, chunkElements; got "beta"/,
  );
  assert.throws(() => getLoss("taid", {}), /totalSteps must be a positive integer/);
});

Deno.test("registry: TAID's objective moves t on the device through observe and checkpoints it", async () => {
  const taid = getLoss("taid", { totalSteps: 10 });
  const logged: number[] = [];
  for (let k = 0; k < 3; k++) {
    const loss = tf.scalar(2 - k * 0.1);
    const fields = taid.observe!({ loss, step: k }) as Record<string, tf.Tensor>;
    logged.push((await fields.t.data())[0]);
    tf.dispose([loss, ...Object.values(fields)]);
  }
  const state = await taid.state!() as { t: number; step: number };
  close(state.t, 0.52, 1e-6, "linear floor at k=2");
  assert.deepEqual(logged, [Math.fround(0.4), Math.fround(0.46), Math.fround(0.52)]);
  assert.equal(state.step, 3);
  const other = getLoss("taid", { totalSteps: 10 });
  other.load!(state);
  assert.deepEqual(await other.state!(), state);
  taid.dispose!();
  other.dispose!();
});

Deno.test("classification bad input: labels missing, out of range, wrong length", () => {
  tf.tidy(() => {
    const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
    assert.throws(() => dkd(t, s), /dkd: options.labels is required/);
    assert.throws(
      () => nkd(t, s, { labels: [0, 1, 2, 3, 6] }),
      /labels\[4\] = 6 is not a class id in \[0, 6\)/,
    );
    assert.throws(() => pld(t, s, { labels: [0, 1] }), /labels must be \[5\]/);
    assert.throws(() => dualHeadKD(t, s, { labels }), /auxLogits/);
    assert.throws(
      () => sinkhornKD(tf.tensor2d([teacher[0]]), tf.tensor2d([student[0]])),
      /at least 2 rows/,
    );
    assert.throws(() => adaptiveKL(t, s, { mu: 1 }), /mu must be a number/);
    assert.throws(
      () => deltaKD(t, s, {}),
      /teacherBaseLogits and options.studentBaseLogits are required/,
    );
  });
});

Deno.test("DIST: invariances, perfect relations and bad input", () => {
  tf.tidy(() => {
    const value = (t: number[][], s: number[][], o = {}) =>
      dist(tf.tensor2d(t), tf.tensor2d(s), { ceWeight: 0, ...o }).dataSync()[0];
    // The same predictions: every correlation is 1, so both relations are 0.
    close(value(teacher, teacher), 0, 1e-6, "identical logits");
    // A constant shift of a row's logits leaves its softmax, hence the loss, unchanged.
    const shifted = student.map((row, i) => row.map((v) => v + 3 * i));
    close(value(teacher, shifted), value(teacher, student), 1e-6, "shifted rows");
    // Perfectly anti-correlated rows and columns: 1 − ρ = 2 for each (two classes, τ = 1).
    const t = [[1, 0], [0, 1]], s = [[0, 1], [1, 0]];
    close(value(t, s), 2 + 2, 1e-5, "anti-correlated");
    // A constant (uniform) student row has ρ = 0 and a finite gradient.
    const flat = [[0, 0, 0], [0, 0, 0]];
    close(value([[1, 2, 3], [3, 1, 2]], flat, { gamma: 0 }), 1, 1e-6, "uniform student");
    const g = tf.grad((x: tf.Tensor) =>
      dist(tf.tensor2d([[1, 2, 3], [3, 1, 2]]), x, { ceWeight: 0 })
    )(tf.tensor2d(flat)).dataSync();
    assert.ok(g.every(Number.isFinite), `finite gradient at a uniform student: ${g}`);
  });
  assert.throws(
    () => dist(tf.tensor2d([teacher[0]]), tf.tensor2d([student[0]]), { ceWeight: 0 }),
    /needs at least 2 rows, got 1 \(or set gamma to 0\)/,
  );
  const one = tf.tidy(() =>
    dist(tf.tensor2d([teacher[0]]), tf.tensor2d([student[0]]), { ceWeight: 0, gamma: 0 })
      .dataSync()[0]
  );
  assert.ok(Number.isFinite(one));
  assert.throws(
    () => dist(tf.tensor2d(teacher), tf.tensor2d(student)),
    /dist: options.labels is required/,
  );
  assert.throws(
    () => pearsonCorrelation(tf.zeros([2, 3]), tf.zeros([2, 3]), 1, tf.ones([2])),
    /pearsonCorrelation: weight selects rows, so it applies to columns \(axis 0\) only/,
  );
  assert.throws(
    () => dist(tf.tensor2d(teacher), tf.tensor2d(student), { beta: -1 }),
    /dist: beta must be a number in \[0, Infinity\], got -1/,
  );
  assert.throws(
    () => dist(tf.tensor2d([[NaN, 0], [0, 0]]), tf.tensor2d([[0, 0], [0, 0]]), { ceWeight: 0 }),
    /dist: teacherLogits contain NaN or Inf/,
  );
});

Deno.test("logit standardization: Z-scores, invariances of standardized KD, bad input", () => {
  tf.tidy(() => {
    const z = standardizeLogits(tf.tensor2d(teacher)).arraySync() as number[][];
    z.forEach((row, i) =>
      row.forEach((v, j) => close(v, standardize64(teacher[i])[j], 1e-5, `z[${i}][${j}]`))
    );
    // Standardized KD ignores each model's logit scale and offset: only their relations count.
    const kd = (s: number[][]) =>
      hintonKD(tf.tensor2d(teacher), tf.tensor2d(s), { temperature: 2, standardize: true })
        .dataSync()[0];
    const rescaled = student.map((row, i) => row.map((v) => (i + 1) * 5 * v - 7));
    close(kd(rescaled), kd(student), 1e-4, "rescaled student");
    close(kd(teacher.map((row) => row.map((v) => 0.1 * v + 2))), 0, 1e-6, "rescaled teacher");
    // Without it, KD does see the scale.
    const plain = (s: number[][]) =>
      hintonKD(tf.tensor2d(teacher), tf.tensor2d(s), { temperature: 2 }).dataSync()[0];
    assert.ok(Math.abs(plain(rescaled) - plain(student)) > 0.1);
  });
  assert.throws(() => standardizeLogits(tf.zeros([3, 1])), /at least 2 classes.*\[3,1\]/);
  assert.throws(
    () => hintonKD(tf.zeros([2, 3]), tf.zeros([2, 3]), { standardize: 1 as unknown as boolean }),
    /hintonKD: standardize must be true or false, got 1/,
  );
  assert.throws(() => getLoss("kd", { standardise: true }), /takes .*standardize/);
});

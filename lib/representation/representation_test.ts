import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import {
  ce64,
  hinton64,
  numericGradient,
  randomRows,
  type Rows64,
} from "../../tests/reference/losses64.ts";
import { getLoss } from "../losses/mod.ts";
import {
  cc64,
  crd64,
  hint64,
  nce64,
  nceNormalizer64,
  pkt64,
  rkd64,
  sp64,
  vid64,
} from "../../tests/reference/representation64.ts";
import {
  ContrastiveRepresentation,
  ContrastMemory,
  correlationCongruence,
  correlationMatrix,
  FitNetHint,
  nceContrastLoss,
  nceNormalizer,
  probabilisticKT,
  relationalKD,
  similarityPreserving,
  symmetricInfoNCE,
  VariationalInformation,
} from "./mod.ts";
import { stopGradient } from "../losses/log_mix.ts";

await tf.setBackend("cpu");

const B = 6, DT = 5, DS = 3;
const teacher = randomRows(B, DT, 31, 2);
const student = randomRows(B, DS, 32, 1.5);
const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);
const rows = (v: tf.Tensor): Rows64 => v.arraySync() as Rows64;

interface Case {
  name: string;
  /** tfjs loss of the student features (teacher fixed). */
  loss: (s: tf.Tensor2D) => tf.Scalar;
  /** float64 reference of the same loss. */
  ref: (s: Rows64) => number;
  /** The trainable heads, when the loss has some (their gradients are checked too). */
  heads?: () => { params: Record<string, tf.Variable>; ref: (p: Record<string, Rows64>) => number };
}

const hint = () => new FitNetHint({ studentDim: DS, teacherDim: DT, seed: 5 });
// A small initial variance, so that the regressor's error weighs as much as log σ² in the checks.
const vid = () =>
  new VariationalInformation({ studentDim: DS, teacherDim: DT, seed: 7, initialVariance: 0.7 });
const crd = () =>
  new ContrastiveRepresentation({
    studentDim: DS,
    teacherDim: DT,
    embedDim: 4,
    seed: 6,
    temperature: 0.5,
  });
/** A head's variables as float64 rows (a bias as one row). */
const hostParams = (params: Record<string, tf.Variable>) =>
  Object.fromEntries(
    Object.entries(params).map((
      [k, v],
    ) => [k, v.rank === 1 ? [Array.from(v.dataSync())] : rows(v)]),
  );
const crdRef = (t: Rows64, s: Rows64, p: Record<string, Rows64>, tau: number) =>
  crd64(t, s, {
    ws: p["crd.student.w"],
    bs: p["crd.student.b"][0],
    wt: p["crd.teacher.w"],
    bt: p["crd.teacher.b"][0],
  }, tau);

const t2 = () => tf.tensor2d(teacher);
const cases: Case[] = [
  {
    name: "relationalKD (w_D = 25, w_A = 50)",
    loss: (s) => relationalKD(t2(), s),
    ref: (s) => rkd64(teacher, s, 25, 50),
  },
  {
    name: "relationalKD, distances alone (w_D = 1, w_A = 0)",
    loss: (s) => relationalKD(t2(), s, { distanceWeight: 1, angleWeight: 0 }),
    ref: (s) => rkd64(teacher, s, 1, 0),
  },
  {
    name: "relationalKD, angles alone (w_D = 0, w_A = 1)",
    loss: (s) => relationalKD(t2(), s, { distanceWeight: 0, angleWeight: 1 }),
    ref: (s) => rkd64(teacher, s, 0, 1),
  },
  {
    name: "similarityPreserving",
    loss: (s) => similarityPreserving(t2(), s),
    ref: (s) => sp64(teacher, s),
  },
  {
    name: "probabilisticKT",
    loss: (s) => probabilisticKT(t2(), s),
    ref: (s) => pkt64(teacher, s),
  },
  {
    name: "correlationCongruence (γ = 0.4, P = 2)",
    loss: (s) => correlationCongruence(t2(), s),
    ref: (s) => cc64(teacher, s, 0.4, 2),
  },
  {
    name: "correlationCongruence (γ = 1.5, P = 5)",
    loss: (s) => correlationCongruence(t2(), s, { gamma: 1.5, order: 5 }),
    ref: (s) => cc64(teacher, s, 1.5, 5),
  },
  (() => {
    const v = vid();
    const p = hostParams(v.params);
    const head = (q: Record<string, Rows64>) => ({
      w1: q["vid.w1"],
      w2: q["vid.w2"],
      w3: q["vid.w3"],
      alpha: q["vid.alpha"][0],
    });
    return {
      name: "VariationalInformation",
      loss: (s: tf.Tensor2D) => v.loss(t2(), s),
      ref: (s: Rows64) => vid64(teacher, s, head(p)),
      heads: () => ({
        params: v.params,
        ref: (q: Record<string, Rows64>) => vid64(teacher, student, head(q)),
      }),
    };
  })(),
  (() => {
    const h = hint();
    const p = hostParams(h.params);
    return {
      name: "FitNetHint",
      loss: (s: tf.Tensor2D) => h.loss(t2(), s),
      ref: (s: Rows64) => hint64(teacher, s, p["hint.w"], p["hint.b"][0]),
      heads: () => ({
        params: h.params,
        ref: (q: Record<string, Rows64>) => hint64(teacher, student, q["hint.w"], q["hint.b"][0]),
      }),
    };
  })(),
  (() => {
    const c = crd();
    const p = hostParams(c.params);
    return {
      name: "ContrastiveRepresentation (in-batch, τ = 0.5)",
      loss: (s: tf.Tensor2D) => c.loss(t2(), s),
      ref: (s: Rows64) => crdRef(teacher, s, p, 0.5),
      heads: () => ({
        params: c.params,
        ref: (q: Record<string, Rows64>) => crdRef(teacher, student, q, 0.5),
      }),
    };
  })(),
];

function checkCase(c: Case): void {
  tf.tidy(() => close(c.loss(tf.tensor2d(student)).dataSync()[0], c.ref(student), 2e-5, "value"));
  const numeric = numericGradient(c.ref, student).flat();
  const grad = tf.tidy(() =>
    tf.grad((s: tf.Tensor) => c.loss(s as tf.Tensor2D))(tf.tensor2d(student)).dataSync()
  );
  numeric.forEach((n, i) => close(grad[i], n, 3e-4, `grad[${i}]`));
  if (!c.heads) return;
  const { params, ref } = c.heads();
  const host = hostParams(params);
  const { grads, value } = tf.variableGrads(
    () => c.loss(tf.tensor2d(student)),
    Object.values(params),
  );
  value.dispose();
  for (const [name, v] of Object.entries(params)) {
    const numericHead = numericGradient((x) => ref({ ...host, [name]: x }), host[name]).flat();
    const g = grads[v.name].dataSync();
    numericHead.forEach((n, i) => close(g[i], n, 3e-4, `${name} grad[${i}]`));
  }
  Object.values(grads).forEach((g) => g.dispose());
}

for (const backend of ["cpu", "wasm"]) {
  for (const c of cases) {
    Deno.test(`${c.name}: known answer and finite-difference gradients against float64 (${backend})`, async () => {
      await initBackend(backend, { log: false });
      try {
        checkCase(c);
      } finally {
        await initBackend("cpu", { log: false });
      }
    });
  }
}

const value = (x: tf.Scalar) => {
  const v = x.dataSync()[0];
  x.dispose();
  return v;
};

Deno.test("relational losses: zero for the teacher's own features, scaled, rotated, widened", () => {
  tf.tidy(() => {
    const t = t2();
    // An orthogonal map (a Householder reflection) of the 5-d features, times 3, plus padding.
    const u = tf.tensor2d([[1, 2, 0, -1, 1]]).div(Math.sqrt(7));
    const reflect = tf.sub(tf.eye(DT), tf.mul(2, tf.matMul(u, u, true, false)));
    const moved = tf.concat([tf.mul(3, tf.matMul(t, reflect)), tf.zeros([B, 2])], 1);
    close(value(relationalKD(t, moved)), 0, 1e-5, "rkd");
    // SP and PKT are not translation invariant but are invariant to scale and rotation.
    close(value(similarityPreserving(t, moved)), 0, 1e-6, "sp");
    close(value(probabilisticKT(t, moved)), 0, 1e-6, "pkt");
    close(value(correlationCongruence(t, moved)), 0, 1e-6, "cc");
    // RKD is translation invariant too.
    close(value(relationalKD(t, tf.add(t, tf.fill([B, DT], 7)))), 0, 1e-5, "rkd shift");
    assert.ok(value(similarityPreserving(t, tf.add(t, 7))) > 1e-3, "sp sees a shift");
  });
});

Deno.test("relational losses: finite values and gradients with a zero row and coincident rows", () => {
  tf.tidy(() => {
    const s = tf.tensor2d([[0, 0, 0], [1, 2, 3], [1, 2, 3], [0.5, -1, 2]]);
    const t = tf.tensor2d([[0, 1], [0, 0], [2, 1], [2, 1]]);
    for (const f of [relationalKD, similarityPreserving, probabilisticKT, correlationCongruence]) {
      const g = tf.grad((x: tf.Tensor) => f(t, x))(s).dataSync();
      assert.ok(g.every(Number.isFinite), `${f.name} gradient ${g}`);
      assert.ok(Number.isFinite(value(f(t, s))), f.name);
    }
  });
});

Deno.test("correlationMatrix: the Taylor series tends to the RBF kernel on unit rows; P = 0 is flat", () => {
  tf.tidy(() => {
    const f = tf.tensor2d(student);
    const gamma = 0.7;
    const u = student.map((r) => r.map((v) => v / Math.hypot(...r)));
    const rbf = u.map((a) =>
      u.map((b) => Math.exp(-gamma * a.reduce((x, v, k) => x + (v - b[k]) ** 2, 0)))
    );
    const series = correlationMatrix(f, { gamma, order: 20 }).arraySync();
    series.flat().forEach((v, i) => close(v, rbf.flat()[i], 1e-6, `ψ[${i}]`));
    // Order 2 is an approximation: on the diagonal (cos = 1) it is e^{−2γ}(1 + 2γ + 2γ²), not 1.
    const second = correlationMatrix(f, { gamma, order: 2 }).arraySync();
    const diagonal = Math.exp(-2 * gamma) * (1 + 2 * gamma + 2 * gamma ** 2);
    second.forEach((row, i) => close(row[i], diagonal, 1e-6, `ψ₂[${i}][${i}]`));
    const flat = correlationMatrix(f, { gamma, order: 0 }).dataSync();
    assert.ok(flat.every((v) => Math.abs(v - Math.exp(-2 * gamma)) < 1e-7));
    close(value(correlationCongruence(t2(), f, { order: 0 })), 0, 1e-9, "P = 0 compares nothing");
  });
});

Deno.test("VariationalInformation: σ² starts at initialVariance; α's gradient vanishes at σ² = MSE", () => {
  const v = new VariationalInformation({ studentDim: DS, teacherDim: DT, seed: 2 });
  v.variance().dataSync().forEach((x) => close(x, 5, 1e-6, "default σ²"));
  v.dispose();
  const big = new VariationalInformation({
    studentDim: DS,
    teacherDim: DT,
    seed: 2,
    initialVariance: 1e4,
  });
  big.variance().dataSync().forEach((x) => close(x, 1e4, 1e-6, "large σ² (no overflow)"));
  // With σ²_n set to the mean squared error of dimension n, the likelihood is stationary in α.
  const error = tf.tidy(() =>
    tf.mean(tf.square(tf.sub(t2(), big.mean(tf.tensor2d(student)))), 0).arraySync() as number[]
  );
  const alpha = error.map((e) => Math.log(Math.expm1(e - 1e-5)));
  big.params["vid.alpha"].assign(tf.tensor1d(alpha));
  const { grads, value: loss } = tf.variableGrads(
    () => big.loss(t2(), tf.tensor2d(student)),
    [big.params["vid.alpha"]],
  );
  const g = grads[big.params["vid.alpha"].name].dataSync();
  assert.ok(g.every((x) => Math.abs(x) < 1e-6), `∂L/∂α at σ² = MSE: ${g}`);
  // ... and the loss there is ½(1 + log MSE) averaged over the dimensions.
  const expected = error.reduce((a, e) => a + 0.5 * (1 + Math.log(e)), 0) / DT;
  close(loss.dataSync()[0], expected, 1e-5, "loss at the optimum of σ²");
  tf.dispose([loss, ...Object.values(grads)]);
  big.dispose();
});

Deno.test("correlationCongruence and VariationalInformation: named errors", () => {
  const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
  assert.throws(
    () => correlationCongruence(t, s, { gamma: 0 }),
    /correlationCongruence: gamma must be a finite number > 0 \(the RBF kernel's γ\), got 0/,
  );
  assert.throws(
    () => correlationCongruence(t, s, { order: 1.5 }),
    /correlationCongruence: order must be an integer in \[0, 20\]/,
  );
  assert.throws(
    () => correlationCongruence(t.slice(0, 1), s.slice(0, 1)),
    /correlationCongruence: needs a batch of at least 2 examples/,
  );
  assert.throws(
    () => new VariationalInformation({ studentDim: DS, teacherDim: 0, seed: 1 }),
    /VariationalInformation: teacherDim must be a positive integer/,
  );
  assert.throws(
    () =>
      new VariationalInformation({ studentDim: DS, teacherDim: DT, seed: 1, initialVariance: 0 }),
    /VariationalInformation: initialVariance must be a finite number > 0.00001, got 0/,
  );
  const v = vid();
  assert.throws(
    () => v.loss(s, t),
    /VariationalInformation: the regressor maps 3 student features to 5 teacher features, got \[6,5\] and \[6,3\]/,
  );
  assert.throws(
    () => v.loss(t, tf.tensor2d([[Infinity, 0, 0], ...student.slice(1)])),
    /VariationalInformation: studentFeatures contain NaN or Inf/,
  );
  v.dispose();
  tf.dispose([t, s]);
});

Deno.test("symmetricInfoNCE: 2·log B when nothing is told apart, → 0 when the pairs are", () => {
  tf.tidy(() => {
    const same = tf.tensor2d(Array.from({ length: 4 }, () => [1, 0, 0, 0]));
    close(value(symmetricInfoNCE(same, same, 0.07)), 2 * Math.log(4), 1e-6, "uniform");
    const eye = tf.eye(4) as tf.Tensor2D;
    const sharp = value(symmetricInfoNCE(eye, eye, 0.01));
    assert.ok(sharp < 1e-30 || sharp < 1e-6, `${sharp}`);
  });
});

Deno.test("representation losses: named errors for bad shapes, tiny batches, widths, NaN", () => {
  const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
  assert.throws(
    () => relationalKD(t, s.slice(0, 4)),
    /relationalKD: teacherFeatures and studentFeatures must hold the same examples, got 6 and 4 rows/,
  );
  assert.throws(
    () => similarityPreserving(t.slice(0, 1), s.slice(0, 1)),
    /similarityPreserving: needs a batch of at least 2 examples/,
  );
  assert.throws(
    () => probabilisticKT(t.reshape([6, 5, 1]), s),
    /probabilisticKT: teacherFeatures must be \[B, d\]/,
  );
  assert.throws(
    () => relationalKD(t, s, { angleWeight: -1 }),
    /relationalKD: angleWeight must be a finite number ≥ 0, got -1/,
  );
  assert.throws(
    () => relationalKD(t, tf.tensor2d([[NaN, 0, 0], ...student.slice(1)])),
    /relationalKD: studentFeatures contain NaN or Inf/,
  );
  const h = hint();
  assert.throws(
    () => h.loss(s, t),
    /FitNetHint: the regressor maps 3 student features to 5 teacher features, got \[6,5\] and \[6,3\]/,
  );
  assert.equal(
    value(h.loss(t.slice(0, 1), s.slice(0, 1))) >= 0,
    true,
    "a hint works on one example",
  );
  h.dispose();
  assert.throws(
    () => new FitNetHint({ studentDim: 0, teacherDim: 4, seed: 1 }),
    /FitNetHint: studentDim must be a positive integer/,
  );
  assert.throws(
    () => new ContrastiveRepresentation({ studentDim: 3, teacherDim: 5, temperature: 0, seed: 1 }),
    /ContrastiveRepresentation: temperature must be a finite number > 0, got 0/,
  );
  tf.dispose([t, s]);
});

Deno.test("registry: rkd, sp, pkt, cc add their term to CE and KD with the configured weights", () => {
  const logitsT = randomRows(B, 4, 43, 3), logitsS = randomRows(B, 4, 44, 2);
  const labels = [0, 1, 2, 3, 1, 0];
  const refs: Record<string, (s: Rows64) => number> = {
    rkd: (s) => rkd64(teacher, s, 25, 50),
    sp: (s) => sp64(teacher, s),
    pkt: (s) => pkt64(teacher, s),
    cc: (s) => cc64(teacher, s, 0.4, 2),
  };
  for (const [name, ref] of Object.entries(refs)) {
    const objective = getLoss(name, { weight: 2, ceWeight: 0.3, kdWeight: 0.5, temperature: 3 });
    assert.equal(objective.needsFeatures, true);
    const got = tf.tidy(() =>
      objective.loss({
        teacherLogits: tf.tensor2d(logitsT),
        studentLogits: tf.tensor2d(logitsS),
        labels: tf.tensor1d(labels, "int32"),
        teacherFeatures: tf.tensor2d(teacher),
        studentFeatures: tf.tensor2d(student),
      }).dataSync()[0]
    );
    const logitTerms = logitsT.reduce((a, t, i) =>
      a + hinton64(t, logitsS[i], labels[i], 3, 0.3, 0.5), 0) / B;
    close(got, 2 * ref(student) + logitTerms, 2e-5, name);
    // The defaults: the benchmark's weight, CE 1, no KD.
    const plain = tf.tidy(() =>
      getLoss(name).loss({
        studentLogits: tf.tensor2d(logitsS),
        labels: tf.tensor1d(labels, "int32"),
        teacherFeatures: tf.tensor2d(teacher),
        studentFeatures: tf.tensor2d(student),
      }).dataSync()[0]
    );
    const weight = { rkd: 1, sp: 3000, pkt: 30000, cc: 100 }[name]!;
    const ce = logitsS.reduce((a, s, i) => a + ce64(s, labels[i]), 0) / B;
    close(plain, weight * ref(student) + ce, 2e-5, `${name} defaults`);
  }
});

Deno.test("registry: vid owns its regressor and variances; cc takes the kernel's γ and P", () => {
  const objective = getLoss("vid", {
    studentDim: DS,
    teacherDim: DT,
    seed: 7,
    initialVariance: 0.7,
    ceWeight: 0,
    weight: 3,
  });
  const heads = objective.variables!();
  assert.deepEqual(heads.map((v) => v.shape), [[DS, DT], [DT, DT], [DT, DT], [DT]]);
  const reference = vid();
  const head = hostParams(reference.params);
  reference.dispose();
  const inputs = {
    studentLogits: tf.zeros([B, 4]),
    teacherFeatures: tf.tensor2d(teacher),
    studentFeatures: tf.tensor2d(student),
  };
  const { grads, value: loss } = tf.variableGrads(() => objective.loss(inputs), heads);
  const expected = vid64(teacher, student, {
    w1: head["vid.w1"],
    w2: head["vid.w2"],
    w3: head["vid.w3"],
    alpha: head["vid.alpha"][0],
  });
  close(loss.dataSync()[0], 3 * expected, 2e-5, "3·VID, the same seed's head");
  assert.ok(Object.values(grads).every((g) => g.abs().sum().dataSync()[0] > 0));
  tf.dispose([loss, ...Object.values(grads), ...Object.values(inputs)]);
  objective.dispose!();
  const cc = tf.tidy(() =>
    getLoss("cc", { gamma: 1.5, order: 5, ceWeight: 0, weight: 1 }).loss({
      studentLogits: tf.zeros([B, 4]),
      teacherFeatures: tf.tensor2d(teacher),
      studentFeatures: tf.tensor2d(student),
    }).dataSync()[0]
  );
  close(cc, cc64(teacher, student, 1.5, 5), 2e-5, "cc with γ = 1.5, P = 5");
  assert.throws(
    () => getLoss("cc", { order: -1 }),
    /cc: config.order must be an integer in \[0, 20\] \(the Taylor series' P\), got -1/,
  );
  assert.throws(
    () => getLoss("vid", { studentDim: 3, teacherDim: 4 }),
    /vid: config.seed must be an integer/,
  );
});

Deno.test("registry: fitnet and crd own heads, trained as the objective's variables", () => {
  const objective = getLoss("crd", { studentDim: DS, teacherDim: DT, seed: 3, ceWeight: 0 });
  const heads = objective.variables!();
  assert.deepEqual(heads.map((v) => v.shape), [[DS, 128], [128], [DT, 128], [128]]);
  const inputs = {
    studentLogits: tf.zeros([B, 4]),
    teacherFeatures: tf.tensor2d(teacher),
    studentFeatures: tf.tensor2d(student),
  };
  const { grads, value: loss } = tf.variableGrads(() => objective.loss(inputs), heads);
  assert.ok(Object.values(grads).every((g) => g.abs().sum().dataSync()[0] > 0));
  tf.dispose([loss, ...Object.values(grads), ...Object.values(inputs)]);
  objective.dispose!();
  assert.throws(
    () => getLoss("fitnet", { studentDim: 3 }),
    /fitnet: config.teacherDim must be an integer/,
  );
  assert.throws(
    () =>
      getLoss("sp").loss({ studentLogits: tf.zeros([2, 2]), labels: tf.tensor1d([0, 1], "int32") }),
    /sp: inputs.teacherFeatures and inputs.studentFeatures are required/,
  );
  assert.throws(
    () => getLoss("pkt", { weight: -1 }),
    /pkt: config.weight must be a number in \[0, Infinity\]/,
  );
});

/** Rows scaled to unit length (embeddings live on the sphere). */
const unitRows = (rows: Rows64) =>
  rows.map((r) => {
    const n = Math.hypot(...r);
    return r.map((v) => v / n);
  });

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`nceContrastLoss and nceNormalizer: known answers and gradients against float64 (${backend})`, async () => {
    await initBackend(backend, { log: false });
    try {
      const anchors = unitRows(randomRows(4, 3, 51, 1));
      const positives = unitRows(randomRows(4, 3, 52, 1));
      const negatives = unitRows(randomRows(5, 3, 53, 1));
      const [tau, N] = [0.5, 40];
      const z = nceNormalizer64(anchors, positives, negatives, tau, N);
      const value = tf.tidy(() =>
        nceNormalizer(tf.tensor2d(anchors), tf.tensor2d(positives), tf.tensor2d(negatives), tau, N)
          .dataSync()[0]
      );
      close(value, z, 2e-6, "Z");
      const loss = (a: tf.Tensor) =>
        nceContrastLoss(
          a as tf.Tensor2D,
          tf.tensor2d(positives),
          tf.tensor2d(negatives),
          tau,
          tf.scalar(z),
          N,
        );
      const ref = (a: Rows64) => nce64(a, positives, negatives, tau, z, N);
      tf.tidy(() => close(loss(tf.tensor2d(anchors)).dataSync()[0], ref(anchors), 2e-5, "loss"));
      const grad = tf.tidy(() => tf.grad(loss)(tf.tensor2d(anchors)).dataSync());
      numericGradient(ref, anchors).flat().forEach((n, i) => close(grad[i], n, 3e-4, `grad[${i}]`));
    } finally {
      await initBackend("cpu", { log: false });
    }
  });
}

Deno.test("ContrastMemory: Z fixed at the first batch, banks move towards the batch, draws resume", () => {
  const memory = new ContrastMemory({
    dataSize: 10,
    embedDim: 3,
    negatives: 6,
    seed: 4,
    temperature: 0.5,
  });
  const banks = memory.buffers();
  const before = {
    student: rows(banks["crd.bank.student"]),
    teacher: rows(banks["crd.bank.teacher"]),
  };
  const bound = Math.sqrt(3 / 3);
  assert.ok(before.student.flat().every((v) => Math.abs(v) <= bound));
  const s = unitRows(randomRows(3, 3, 61, 1)), t = unitRows(randomRows(3, 3, 62, 1));
  const ids = [7, 2, 5];
  // The first batch's negatives, drawn as the memory will draw them.
  const twin = new ContrastMemory({ dataSize: 10, embedDim: 3, negatives: 6, seed: 4 });
  const negatives = Array.from(twin.drawNegatives());
  twin.dispose();
  const loss = tf.tidy(() =>
    memory.loss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor1d(ids, "int32")).dataSync()[0]
  );
  const pick = (bank: Rows64, at: number[]) => at.map((i) => bank[i]);
  const zS = nceNormalizer64(
    s,
    pick(before.teacher, ids),
    pick(before.teacher, negatives),
    0.5,
    10,
  );
  const zT = nceNormalizer64(
    t,
    pick(before.student, ids),
    pick(before.student, negatives),
    0.5,
    10,
  );
  close(banks["crd.z.student"].dataSync()[0], zS, 2e-6, "Z student");
  close(banks["crd.z.teacher"].dataSync()[0], zT, 2e-6, "Z teacher");
  const expected =
    nce64(s, pick(before.teacher, ids), pick(before.teacher, negatives), 0.5, zS, 10) +
    nce64(t, pick(before.student, ids), pick(before.student, negatives), 0.5, zT, 10);
  close(loss, expected, 2e-5, "both sides' NCE");
  // The banks: the batch's rows are normalize(½·old + ½·v); the others are untouched.
  const after = rows(banks["crd.bank.student"]);
  after.forEach((row, i) => {
    const k = ids.indexOf(i);
    const want = k < 0
      ? before.student[i]
      : unitRows([before.student[i].map((v, j) => 0.5 * v + 0.5 * s[k][j])])[0];
    row.forEach((v, j) => close(v, want[j], 1e-6, `bank[${i}][${j}]`));
  });
  // A second batch keeps Z; the draw counter is the state that replays the negatives.
  tf.tidy(() => memory.loss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor1d(ids, "int32")));
  close(banks["crd.z.student"].dataSync()[0], zS, 2e-6, "Z stays");
  assert.equal(memory.draws, 2);
  const replay = new ContrastMemory({ dataSize: 10, embedDim: 3, negatives: 6, seed: 4 });
  replay.draws = 1;
  const third = Array.from(replay.drawNegatives());
  memory.draws = 1;
  assert.deepEqual(Array.from(memory.drawNegatives()), third);
  assert.ok(third.every((i) => i >= 0 && i < 10));
  assert.throws(
    () => memory.loss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor1d([1, 2], "int32")),
    /ContrastMemory: exampleIds must be int32 \[3\]/,
  );
  assert.throws(
    () => memory.loss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor1d([1, 2, 10], "int32")),
    /ContrastMemory: exampleIds must be in \[0, 10\) \(the banks' rows\), got values from 1 to 10/,
  );
  assert.throws(
    () => new ContrastMemory({ dataSize: 10, embedDim: 3, momentum: 1, seed: 0 }),
    /momentum must be in \[0, 1\), got 1/,
  );
  memory.dispose();
  replay.dispose();
});

Deno.test("registry: crd_nce trains both heads through its memory and needs the rows' indices", () => {
  const objective = getLoss("crd_nce", {
    studentDim: DS,
    teacherDim: DT,
    seed: 3,
    dataSize: 20,
    negatives: 8,
    ceWeight: 0,
  });
  assert.equal(objective.needsExampleIds, true);
  assert.deepEqual(Object.keys(objective.buffers!()).sort(), [
    "crd.bank.student",
    "crd.bank.teacher",
    "crd.z.student",
    "crd.z.teacher",
  ]);
  const inputs = {
    studentLogits: tf.zeros([B, 4]),
    teacherFeatures: tf.tensor2d(teacher),
    studentFeatures: tf.tensor2d(student),
    exampleIds: tf.tensor1d([0, 3, 6, 9, 12, 15], "int32"),
  };
  const heads = objective.variables!();
  const { grads, value: loss } = tf.variableGrads(() => objective.loss(inputs), heads);
  assert.ok(Number.isFinite(loss.dataSync()[0]));
  assert.ok(Object.values(grads).every((g) => g.abs().sum().dataSync()[0] > 0));
  assert.deepEqual(objective.state!(), { draws: 1 });
  tf.dispose([loss, ...Object.values(grads)]);
  assert.throws(
    () => objective.loss({ ...inputs, exampleIds: undefined }),
    /crd_nce: inputs.exampleIds is required/,
  );
  tf.dispose(Object.values(inputs));
  objective.dispose!();
  assert.throws(
    () => getLoss("crd_nce", { studentDim: 3, teacherDim: 4, seed: 0 }),
    /crd_nce: config.dataSize must be an integer/,
  );
});

Deno.test("stopGradient: the value passes, the gradient does not", () => {
  tf.tidy(() => {
    const x = tf.tensor1d([1, -2, 3]);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v));
    assert.deepEqual(Array.from(f(x).dataSync()), [14]);
    // d/dx Σ sg(x)·x = sg(x) = x, where Σ x² would give 2x.
    assert.deepEqual(Array.from(tf.grad(f)(x).dataSync()), [1, -2, 3]);
  });
});

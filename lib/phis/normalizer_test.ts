import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { Rng } from "../data/rng.ts";
import {
  diagonal,
  fromRows,
  identity,
  type Matrix,
  matrix,
  maxAbsDifference,
  multiply,
  orthonormalColumns,
  transpose,
} from "../linalg/mod.ts";
import { FeatureMoments } from "./feature_moments.ts";
import { fitNormalizer, Normalizer, NORMALIZER_KINDS } from "./normalizer.ts";

await initBackend("cpu", { log: false });
const quiet = { onWarning: () => {} };

/** Anisotropic, correlated, non-centred features: x = z·A + shift, latent scales spanning 0.1..10. */
function features(n: number, c: number, seed: number, rank = c): Matrix {
  const rng = new Rng(seed);
  const a = matrix(rank, c);
  for (let i = 0; i < a.data.length; i++) {
    a.data[i] = rng.gaussian() * 10 ** (2 * Math.floor(i / c) / Math.max(1, rank - 1) - 1);
  }
  const z = matrix(n, rank);
  for (let i = 0; i < z.data.length; i++) z.data[i] = rng.gaussian();
  const x = multiply(z, a);
  for (let i = 0; i < x.data.length; i++) x.data[i] += 3 * ((i % c) - c / 2);
  return x;
}

/** Naive two-pass float64 column means and covariance (divisor n − 1): the reference. */
function stats(x: Matrix): { mean: number[]; cov: Matrix } {
  const { rows: n, cols: c } = x;
  const mean = Array.from({ length: c }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.data[i * c + j];
    return s / n;
  });
  const cov = matrix(c, c);
  for (let a = 0; a < c; a++) {
    for (let b = 0; b < c; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        s += (x.data[i * c + a] - mean[a]) * (x.data[i * c + b] - mean[b]);
      }
      cov.data[a * c + b] = s / (n - 1);
    }
  }
  return { mean, cov };
}

const rowsOf = (x: Matrix, from: number, to: number) =>
  matrix(to - from, x.cols, x.data.subarray(from * x.cols, to * x.cols));

Deno.test("FeatureMoments: streaming batches and merged shards equal a one-shot two-pass reference", () => {
  const x = features(301, 12, 1);
  const ref = stats(x);
  const streamed = new FeatureMoments(12).update(rowsOf(x, 0, 7)).update(rowsOf(x, 7, 150)).update(
    rowsOf(x, 150, 301),
  );
  const shardA = new FeatureMoments(12).update(rowsOf(x, 0, 100));
  const shardB = new FeatureMoments(12).update(rowsOf(x, 100, 200)).update(rowsOf(x, 200, 301));
  const merged = shardA.merge(shardB);
  for (
    const m of [
      streamed,
      merged,
      FeatureMoments.fromJSON(JSON.parse(JSON.stringify(merged.toJSON()))),
    ]
  ) {
    assert.equal(m.count, 301);
    ref.mean.forEach((v, j) =>
      assert.ok(Math.abs(m.mean[j] - v) < 1e-12 * Math.max(1, Math.abs(v)))
    );
    const scale = Math.max(...ref.cov.data.map(Math.abs));
    assert.ok(maxAbsDifference(m.covariance(), ref.cov) < 1e-12 * scale);
  }
  assert.throws(() => new FeatureMoments(3).update([[1, 2, 3], [1, 2]]), /ragged/);
  assert.throws(
    () => new FeatureMoments(3).update([[1, NaN, 3]]),
    /non-finite value NaN at row 0, column 1/,
  );
  assert.throws(() => new FeatureMoments(3).update([[1, 2]]), /width 3/);
  assert.throws(() => new FeatureMoments(3).update([]), /empty batch/);
  assert.throws(() => new FeatureMoments(3).update([[1, 2, 3]]).covariance(), /at least 2 rows/);
  assert.throws(() => new FeatureMoments(2).merge(new FeatureMoments(3)), /widths differ/);
});

Deno.test("normalisers: each kind's defining property on anisotropic, non-centred features", () => {
  const c = 12;
  const x = features(2000, c, 2);
  const ref = stats(x);
  const trace = Array.from({ length: c }, (_, j) => ref.cov.data[j * c + j]).reduce((a, b) =>
    a + b
  );
  const fitted = Object.fromEntries(NORMALIZER_KINDS.map((k) => [k, fitNormalizer(k, x, quiet)]));
  for (const kind of NORMALIZER_KINDS) {
    const n = fitted[kind];
    const y = n.forward(x);
    const s = stats(y);
    const diag = Array.from({ length: c }, (_, j) => s.cov.data[j * c + j]);
    // Round trip in float64.
    assert.ok(maxAbsDifference(n.inverse(y), x) < 1e-8 * 100, `${kind}: round trip`);
    assert.ok(
      maxAbsDifference(multiply(n.inverseMatrix, n.forwardMatrix), identity(c)) < 1e-9,
      `${kind}: Θ·W = I`,
    );
    if (kind === "none") assert.ok(maxAbsDifference(y, x) === 0);
    if (kind === "per-dim-std") {
      diag.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-10));
      s.mean.forEach((v) => assert.ok(Math.abs(v) < 1e-10));
    }
    if (kind === "global-std") {
      // One scalar gain and one scalar shift: mean over channels of (var_c + mean_c²) is 1.
      const total = diag.reduce((a, v, j) => a + v + s.mean[j] ** 2, 0) / c;
      assert.ok(Math.abs(total - 1) < 1e-10, `global second moment ${total}`);
    }
    if (kind === "pca-whiten" || kind === "zca-whiten" || kind === "hca") {
      assert.ok(maxAbsDifference(s.cov, identity(c)) < 1e-8, `${kind}: cov(y′) = I`);
    }
    if (kind === "zca-whiten") {
      assert.ok(maxAbsDifference(n.forwardMatrix, transpose(n.forwardMatrix)) < 1e-9);
    }
    if (kind === "phi-s") {
      diag.forEach((v, j) => assert.ok(Math.abs(v - 1) < 1e-9, `phi-s channel ${j} variance ${v}`));
      const offDiagonal = Math.max(
        ...s.cov.data.map((v, i) => (i % (c + 1) === 0 ? 0 : Math.abs(v))),
      );
      assert.ok(offDiagonal > 0.05, "PHI-S standardises, it does not decorrelate");
      // W·Wᵀ = α²·I: a rotation times one scalar, α = (trace/C)^-½.
      const alpha = 1 / Math.sqrt(trace / c);
      assert.ok(Math.abs(n.alpha! - alpha) < 1e-12 * alpha);
      assert.ok(
        maxAbsDifference(
          multiply(n.forwardMatrix, transpose(n.forwardMatrix)),
          identity(c, alpha ** 2),
        ) < 1e-12 * alpha ** 2,
      );
      // App. A.5.2: α_PHI-S ≥ α_global-std (channel means differ here).
      assert.ok(n.alpha! > fitted["global-std"].alpha!);
      assert.ok(Math.abs(n.gain() - alpha) < 1e-9 * alpha);
    }
  }
});

Deno.test("PHI-S: α is rotation-invariant, per-dim-std is not; a random orthogonal H breaks equal variances", () => {
  const c = 8;
  const x = features(1000, c, 3);
  // A fixed rotation of the data (Gram-Schmidt on a seeded matrix).
  const rng = new Rng(9);
  const columns = Array.from({ length: c }, () => Array.from({ length: c }, () => rng.gaussian()));
  const q = orthonormalColumns(transpose(fromRows(columns)));
  const rotated = multiply(x, q);
  const a = fitNormalizer("phi-s", x).alpha!;
  const b = fitNormalizer("phi-s", rotated).alpha!;
  assert.ok(Math.abs(a - b) < 1e-10 * a, `α ${a} vs ${b}`);
  const d1 = fitNormalizer("per-dim-std", x, quiet).forwardMatrix.data[0];
  const d2 = fitNormalizer("per-dim-std", rotated, quiet).forwardMatrix.data[0];
  assert.ok(Math.abs(d1 - d2) > 1e-3 * Math.abs(d1));
  const fake = fitNormalizer("phi-s", x, { rotation: q });
  const variances = stats(fake.forward(x)).cov.data.filter((_, i) => i % (c + 1) === 0);
  assert.ok(
    Math.max(...variances) / Math.min(...variances) > 1.5,
    `random-H variances ${variances}`,
  );
  assert.throws(() => fitNormalizer("phi-s", features(50, 6, 4)), /no Hadamard matrix of order 6/);
  assert.throws(() => fitNormalizer("hca", features(50, 6, 4)), /order 6/);
});

Deno.test("the 2-D toy Σ = diag(1, ε): whitening gains blow up as 1/√ε, PHI-S stays at √(2/(1+ε)); Fig. 6's radius", () => {
  for (const eps of [1e-1, 1e-3, 1e-5]) {
    const m = FeatureMoments.fromCovariance([0, 0], diagonal([1, eps]), 1000);
    const phis = fitNormalizer("phi-s", m);
    assert.ok(Math.abs(phis.gain() - Math.sqrt(2 / (1 + eps))) < 1e-9);
    for (const kind of ["per-dim-std", "pca-whiten", "zca-whiten", "hca"] as const) {
      const g = fitNormalizer(kind, m, quiet).gain();
      assert.ok(
        Math.abs(g - 1 / Math.sqrt(eps)) < 1e-6 / Math.sqrt(eps),
        `${kind} gain ${g} at ε=${eps}`,
      );
    }
    assert.ok(Math.abs(fitNormalizer("global-std", m).gain() - Math.sqrt(2 / (1 + eps))) < 1e-9);
  }
  // Fig. 6: Λ = [3.8356, 0.0894] → de-normalised unit-error radius √(mean λ) = 1.400892.
  const fig6 = fitNormalizer(
    "phi-s",
    FeatureMoments.fromCovariance([0, 0], diagonal([3.8356, 0.0894]), 100),
  );
  assert.ok(Math.abs(1 / fig6.alpha! - 1.400892) < 1e-6);
  // Θ maps every unit error to the same length: columns of Θ all have norm 1/α.
  const theta = fig6.inverseMatrix;
  for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(Math.hypot(theta.data[j], theta.data[2 + j]) - 1 / fig6.alpha!) < 1e-12);
  }
});

Deno.test("rank-deficient features: whitening floors eigenvalues with a warning, PHI-S needs none", () => {
  const x = features(40, 16, 5, 4); // rank 4 in width 16
  const warnings: string[] = [];
  const zca = fitNormalizer("zca-whiten", x, { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /rank-deficient.*12 of 16 eigenvalues/);
  assert.deepEqual(zca.warnings.length, 1);
  assert.ok(Number.isFinite(zca.gain()));
  const phis = fitNormalizer("phi-s", x, { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.ok(maxAbsDifference(phis.inverse(phis.forward(x)), x) < 1e-9);
  const few = fitNormalizer("pca-whiten", features(5, 8, 6), {
    onWarning: (m) => warnings.push(m),
  });
  assert.match(few.warnings[0], /only 5 rows for width 8/);
});

Deno.test("foldIntoLinear equals the inverse applied after the head (float64 and tensors)", () => {
  const c = 12;
  const x = features(300, c, 7);
  const rng = new Rng(3);
  const k = matrix(5, c, Array.from({ length: 5 * c }, () => rng.gaussian()));
  const bias = Array.from({ length: c }, () => rng.gaussian());
  const h = matrix(4, 5, Array.from({ length: 20 }, () => rng.gaussian()));
  for (const kind of NORMALIZER_KINDS) {
    const n = fitNormalizer(kind, x, quiet);
    const head = multiply(h, k);
    for (let i = 0; i < head.data.length; i++) head.data[i] += bias[i % c];
    const expected = n.inverse(head);
    const folded = n.foldIntoLinear(k, bias);
    const got = multiply(h, folded.kernel);
    for (let i = 0; i < got.data.length; i++) got.data[i] += folded.bias[i % c];
    assert.ok(
      maxAbsDifference(got, expected) < 1e-9 * Math.max(1, ...expected.data.map(Math.abs)),
      kind,
    );
    tf.tidy(() => {
      const t = n.foldIntoLinear(tf.tensor2d(Float32Array.from(k.data), [5, c]), tf.tensor1d(bias));
      const viaTensor = tf.add(
        tf.matMul(tf.tensor2d(Float32Array.from(h.data), [4, 5]), t.kernel),
        t.bias,
      ).dataSync();
      const scale = Math.max(1, ...expected.data.map(Math.abs));
      expected.data.forEach((v, i) =>
        assert.ok(Math.abs(viaTensor[i] - v) < 1e-4 * scale, `${kind} tensor fold`)
      );
    });
  }
  assert.throws(
    () => fitNormalizer("phi-s", x).foldIntoLinear(matrix(5, 3), [1, 2, 3]),
    /kernel must be \[in, 12\]/,
  );
});

Deno.test("tensor forward/inverse match float64, leak nothing; state round-trips; bad input is named", () => {
  const c = 12;
  const x = features(200, c, 8);
  const n = fitNormalizer("phi-s", x);
  const before = tf.memory().numTensors;
  const viaTensor = tf.tidy(() =>
    n.forward(tf.tensor2d(Float32Array.from(x.data), [200, c])).dataSync()
  );
  n.dispose();
  assert.equal(tf.memory().numTensors, before);
  const y = n.forward(x);
  y.data.forEach((v, i) => assert.ok(Math.abs(viaTensor[i] - v) < 1e-3, `forward[${i}]`));
  const back = tf.tidy(() =>
    n.inverse(tf.tensor2d(Float32Array.from(y.data), [200, c])).dataSync()
  );
  n.dispose();
  x.data.forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-3 * Math.max(1, Math.abs(v))));
  const loaded = Normalizer.load(JSON.parse(JSON.stringify(n.state())));
  assert.ok(maxAbsDifference(loaded.forward(x), y) === 0);
  assert.throws(() => n.forward([[1, 2, 3]]), /width 12, got 3/);
  assert.throws(
    () => tf.tidy(() => n.forward(tf.zeros([3, 5]) as tf.Tensor2D)),
    /\[N, 12\] tensor, got \[3,5\]/,
  );
  assert.throws(() => fitNormalizer("phi-s", [[1, 2], [3]]), /ragged rows/);
  assert.throws(
    () => fitNormalizer("phi-s", [[1, 2], [3, Infinity]]),
    /non-finite value Infinity at row 1, column 1/,
  );
  assert.throws(() => fitNormalizer("phi-s", [[1, 2]]), /at least 2 rows/);
  assert.throws(() => fitNormalizer("global-std", [[1, 2], [1, 2]]), /constant/);
  assert.throws(() => fitNormalizer("bogus" as "none", x), /unknown kind "bogus"/);
  assert.throws(() => fitNormalizer("phi-s", [] as number[][]), /empty batch/);
  // A stream of batches equals one batch.
  const streamed = fitNormalizer("zca-whiten", [rowsOf(x, 0, 90), rowsOf(x, 90, 200)]);
  assert.ok(
    maxAbsDifference(streamed.forwardMatrix, fitNormalizer("zca-whiten", x).forwardMatrix) < 1e-9,
  );
});

/**
 * float64 references of the representation-distillation losses (`lib/representation/`), written
 * from the papers' equations over plain arrays, loop by loop, for the known-answer and
 * finite-difference tests.
 *
 * @module
 */
import type { Rows64 } from "./losses64.ts";
import { conv2dSame64 } from "./models64.ts";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const dot = (a: number[], b: number[]) => sum(a.map((v, i) => v * b[i]));
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const huber = (x: number) => Math.abs(x) < 1 ? 0.5 * x * x : Math.abs(x) - 0.5;
const unit = (a: number[]) => {
  const n = norm(a);
  return n === 0 ? a.map(() => 0) : a.map((v) => v / n);
};

/** ψ_D: pairwise distances over their mean over the pairs apart. */
function distances64(f: Rows64): Rows64 {
  const d = f.map((a) => f.map((b) => norm(a.map((v, k) => v - b[k]))));
  const apart = d.flat().filter((v) => v > 0);
  const mean = sum(apart) / apart.length;
  return d.map((row) => row.map((v) => v / mean));
}

/** ψ_A: entry [j][i][k] = cos of the angle at f_j between f_i and f_k. */
function angles64(f: Rows64): number[][][] {
  return f.map((fj) => {
    const e = f.map((fi) => unit(fi.map((v, k) => v - fj[k])));
    return e.map((a) => e.map((b) => dot(a, b)));
  });
}

/** RKD-DA (Park et al. 2019): w_D·mean Huber(ψ_D) over B² + w_A·mean Huber(ψ_A) over B³. */
export function rkd64(t: Rows64, s: Rows64, wD: number, wA: number): number {
  const [dt, ds] = [distances64(t), distances64(s)];
  const [at, as] = [angles64(t), angles64(s)];
  const lossD = sum(dt.flatMap((row, i) => row.map((v, j) => huber(ds[i][j] - v)))) /
    dt.length ** 2;
  const lossA = sum(at.flat(2).map((v, n) => huber(as.flat(2)[n] - v))) / at.length ** 3;
  return wD * lossD + wA * lossA;
}

/** SP (Tung & Mori 2019): ‖rownorm(F_T F_Tᵀ) − rownorm(F_S F_Sᵀ)‖²_F / B². */
export function sp64(t: Rows64, s: Rows64): number {
  const gram = (f: Rows64) => f.map((a) => unit(f.map((b) => dot(a, b))));
  const [gt, gs] = [gram(t), gram(s)];
  return sum(gt.flatMap((row, i) => row.map((v, j) => (v - gs[i][j]) ** 2))) / t.length ** 2;
}

/** PKT (Passalis & Tefas 2018), the released form: mean over B² of p_T·log((p_T + ε)/(p_S + ε)). */
export function pkt64(t: Rows64, s: Rows64): number {
  const eps = 1e-7;
  const probabilities = (f: Rows64) => {
    const u = f.map((a) => a.map((v) => v / (norm(a) + eps)));
    const k = u.map((a) => u.map((b) => (dot(a, b) + 1) / 2));
    return k.map((row) => row.map((v) => v / sum(row)));
  };
  const [pt, ps] = [probabilities(t), probabilities(s)];
  const terms = pt.flatMap((row, i) =>
    row.map((p, j) => p * Math.log((p + eps) / (ps[i][j] + eps)))
  );
  return sum(terms) / terms.length;
}

/** x·W + b for rows x and W `[d_in][d_out]`. */
export function affine64(x: Rows64, w: Rows64, b: number[]): Rows64 {
  return x.map((row) => b.map((bj, j) => bj + sum(row.map((v, k) => v * w[k][j]))));
}

/** FitNets' hint: the mean over B·d_T of (t − (s·W + b))². */
export function hint64(t: Rows64, s: Rows64, w: Rows64, b: number[]): number {
  const r = affine64(s, w, b);
  const terms = t.flatMap((row, i) => row.map((v, j) => (v - r[i][j]) ** 2));
  return sum(terms) / terms.length;
}

/**
 * In-batch CRD: g = unit(x·W + b) for both sides; CE of the matching pair over each row of
 * S = g_S·g_Tᵀ/τ plus over each column, both means over the B anchors.
 */
export function crd64(
  t: Rows64,
  s: Rows64,
  heads: { ws: Rows64; bs: number[]; wt: Rows64; bt: number[] },
  tau: number,
): number {
  const gs = affine64(s, heads.ws, heads.bs).map(unit);
  const gt = affine64(t, heads.wt, heads.bt).map(unit);
  const scores = gs.map((a) => gt.map((b) => dot(a, b) / tau));
  const lse = (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(sum(xs.map((v) => Math.exp(v - m))));
  };
  const B = t.length;
  let rows = 0, columns = 0;
  for (let i = 0; i < B; i++) {
    rows += lse(scores[i]) - scores[i][i];
    columns += lse(scores.map((r) => r[i])) - scores[i][i];
  }
  return rows / B + columns / B;
}

/**
 * One side of CRD's NCE (the released `ContrastLoss`): h = exp(⟨a, m⟩/τ)/z for each anchor's
 * positive and the shared negatives, noise K/N, ε = 1e-7; −(Σ log(h⁺/(h⁺ + K/N + ε)) +
 * Σ log((K/N)/(h⁻ + K/N + ε)))/B.
 */
export function nce64(
  anchors: Rows64,
  positives: Rows64,
  negatives: Rows64,
  tau: number,
  z: number,
  dataSize: number,
): number {
  const eps = 1e-7;
  const noise = negatives.length / dataSize;
  let total = 0;
  anchors.forEach((a, b) => {
    const hPos = Math.exp(dot(a, positives[b]) / tau) / z;
    total += Math.log(hPos / (hPos + noise + eps));
    for (const n of negatives) {
      const hNeg = Math.exp(dot(a, n) / tau) / z;
      total += Math.log(noise / (hNeg + noise + eps));
    }
  });
  return -total / anchors.length;
}

/** CRD's Z estimate: N × the mean of exp(⟨a, m⟩/τ) over the positives and negatives. */
export function nceNormalizer64(
  anchors: Rows64,
  positives: Rows64,
  negatives: Rows64,
  tau: number,
  dataSize: number,
): number {
  let sum = 0;
  anchors.forEach((a, b) => {
    sum += Math.exp(dot(a, positives[b]) / tau);
    for (const n of negatives) sum += Math.exp(dot(a, n) / tau);
  });
  return dataSize * sum / (anchors.length * (negatives.length + 1));
}

/**
 * Attention transfer's normalised map (Zagoruyko & Komodakis 2017, Eq. 1–2) of one block output
 * given as rows `[B·H·W][C]` (NHWC order): per example, the unit vector of Σ_c |a_c|^p over its
 * H·W positions.
 */
export function attentionMap64(rows: Rows64, batch: number, p: number): Rows64 {
  const positions = rows.length / batch;
  return Array.from({ length: batch }, (_, b) =>
    unit(
      rows.slice(b * positions, (b + 1) * positions).map((a) =>
        sum(a.map((v) => Math.abs(v) ** p))
      ),
    ));
}

/** AT's loss: Σ_j mean over examples and positions of (Q̂_S^j − Q̂_T^j)², blocks as rows. */
export function at64(teacher: Rows64[], student: Rows64[], batch: number, p: number): number {
  return sum(student.map((s, j) => {
    const [qs, qt] = [attentionMap64(s, batch, p), attentionMap64(teacher[j], batch, p)];
    const squares = qs.flatMap((row, b) => row.map((v, k) => (v - qt[b][k]) ** 2));
    return sum(squares) / squares.length;
  }));
}

/**
 * CCKD's correlation (Peng et al. 2019): Σ_{p ≤ P} e^{−2γ}(2γ)^p/p! · cos^p for each pair of rows,
 * with factorials and powers written out.
 */
export function correlation64(f: Rows64, gamma: number, order: number): Rows64 {
  const u = f.map(unit);
  const factorial = (n: number): number => n <= 1 ? 1 : n * factorial(n - 1);
  return u.map((a) =>
    u.map((b) => {
      const c = dot(a, b);
      let total = 0;
      for (let p = 0; p <= order; p++) {
        total += Math.exp(-2 * gamma) * (2 * gamma) ** p / factorial(p) * c ** p;
      }
      return total;
    })
  );
}

/** CCKD's loss: the mean over B² of (ψ_T − ψ_S)². */
export function cc64(t: Rows64, s: Rows64, gamma: number, order: number): number {
  const [ct, cs] = [correlation64(t, gamma, order), correlation64(s, gamma, order)];
  return sum(ct.flatMap((row, i) => row.map((v, j) => (v - cs[i][j]) ** 2))) / t.length ** 2;
}

/** The VID head's weights and log-variance parameters, as float64 rows (α as one row). */
export interface VidHead64 {
  w1: Rows64;
  w2: Rows64;
  w3: Rows64;
  alpha: number[];
}

/**
 * VID (Ahn et al. 2019): μ = relu(relu(s·W1)·W2)·W3, σ² = log(1 + e^α) + 1e-5, and the mean over
 * B·d_T of ½((t − μ)²/σ² + log σ²).
 */
export function vid64(t: Rows64, s: Rows64, head: VidHead64): number {
  const relu = (rows: Rows64) => rows.map((r) => r.map((v) => Math.max(v, 0)));
  const zero = (n: number) => new Array(n).fill(0);
  const h1 = relu(affine64(s, head.w1, zero(head.w1[0].length)));
  const h2 = relu(affine64(h1, head.w2, zero(head.w2[0].length)));
  const mu = affine64(h2, head.w3, zero(head.w3[0].length));
  const variance = head.alpha.map((a) => Math.log(1 + Math.exp(a)) + 1e-5);
  const terms = t.flatMap((row, i) =>
    row.map((v, n) => 0.5 * ((v - mu[i][n]) ** 2 / variance[n] + Math.log(variance[n])))
  );
  return sum(terms) / terms.length;
}

/**
 * NST (Huang & Wang 2017): per block (rows `[B·H·W][C]`, NHWC) and example, the unit vector of
 * each channel over the positions; MMD² with k(x, y) = (x·y)², means over channel pairs, averaged
 * over the examples and summed over the blocks.
 */
export function nst64(teacher: Rows64[], student: Rows64[], batch: number): number {
  const patterns = (rows: Rows64, b: number) => {
    const positions = rows.length / batch;
    const block = rows.slice(b * positions, (b + 1) * positions);
    return block[0].map((_, c) => unit(block.map((row) => row[c])));
  };
  const kernelMean = (a: Rows64, b: Rows64) =>
    sum(a.flatMap((x) => b.map((y) => dot(x, y) ** 2))) / (a.length * b.length);
  return sum(student.map((s, j) => {
    let total = 0;
    for (let b = 0; b < batch; b++) {
      const [ft, fs] = [patterns(teacher[j], b), patterns(s, b)];
      total += kernelMean(ft, ft) + kernelMean(fs, fs) - 2 * kernelMean(ft, fs);
    }
    return total / batch;
  }));
}

/**
 * FitNets' hint on a block (Romero et al. 2015): the mean over B·H·W·C_T of
 * (relu(conv₃ₓ₃(s) + b) − t)², blocks as rows `[B·H·W][C]` (NHWC), w `[3, 3, C_S, C_T]` flattened.
 */
export function blockHint64(
  t: Rows64,
  s: Rows64,
  shape: [number, number, number],
  w: number[],
  b: number[],
): number {
  const [B, H, W] = shape;
  const cs = s[0].length, ct = t[0].length;
  const conv = conv2dSame64(
    { shape: [B, H, W, cs], data: s.flat() },
    { shape: [3, 3, cs, ct], data: w },
  );
  const terms = t.flat().map((v, i) => (Math.max(conv.data[i] + b[i % ct], 0) - v) ** 2);
  return sum(terms) / terms.length;
}

/** A 3×3 conv layer of factor transfer's stacks: weights `[3, 3, C_in, C_out]` flattened, biases. */
export interface ConvLayer64 {
  w: number[];
  b: number[];
}

/**
 * Layers of leakyRelu(conv₃ₓ₃(x) + b) with slope `leak` (factor transfer's paraphraser and
 * translator); x as rows `[B·H·W][C]` (NHWC) of `[B, H, W]`.
 */
export function leakyConvStack64(
  x: Rows64,
  shape: [number, number, number],
  layers: ConvLayer64[],
  leak = 0.1,
): Rows64 {
  let h = x;
  for (const { w, b } of layers) {
    const ci = h[0].length, co = b.length;
    const conv = conv2dSame64({ shape: [...shape, ci], data: h.flat() }, {
      shape: [3, 3, ci, co],
      data: w,
    });
    h = h.map((_, r) =>
      b.map((bias, o) => {
        const z = conv.data[r * co + o] + bias;
        return z >= 0 ? z : leak * z;
      })
    );
  }
  return h;
}

/** Factor transfer's map m(F): per example, the channel mean of F² over H·W, unit L2 norm. */
export function factorMap64(factor: Rows64, batch: number): Rows64 {
  const hw = factor.length / batch;
  return Array.from({ length: batch }, (_, b) =>
    unit(
      factor.slice(b * hw, (b + 1) * hw).map((row) => sum(row.map((v) => v * v)) / row.length),
    ));
}

/**
 * Factor transfer as the CRD benchmark computes it (Kim et al. 2018): the mean over B·H·W of
 * |m(translator(s)) − m(encoder(t))|, blocks as rows `[B·H·W][C]` of `[B, H, W]`.
 */
export function ft64(
  t: Rows64,
  s: Rows64,
  shape: [number, number, number],
  encoder: ConvLayer64[],
  translator: ConvLayer64[],
): number {
  const mt = factorMap64(leakyConvStack64(t, shape, encoder), shape[0]).flat();
  const ms = factorMap64(leakyConvStack64(s, shape, translator), shape[0]).flat();
  return sum(ms.map((v, i) => Math.abs(v - mt[i]))) / ms.length;
}

/** A 1×1 conv (AB's connector): weights `[C_in][C_out]` flattened row by row, biases. */
export interface Connector64 {
  w: number[];
  b: number[];
}

/**
 * Activation boundaries' loss as the CRD benchmark computes it (Heo et al. 2019, Eq. 7): per
 * block j, s = the student's pre-activation rows `[B·H·W][C_S]` through connector j; over every
 * neuron, (s − m)² where s ≤ m and the teacher's t > 0, (s + m)² where s > −m and t ≤ 0; summed,
 * over B, times 2^(j−n+1), summed over blocks, times 3/1000.
 */
export function ab64(
  teacher: Rows64[],
  student: Rows64[],
  connectors: Connector64[],
  batch: number,
  margin: number,
): number {
  const n = student.length;
  return 3 / 1000 * sum(student.map((rows, j) => {
    const { w, b } = connectors[j];
    const ct = b.length;
    let total = 0;
    rows.forEach((row, r) => {
      for (let o = 0; o < ct; o++) {
        let s = b[o];
        row.forEach((v, i) => s += v * w[i * ct + o]);
        const t = teacher[j][r][o];
        if (t > 0 && s <= margin) total += (s - margin) ** 2;
        if (t <= 0 && s > -margin) total += (s + margin) ** 2;
      }
    });
    return 2 ** (j - n + 1) * total / batch;
  }));
}

/**
 * A CNN's blocks before their ReLU (`createCNN`'s conv3×3 "same" + bias, max-pooled 2×2; the next
 * block reads their ReLU), of images `[B, 28, 28, 1]` given flat, as rows `[B·H·W][C]` per block.
 */
export function cnnPreactivations64(
  images: number[],
  batch: number,
  layers: ConvLayer64[],
): Rows64[] {
  const blocks: Rows64[] = [];
  let [side, channels, x] = [28, 1, images];
  for (const { w, b } of layers) {
    const co = b.length;
    const conv = conv2dSame64({ shape: [batch, side, side, channels], data: x }, {
      shape: [3, 3, channels, co],
      data: w,
    }).data;
    const half = Math.floor(side / 2);
    const rows: Rows64 = [];
    for (let e = 0; e < batch; e++) {
      for (let i = 0; i < half; i++) {
        for (let j = 0; j < half; j++) {
          rows.push(b.map((bias, o) => {
            let best = -Infinity;
            for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
              const at = ((e * side + 2 * i + di) * side + 2 * j + dj) * co + o;
              best = Math.max(best, conv[at] + bias);
            }
            return best;
          }));
        }
      }
    }
    blocks.push(rows);
    [side, channels, x] = [half, co, rows.flat().map((v) => Math.max(v, 0))];
  }
  return blocks;
}

/**
 * A block `[B·H·W][C]` (NHWC rows, H = W = `side`) average-pooled to `out`×`out` as PyTorch's
 * adaptive average pooling does: output (i, j) averages rows ⌊i·H/out⌋ … ⌈(i+1)·H/out⌉ − 1 and
 * the same columns.
 */
export function adaptiveAvgPool64(rows: Rows64, batch: number, side: number, out: number): Rows64 {
  const bins = Array.from({ length: out }, (_, i) => {
    const [start, end] = [Math.floor(i * side / out), Math.ceil((i + 1) * side / out)];
    return Array.from({ length: end - start }, (_, k) => start + k);
  });
  const pooled: Rows64 = [];
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < out; i++) {
      for (let j = 0; j < out; j++) {
        const cells = bins[i].flatMap((r) => bins[j].map((c) => rows[(b * side + r) * side + c]));
        pooled.push(cells[0].map((_, ch) => sum(cells.map((cell) => cell[ch])) / cells.length));
      }
    }
  }
  return pooled;
}

/**
 * FSP matrices (Yim et al. 2017, Eq. 1) of a lower and an upper block as rows, the larger pooled
 * to the smaller's side: per example, G[i][j] = Σ over positions of lower_i · upper_j / positions.
 */
export function fspMatrix64(
  lower: Rows64,
  upper: Rows64,
  batch: number,
  sides: [number, number],
): number[][][] {
  const side = Math.min(...sides);
  const [a, b] = [
    adaptiveAvgPool64(lower, batch, sides[0], side),
    adaptiveAvgPool64(upper, batch, sides[1], side),
  ];
  const positions = side * side;
  return Array.from({ length: batch }, (_, e) =>
    a[0].map((_, i) =>
      b[0].map((_, j) => {
        let g = 0;
        for (let p = 0; p < positions; p++) g += a[e * positions + p][i] * b[e * positions + p][j];
        return g / positions;
      })
    ));
}

/** FSP's loss as the CRD benchmark computes it: Σ over consecutive pairs of mean (G_S − G_T)². */
export function fsp64(
  teacher: Rows64[],
  student: Rows64[],
  batch: number,
  sides: number[],
): number {
  let total = 0;
  for (let j = 0; j + 1 < student.length; j++) {
    const pair: [number, number] = [sides[j], sides[j + 1]];
    const gs = fspMatrix64(student[j], student[j + 1], batch, pair).flat(2);
    const gt = fspMatrix64(teacher[j], teacher[j + 1], batch, pair).flat(2);
    total += sum(gs.map((v, i) => (v - gt[i]) ** 2)) / gs.length;
  }
  return total;
}

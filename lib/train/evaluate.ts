/**
 * Held-out evaluation: a language model's cross-entropy, perplexity and divergence to a teacher,
 * and how closely its last layer's self-attention follows a teacher's last or chosen layer
 * (MiniLM's and MiniLMv2's terms), the calibration of its next-token predictions (expected
 * calibration error, `./calibration.ts`), and how a teacher scores a language model's own
 * generations (MiniLLM's view: the quality of what the student says, not of how it predicts the
 * data);
 * a classifier's accuracy, cross-entropy, expected calibration error (Guo et al., "On
 * Calibration of Modern Neural Networks", ICML 2017; 15 equal-width bins) and agreement with a
 * teacher. Sums are accumulated in float64 on the host.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evaluationBatches, mapImageBatches, windowsAt } from "../data/batches.ts";
import type { ImageSplit } from "../data/images.ts";
import { tokenLogProbs } from "../losses/labels.ts";
import { miniLMTerms } from "../losses/minilm_attention.ts";
import { attentionTargets } from "../representation/attention_transfer.ts";
import { miniLMv2Terms } from "../losses/minilm_relations.ts";
import { hashSeed } from "../data/rng.ts";
import type { GPT } from "../models/gpt.ts";
import { checkSampling, outputMask, promptContinuation, sequenceWindows } from "./on_policy.ts";
import type { ImageClassifier } from "../models/vision.ts";
import { rougeL } from "./rouge.ts";
import {
  type Calibration,
  calibration,
  calibrationFromSums,
  calibrationSums,
  type ReliabilityBin,
} from "./calibration.ts";

/** A language model's held-out metrics (nats per token). */
export interface LanguageModelEval {
  /** Mean cross-entropy against the true next token. */
  crossEntropy: number;
  /** exp(crossEntropy). */
  perplexity: number;
  /** Mean KL(p_teacher ‖ q_model) per token, when a teacher is given. */
  teacherKL?: number;
  /** Tokens scored. */
  tokens: number;
}

/** Where and how {@link sumOverWindows} reads held-out windows. */
interface WindowOptions {
  contextLength: number;
  batchSize?: number;
  maxWindows?: number;
}

/**
 * Sums per-batch statistics over non-overlapping windows of `tokens`, in float64 on the host: `sums`
 * returns a 1-D tensor of sums for one batch of windows (read back asynchronously, so it runs on
 * every backend). With `onHost`, the values read back are turned into the batch's sums there
 * (given the windows' starts in `tokens`).
 */
async function sumOverWindows(
  tokens: Int32Array,
  options: WindowOptions,
  sums: (window: { inputs: tf.Tensor2D; targets: tf.Tensor2D }, windows: number) => tf.Tensor,
  onHost?: (values: Float32Array, starts: Int32Array) => number[],
): Promise<{ totals: number[]; windows: number }> {
  const { contextLength } = options;
  const batches = evaluationBatches(tokens, {
    contextLength,
    batchSize: options.batchSize ?? 16,
    maxWindows: options.maxWindows,
  });
  const totals: number[] = [];
  let windows = 0;
  for (const starts of batches) {
    const batch = tf.tidy(() => sums(windowsAt(tokens, starts, contextLength), starts.length));
    const read = await batch.data() as Float32Array;
    batch.dispose();
    const values = onHost ? onHost(read, Int32Array.from(starts)) : read;
    values.forEach((v, i) => totals[i] = (totals[i] ?? 0) + v);
    windows += starts.length;
  }
  return { totals, windows };
}

/** One block's self-attention as `GPT.forward` returns it. */
type LayerAttention = NonNullable<ReturnType<GPT["forward"]>["layerAttention"]>;

/** Options of the attention evaluations: windows, and which teacher layer is compared. */
export interface AttentionEvalOptions {
  /** Window length (default: the student's context length). */
  contextLength?: number;
  /** Windows per forward pass. */
  batchSize?: number;
  /** At most this many windows. */
  maxWindows?: number;
  /**
   * The teacher's layer compared with the student's last, numbered from 1 (MiniLMv2's choice of
   * an upper-middle layer for large teachers); default: the teacher's last.
   */
  teacherLayer?: number;
}

/**
 * Throws an error of `fn` unless `teacherLayer` numbers one of the teacher's `nLayer` layers (an
 * integer in [1, nLayer]).
 */
export function checkTeacherLayer(fn: string, teacherLayer: number, nLayer: number): void {
  if (!(Number.isInteger(teacherLayer) && teacherLayer >= 1 && teacherLayer <= nLayer)) {
    throw new Error(
      `${fn}: teacherLayer must be an integer in [1, ${nLayer}] (the teacher's layers, ` +
        `numbered from 1), got ${teacherLayer}`,
    );
  }
}

/**
 * Means over non-overlapping windows of `tokens` of scalar terms comparing a teacher's
 * self-attention (its last layer, or `teacherLayer`) with a student's last layer's (`terms`,
 * named `names` in the error): one forward pass of each model per batch. A non-finite total is an
 * error of `fn` saying a model produced NaN/Inf `produced` (what the terms read).
 */
async function meanAttentionTerms(
  fn: string,
  teacher: GPT,
  student: GPT,
  tokens: Int32Array,
  options: AttentionEvalOptions,
  names: string[],
  produced: string,
  terms: (teacher: LayerAttention, student: LayerAttention) => tf.Scalar[],
): Promise<{ means: number[]; windows: number }> {
  const contextLength = options.contextLength ?? student.config.contextLength;
  const teacherLayer = options.teacherLayer ?? teacher.config.nLayer;
  checkTeacherLayer(fn, teacherLayer, teacher.config.nLayer);
  const { totals, windows } = await sumOverWindows(
    tokens,
    { ...options, contextLength },
    ({ inputs }, count) => {
      const t = teacher.forward(inputs, { attentionOfLayer: teacherLayer - 1 }).layerAttention!;
      const s = student.forward(inputs, { attentionOfLayer: -1 }).layerAttention!;
      return tf.stack(terms(t, s)).mul(count);
    },
  );
  if (!totals.every(Number.isFinite)) {
    throw new Error(
      `${fn}: ${names.map((n, i) => `${n} ${totals[i]}`).join(", ")} summed over ${windows} ` +
        `windows: a model produced NaN/Inf ${produced}`,
    );
  }
  return { means: totals.map((v) => v / windows), windows };
}

/** Cross-entropy against the true next token over non-overlapping windows of `tokens`. */
export async function evaluateLanguageModel(
  model: GPT,
  tokens: Int32Array,
  options: { contextLength?: number; batchSize?: number; maxWindows?: number; teacher?: GPT } = {},
): Promise<LanguageModelEval> {
  const contextLength = options.contextLength ?? model.config.contextLength;
  const { totals, windows } = await sumOverWindows(
    tokens,
    { ...options, contextLength },
    ({ inputs, targets }) => {
      const logp = tf.logSoftmax(model.forward(inputs).logits);
      const V = logp.shape[2];
      const picked = logp.mul(tf.oneHot(targets, V)).sum();
      const out = [picked.neg()];
      if (options.teacher) {
        const logt = tf.logSoftmax(options.teacher.forward(inputs).logits);
        out.push(tf.exp(logt).mul(logt.sub(logp)).sum());
      }
      return tf.stack(out);
    },
  );
  const count = windows * contextLength;
  const crossEntropy = totals[0] / count;
  return {
    crossEntropy,
    perplexity: Math.exp(crossEntropy),
    ...(options.teacher ? { teacherKL: totals[1] / count } : {}),
    tokens: count,
  };
}

/** How a teacher scores a model's own continuations ({@linkcode evaluateGenerations}), per token. */
export interface GenerationEval {
  /** Mean −log p_teacher(y_t) of the generated tokens: lower, the teacher finds them likelier. */
  teacherNLL: number;
  /** Mean −log q_model(y_t): the model's own surprise (its entropy, in expectation at T = 1). */
  modelNLL: number;
  /**
   * Mean log q(y_t) − log p(y_t): at temperature 1, a Monte-Carlo estimate of the sequence-level
   * reverse KL, KL(q ‖ p) per generated token, which MiniLLM minimises (Gu et al. 2024, §2.1).
   */
  reverseKL: number;
  /**
   * Mean ROUGE-L F1 of each continuation against the window's true continuation (`./rouge.ts`;
   * over BPE token ids): the reference-based score MiniLLM and DistiLLM report, on sampled text.
   */
  rougeL: number;
  /** Tokens generated and scored. */
  tokens: number;
}

/**
 * The calibration (`./calibration.ts`) of a language model's next-token predictions, the top-1
 * probability against whether the argmax is the next token, over the non-overlapping held-out
 * windows `evaluateLanguageModel` reads; bins summed per batch in float64.
 */
export async function languageModelCalibration(
  model: GPT,
  tokens: Int32Array,
  options: { contextLength: number; maxWindows?: number; batchSize?: number; bins?: number },
): Promise<Calibration> {
  const { bins = 15 } = options;
  const { totals } = await sumOverWindows(
    tokens,
    options,
    ({ inputs, targets }) => {
      // Each position's top-1 probability, then whether its argmax is the next token.
      const logits = model.forward(inputs).logits;
      const top = tf.max(tf.softmax(logits), -1);
      const hit = tf.equal(tf.argMax(logits, -1), targets).toFloat();
      return tf.concat([top.reshape([-1]), hit.reshape([-1])]);
    },
    (values) => {
      const half = values.length / 2;
      return Array.from(calibrationSums(values.subarray(0, half), values.subarray(half), bins));
    },
  );
  return calibrationFromSums(totals);
}

/** Options of {@linkcode evaluateGenerations}. */
export interface GenerationEvalOptions {
  /** Tokens of each held-out window kept as the prompt, in [1, contextLength]. */
  promptLength: number;
  /** Window length (default: the model's context). */
  contextLength?: number;
  /** Windows per batch (default 16). */
  batchSize?: number;
  /** At most this many windows (default: every non-overlapping window). */
  maxWindows?: number;
  /** Sampling temperature (default 1: the model's own distribution). */
  temperature?: number;
  /** Seed of the draws (default 0); batch k draws with (seed, k). */
  seed?: number;
}

/**
 * How a teacher scores what a model generates: the model continues the first `promptLength`
 * tokens of each non-overlapping held-out window of `tokens` to the window's length plus one,
 * sampling at `temperature`, and both models score the generated tokens (see
 * {@linkcode GenerationEval}). Cross-entropy on the data measures how a model predicts text it is
 * given, which favours mode-covering objectives; this measures the text it produces, where
 * mode-seeking ones (reverse KL, MiniLLM) aim to be better (MiniLLM, Gu et al., ICLR 2024:
 * exposure bias and generation quality). Seeded: the same models and options give the same
 * numbers.
 */
export async function evaluateGenerations(
  model: GPT,
  teacher: GPT,
  tokens: Int32Array,
  options: GenerationEvalOptions,
): Promise<GenerationEval> {
  const fn = "evaluateGenerations";
  const contextLength = options.contextLength ?? model.config.contextLength;
  checkSampling(options, contextLength, fn);
  if (teacher.config.vocabSize !== model.config.vocabSize) {
    throw new Error(
      `${fn}: vocabulary sizes differ (model ${model.config.vocabSize}, teacher ` +
        `${teacher.config.vocabSize})`,
    );
  }
  const { promptLength: P, temperature = 1, seed = 0 } = options;
  const n = contextLength + 1 - P; // tokens generated per window
  let batch = 0;
  const { totals, windows } = await sumOverWindows(
    tokens,
    { ...options, contextLength },
    ({ inputs }, count) => {
      const { inputs: x, targets: y } = sequenceWindows(
        promptContinuation(model, inputs, {
          promptLength: P,
          temperature,
          seed: hashSeed(seed, "evaluate-generations", batch++),
        }),
      );
      const chosen = (m: GPT) => tokenLogProbs(m.forward(x, { checkIds: false }).logits, y);
      const [logQ, logP] = [chosen(model), chosen(teacher)];
      const mask = outputMask(count, contextLength, P);
      // The three sums, then each row's generated tokens (ids are exact in float32).
      return tf.concat([
        tf.stack([
          tf.sum(tf.mul(tf.neg(logP), mask)),
          tf.sum(tf.mul(tf.neg(logQ), mask)),
          tf.sum(tf.mul(tf.sub(logQ, logP), mask)),
        ]),
        tf.slice(y, [0, P - 1], [count, n]).reshape([-1]).toFloat(),
      ]);
    },
    (values, starts) => {
      let rouge = 0;
      starts.forEach((start, b) => {
        const generated = values.subarray(3 + b * n, 3 + (b + 1) * n);
        rouge += rougeL(generated, tokens.subarray(start + P, start + P + n)).f1;
      });
      return [values[0], values[1], values[2], rouge];
    },
  );
  const count = windows * n;
  const [teacherNLL, modelNLL, reverseKL] = totals.slice(0, 3).map((v) => v / count);
  if (![teacherNLL, modelNLL, reverseKL].every(Number.isFinite)) {
    throw new Error(`${fn}: a model produced NaN/Inf log-probabilities over ${windows} windows`);
  }
  return { teacherNLL, modelNLL, reverseKL, rougeL: totals[3] / windows, tokens: count };
}

/** How far a student's last-layer self-attention is from its teacher's (MiniLM's terms). */
export interface AttentionTransferEval {
  /** Mean KL between the teacher's and the student's attention distributions, L_AT. */
  attention: number;
  /** Mean KL between their value relations, L_VR. */
  valueRelation: number;
  /** Windows scored. */
  windows: number;
}

/**
 * MiniLM's L_AT and L_VR between a teacher's last layer (or `teacherLayer`) and a student's
 * last layer (Wang et al. 2020, Eqs. 6–8; `lib/losses/minilm_attention.ts`) over held-out windows
 * of `tokens`: how well a student reproduces its teacher's attention, whatever objective trained
 * it. The models must have the same head count.
 */
export async function evaluateAttentionTransfer(
  teacher: GPT,
  student: GPT,
  tokens: Int32Array,
  options: AttentionEvalOptions = {},
): Promise<AttentionTransferEval> {
  if (teacher.config.nHead !== student.config.nHead) {
    throw new Error(
      `evaluateAttentionTransfer: the teacher has ${teacher.config.nHead} heads, the student ` +
        `${student.config.nHead}; attention is compared head by head`,
    );
  }
  const { means: [attention, valueRelation], windows } = await meanAttentionTerms(
    "evaluateAttentionTransfer",
    teacher,
    student,
    tokens,
    options,
    ["L_AT", "L_VR"],
    "attention or values",
    (t, s) => {
      const terms = miniLMTerms(t.probabilities, s.probabilities, t.values, s.values, {
        causal: true,
        validate: false,
      });
      return [terms.attention, terms.valueRelation];
    },
  );
  return { attention, valueRelation, windows };
}

/** MiniLMv2's relation terms over held-out windows ({@linkcode evaluateAttentionRelations}). */
export interface AttentionRelationsEval {
  /** Mean KL between the teacher's and the student's Q-Q relations. */
  queryQuery: number;
  /** Mean KL between their K-K relations. */
  keyKey: number;
  /** Mean KL between their V-V relations. */
  valueValue: number;
  /** Windows scored. */
  windows: number;
}

/**
 * MiniLMv2's Q-Q, K-K and V-V relation terms between a teacher's last layer (or `teacherLayer`)
 * and a student's last layer (Wang et al. 2021, Eqs. 1–3; `lib/losses/minilm_relations.ts`) over
 * held-out windows of `tokens`, with `relationHeads` relation heads: how well a student
 * reproduces its teacher's self-attention relations, whatever their head counts and whatever
 * objective trained it.
 */
export async function evaluateAttentionRelations(
  teacher: GPT,
  student: GPT,
  tokens: Int32Array,
  options: AttentionEvalOptions & { relationHeads: number },
): Promise<AttentionRelationsEval> {
  const { relationHeads } = options;
  if (!Number.isInteger(relationHeads) || relationHeads < 1) {
    throw new Error(
      `evaluateAttentionRelations: relationHeads must be a positive integer, got ${relationHeads}`,
    );
  }
  for (const [name, model] of [["teacher", teacher], ["student", student]] as const) {
    if (model.config.dModel % relationHeads !== 0) {
      throw new Error(
        `evaluateAttentionRelations: relationHeads ${relationHeads} must divide the ${name}'s ` +
          `width ${model.config.dModel}`,
      );
    }
  }
  const { means: [queryQuery, keyKey, valueValue], windows } = await meanAttentionTerms(
    "evaluateAttentionRelations",
    teacher,
    student,
    tokens,
    options,
    ["L_QQ", "L_KK", "L_VV"],
    "queries, keys or values",
    (t, s) => {
      const terms = miniLMv2Terms(t, s, { relationHeads, causal: true, validate: false });
      return [terms.queryQuery, terms.keyKey, terms.valueValue];
    },
  );
  return { queryQuery, keyKey, valueValue, windows };
}

/** A classifier's held-out metrics. */
export interface ClassifierEval {
  /** Top-1 accuracy. */
  accuracy: number;
  /** Mean cross-entropy against the labels. */
  crossEntropy: number;
  /** Expected calibration error, 15 bins. */
  ece: number;
  /** Fraction of examples where the model's and the teacher's argmax agree. */
  agreement?: number;
  /** Mean KL(teacher ‖ model) over examples, in nats (with a teacher). */
  teacherKL?: number;
  /** Examples scored. */
  count: number;
}

/** Probabilities of a classifier on a split, `[N × classes]` row-major, in batches. */
export async function predictProbabilities(
  model: ImageClassifier,
  split: ImageSplit,
  batchSize = 500,
): Promise<Float32Array> {
  if (split.count === 0) throw new Error("predictProbabilities: the split is empty");
  return await mapImageBatches(split, (x) => tf.softmax(model.logits(x)), batchSize);
}

/**
 * Penultimate features of a classifier on a split, `[N × featureDim]` row-major, in batches (for
 * representation similarity, e.g. `linearCKA` in `lib/analysis`).
 */
export async function predictFeatures(
  model: ImageClassifier,
  split: ImageSplit,
  batchSize = 500,
): Promise<Float32Array> {
  if (split.count === 0) throw new Error("predictFeatures: the split is empty");
  return await mapImageBatches(
    split,
    (x) => model.forward(x, { features: true }).features!,
    batchSize,
  );
}

/**
 * A CNN's normalised spatial attention maps on a split (attention transfer's Q̂ of each block,
 * Zagoruyko & Komodakis 2017, Eq. 1–2: `attentionTargets` in `lib/representation`), row-major
 * `[N × Σ_j H_j·W_j]`, block after block, in batches (for `attentionMapDistance` in
 * `lib/analysis`).
 */
export async function predictAttention(
  model: ImageClassifier,
  split: ImageSplit,
  p = 2,
  batchSize = 500,
): Promise<Float32Array> {
  if (split.count === 0) throw new Error("predictAttention: the split is empty");
  if (model.kind !== "cnn") {
    throw new Error(
      `predictAttention: the model must be a CNN (it has no spatial maps), got a ${model.kind}`,
    );
  }
  return await mapImageBatches(
    split,
    (x) => attentionTargets(model.forward(x, { maps: true }).maps!, p),
    batchSize,
  );
}

const argmaxRow = (probs: Float32Array, i: number, classes: number) => {
  let best = 0;
  for (let c = 1; c < classes; c++) {
    if (probs[i * classes + c] > probs[i * classes + best]) best = c;
  }
  return best;
};

/** Reliability diagram of probabilities `[N × C]` (equal-width bins of top-class confidence). */
export function reliabilityBins(
  probs: Float32Array,
  labels: Int32Array,
  classes: number,
  bins = 15,
): ReliabilityBin[] {
  return topClassCalibration(probs, labels, classes, bins).bins;
}

/** Expected calibration error: Σ_b (n_b / N)·|accuracy_b − confidence_b| over equal-width bins. */
export function expectedCalibrationError(
  probs: Float32Array,
  labels: Int32Array,
  classes: number,
  bins = 15,
): number {
  return topClassCalibration(probs, labels, classes, bins).ece;
}

/** The calibration (`./calibration.ts`) of the top class of each row of `probs` `[N × C]`. */
function topClassCalibration(
  probs: Float32Array,
  labels: Int32Array,
  classes: number,
  bins: number,
): Calibration {
  const n = labels.length;
  if (probs.length !== n * classes) {
    throw new Error(`reliabilityBins: probs has ${probs.length} values, expected ${n * classes}`);
  }
  const confidences = new Float64Array(n);
  const correct = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const best = argmaxRow(probs, i, classes);
    confidences[i] = probs[i * classes + best];
    correct[i] = best === labels[i] ? 1 : 0;
  }
  return calibration(confidences, correct, bins);
}

/** Accuracy, cross-entropy, ECE and (with a teacher, or its precomputed probabilities)
 * top-1 agreement and mean KL(teacher ‖ model) on a split. */
export async function evaluateClassifier(
  model: ImageClassifier,
  split: ImageSplit,
  options: { teacher?: ImageClassifier; teacherProbs?: Float32Array; batchSize?: number } = {},
): Promise<ClassifierEval> {
  const probs = await predictProbabilities(model, split, options.batchSize);
  const teacherProbs = options.teacherProbs ??
    (options.teacher
      ? await predictProbabilities(options.teacher, split, options.batchSize)
      : undefined);
  return scoreProbabilities(probs, split.labels, model.config.classes, teacherProbs);
}

/**
 * The metrics of {@linkcode evaluateClassifier} from probabilities `[N × classes]` already
 * computed (a model's, or an ensemble's average), against `labels` and, optionally, a teacher's.
 */
export function scoreProbabilities(
  probs: Float32Array,
  labels: Int32Array,
  classes: number,
  teacherProbs?: Float32Array,
): ClassifierEval {
  const count = labels.length;
  if (count === 0) throw new Error("scoreProbabilities: no labels to score against");
  if (probs.length !== count * classes) {
    throw new Error(
      `scoreProbabilities: probs has ${probs.length} values, expected ${count} × ${classes}`,
    );
  }
  if (teacherProbs && teacherProbs.length !== probs.length) {
    throw new Error(
      `scoreProbabilities: teacherProbs has ${teacherProbs.length} values, expected ${probs.length}`,
    );
  }
  let hits = 0;
  let ce = 0;
  let agree = 0;
  let kl = 0;
  for (let i = 0; i < count; i++) {
    const predicted = argmaxRow(probs, i, classes);
    hits += predicted === labels[i] ? 1 : 0;
    ce -= Math.log(Math.max(probs[i * classes + labels[i]], 1e-30));
    if (!teacherProbs) continue;
    agree += predicted === argmaxRow(teacherProbs, i, classes) ? 1 : 0;
    for (let c = i * classes; c < (i + 1) * classes; c++) {
      const p = teacherProbs[c];
      if (p > 0) kl += p * (Math.log(p) - Math.log(Math.max(probs[c], 1e-30)));
    }
  }
  return {
    accuracy: hits / count,
    crossEntropy: ce / count,
    ece: expectedCalibrationError(probs, labels, classes),
    ...(teacherProbs ? { agreement: agree / count, teacherKL: kl / count } : {}),
    count,
  };
}

/**
 * The mean of several models' probabilities `[N × classes]` (an ensemble's prediction, as the
 * ensembles of Born-Again Networks, Furlanello et al. 2018, average their members' outputs).
 */
export function averageProbabilities(members: Float32Array[]): Float32Array {
  if (members.length === 0) throw new Error("averageProbabilities: no members to average");
  const n = members[0].length;
  members.forEach((m, i) => {
    if (m.length !== n) {
      throw new Error(
        `averageProbabilities: members[${i}] has ${m.length} values, members[0] has ${n}`,
      );
    }
  });
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (const m of members) sum += m[j];
    out[j] = sum / members.length;
  }
  return out;
}

/** The metrics of an ensemble that averages its members' probabilities on a split. */
export async function evaluateEnsemble(
  members: ImageClassifier[],
  split: ImageSplit,
  options: { batchSize?: number } = {},
): Promise<ClassifierEval> {
  if (members.length === 0) throw new Error("evaluateEnsemble: no members");
  const probs: Float32Array[] = [];
  for (const m of members) probs.push(await predictProbabilities(m, split, options.batchSize));
  return scoreProbabilities(averageProbabilities(probs), split.labels, members[0].config.classes);
}

/**
 * The PHI-S experiment as data (Ranzinger et al., "PHI-S: Distribution Balancing for Label-Free
 * Multi-Teacher Distillation", arXiv 2410.01680): small image classifiers trained here stand in
 * for the paper's foundation-model teachers, and fixed affine distortions give their features the
 * very different scales, offsets and effective ranks of DFN CLIP, SigLIP, DINOv2 and SAM (paper
 * Tab. 7). One student (a CNN trunk plus one adaptor head per teacher) is distilled from all
 * teachers at once, label-free, on the union of MNIST and Fashion-MNIST training images, with one
 * of the paper's normalisation methods; it is then evaluated on (b) per-teacher feature MSE in
 * teacher space and error uniformity across channels (Tab. 3, 5), and (c) linear-probe and kNN
 * accuracy of its trunk features on both labelled test sets.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { backendInfo } from "../backend.ts";
import {
  hashSeed,
  ImageBatcher,
  imageTensors,
  loadImages,
  mapImageBatches,
  permutation,
  Rng,
  selectImages,
} from "../data/mod.ts";
import type { ImageDatasetName, ImageSplit } from "../data/mod.ts";
import { fromRows, type Matrix, matrix, orthonormalColumns, transpose } from "../linalg/mod.ts";
import { createCNN, type ImageClassifier, type Params } from "../models/mod.ts";
import {
  type FeatureLossName,
  FeatureMoments,
  fitNormalizer,
  MultiTeacherHeads,
  type Normalizer,
  type NormalizerKind,
} from "../phis/mod.ts";
import { knnAccuracy, type LabelledFeatures, linearProbe } from "../probes/mod.ts";
import { openRun, type Run, RUNS_ROOT, runWithDependencies } from "../runs/mod.ts";
import { train, warmupCosine } from "../train/mod.ts";
import {
  loadVisionModel,
  runVision,
  visionRun,
  type VisionSpec,
  type VisionSummary,
} from "./vision.ts";
import { ProcessCache } from "./process_cache.ts";

/** A fixed affine map y = gain·(f·A) + b of a teacher's features f (width d → `width`). */
export interface FeatureDistortion {
  /** Output width: the teacher's feature width, or wider for a low-rank lift. */
  width: number;
  /** Overall scale. */
  gain: number;
  /** Std of the log-scales of the output directions (0: isotropic). */
  logScaleStd: number;
  /** Std of the per-channel offsets b, in output units. */
  shiftStd: number;
  /** Seed of the map's random directions, scales and offsets. */
  seed: number;
}

/** One teacher of the study: a trained classifier, the paper model it stands for, a distortion. */
export interface PhisTeacher {
  /** The teacher's name in tables and as its head's key. */
  name: string;
  /** The paper's teacher it stands for (e.g. "DFN CLIP"). */
  standsFor: string;
  /** The classifier trained as this teacher (its penultimate features are distorted). */
  spec: VisionSpec;
  /** The fixed map applied to its features. */
  distortion: FeatureDistortion;
}

/** A distillation method of the paper's Tab. 1 (plus AdaLoss, Tab. 12). */
export interface PhisMethod {
  /** Key in run names and CSV rows. */
  name: string;
  /** As printed in the paper's tables. */
  label: string;
  /** The normaliser applied to every teacher's targets. */
  normalizer: NormalizerKind;
  /** The feature loss of each head. */
  loss: FeatureLossName;
  /** Balance the teachers' terms with AdaLoss (Tab. 12). */
  adaLoss?: boolean;
}

/** The 12 methods of the paper's Tab. 12 (Tab. 1's 10 plus the two AdaLoss rows). */
export const PHIS_METHODS: PhisMethod[] = [
  { name: "mse", label: "MSE", normalizer: "none", loss: "mse" },
  { name: "cosine", label: "Cosine", normalizer: "none", loss: "cosine" },
  { name: "hyb_mse", label: "Hyb MSE", normalizer: "none", loss: "hybrid-cosine-mse" },
  { name: "hyb_sml1", label: "Hyb SmL1", normalizer: "none", loss: "hybrid-cosine-smooth-l1" },
  { name: "global_std", label: "Global Stdze", normalizer: "global-std", loss: "mse" },
  { name: "standardize", label: "Standardize", normalizer: "per-dim-std", loss: "mse" },
  { name: "phi_s", label: "PHI-S", normalizer: "phi-s", loss: "mse" },
  { name: "pca_w", label: "PCA-W", normalizer: "pca-whiten", loss: "mse" },
  { name: "zca", label: "ZCA", normalizer: "zca-whiten", loss: "mse" },
  { name: "hca", label: "HCA", normalizer: "hca", loss: "mse" },
  { name: "ada_mse", label: "Ada-MSE", normalizer: "none", loss: "mse", adaLoss: true },
  { name: "ada_phi_s", label: "Ada-PHI-S", normalizer: "phi-s", loss: "mse", adaLoss: true },
];

/** One student run. */
export interface PhisStudentSpec {
  /** Run name (the run folder is this name plus a hash of the spec). */
  name: string;
  /** The normaliser and loss being compared. */
  method: PhisMethod;
  /** Seed of the student's and heads' initialisation and of the batch order. */
  seed: number;
  /** The teachers distilled at once. */
  teachers: PhisTeacher[];
  /** Images per data set in the (label-free) training pool and in the test sets. */
  data: { trainPerDataset: number; testPerDataset: number };
  /** The student CNN trunk (conv channels, feature width) and each head's hidden width. */
  student: { channels: number[]; featureDim: number; headHidden: number };
  /** Optimiser steps, batch, warmup-cosine schedule and AdamW weight decay. */
  train: {
    steps: number;
    batchSize: number;
    peakLr: number;
    warmupSteps: number;
    weightDecay: number;
  };
  /** Probes: L-BFGS iterations of the linear probe, k of kNN. */
  probe: { iterations: number; k: number };
}

/** What a finished student reports; `rows` is JSON of {@link PhisRow}[]. */
export interface PhisSummary {
  /** Further numbers a summary may carry (run summaries are flat records). */
  [key: string]: number | string;
  /** Run name. */
  name: string;
  /** The method's key (PhisMethod.name). */
  method: string;
  /** The student's seed. */
  seed: number;
  /** Training loss at the last step. */
  final_loss: number;
  /** Optimiser steps taken. */
  steps: number;
  /** The tfjs backend it trained on. */
  backend: string;
  /** Wall-clock seconds of training and evaluation. */
  seconds: number;
  /** CPU seconds of training (every segment of a resumed run; see `TrainResult.totalCpuSeconds`). */
  train_cpu_seconds: number;
  /** JSON of the result rows (PhisRow[]). */
  rows: string;
}

/** One result value, the long format of `data/results/phis_full.csv`. */
export interface PhisRow {
  /** The method's key (PhisMethod.name). */
  normalizer: string;
  /** The student's seed. */
  seed: number;
  /** The teacher (match metrics) or data set (probe metrics) the value is about. */
  teacher: string;
  /** mse, rel_mse, err_var_range_norm, err_var_range_teacher, linear_probe or knn. */
  metric: string;
  /** The metric's value. */
  value: number;
}

const DATASETS: ImageDatasetName[] = ["mnist", "fashion-mnist"];

/** The images of the PHI-S study, see {@linkcode phisImages}. */
export interface PhisImages {
  /** Each data set's training and test images. */
  sets: { name: ImageDatasetName; train: ImageSplit; test: ImageSplit }[];
  /** All training images (MNIST first), the distillation pool. */
  pool: ImageSplit;
  /** All test images (MNIST first). */
  test: ImageSplit;
}

/** The images of the study: a fixed pool of training images and fixed test sets (seed-free). */
export function phisImages(data: PhisStudentSpec["data"]): PhisImages {
  const pick = (name: ImageDatasetName) => {
    const d = loadImages(name);
    const order = permutation(d.train.count, hashSeed("phis-pool", name));
    const trainSplit = selectImages(
      d.train,
      order.slice(0, Math.min(data.trainPerDataset, d.train.count)),
    );
    const step = d.test.count / Math.min(data.testPerDataset, d.test.count);
    const testSplit = selectImages(
      d.test,
      Array.from(
        { length: Math.min(data.testPerDataset, d.test.count) },
        (_, i) => Math.floor(i * step),
      ),
    );
    return { name, train: trainSplit, test: testSplit };
  };
  const sets = DATASETS.map(pick);
  const concat = (splits: ImageSplit[]): ImageSplit => {
    const count = splits.reduce((n, s) => n + s.count, 0);
    const images = new Float32Array(count * 784);
    const labels = new Int32Array(count);
    let offset = 0;
    for (const s of splits) {
      images.set(s.images, offset * 784);
      labels.set(s.labels, offset);
      offset += s.count;
    }
    return { images, labels, count };
  };
  return { sets, pool: concat(sets.map((s) => s.train)), test: concat(sets.map((s) => s.test)) };
}

/** The distortion's matrix A [d, width] and offsets b, from its seed. */
export function distortionMap(
  d: number,
  distortion: FeatureDistortion,
): { a: Matrix; b: Float64Array } {
  const { width, gain, logScaleStd, shiftStd, seed } = distortion;
  if (width < d) throw new Error(`distortionMap: width ${width} must be ≥ the feature width ${d}`);
  const rng = new Rng(hashSeed("distortion", seed));
  const gauss = () => rng.gaussian();
  const gaussianColumns = () =>
    transpose(fromRows(Array.from({ length: d }, () => Array.from({ length: d }, gauss))));
  // A random rotation (Gram-Schmidt on Gaussian columns), or a Gaussian lift to more channels.
  const a = width === d
    ? orthonormalColumns(gaussianColumns())
    : matrix(d, width, Array.from({ length: d * width }, () => gauss() / Math.sqrt(d)));
  const scales = Array.from({ length: width }, () => gain * Math.exp(logScaleStd * gauss()));
  for (let i = 0; i < a.data.length; i++) a.data[i] *= scales[i % width];
  const b = Float64Array.from({ length: width }, () => shiftStd * gauss());
  return { a, b };
}

/** Features [N, d] of a classifier on a split, in batches. */
function modelFeatures(model: ImageClassifier, split: ImageSplit): Promise<Float32Array> {
  return mapImageBatches(split, (x) => model.forward(x, { features: true }).features!);
}

/** A teacher's distorted features on the pool and test images. */
export interface TeacherFeatures {
  /** The teacher's (distorted) feature width. */
  width: number;
  /** Features of the training pool, [pool count, width] row-major. */
  pool: Float32Array;
  /** Features of the test images, [test count, width] row-major. */
  test: Float32Array;
}

const featureCache = new ProcessCache<TeacherFeatures>(8);

/** The distorted features of a (finished) teacher on the study's images; cached per process. */
export function teacherFeatures(
  teacher: PhisTeacher,
  data: PhisStudentSpec["data"],
  root = RUNS_ROOT,
): Promise<TeacherFeatures> {
  return featureCache.get(
    JSON.stringify([teacher, data, root]),
    () => computeTeacherFeatures(teacher, data, root),
  );
}

async function computeTeacherFeatures(
  teacher: PhisTeacher,
  data: PhisStudentSpec["data"],
  root: string,
): Promise<TeacherFeatures> {
  const model = await loadVisionModel(teacher.spec, root);
  const images = phisImages(data);
  const d = model.featureDim;
  const { a, b } = distortionMap(d, teacher.distortion);
  const w = teacher.distortion.width;
  const distort = (f: Float32Array) => {
    const n = f.length / d;
    const out = new Float32Array(n * w);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < w; j++) {
        let s = b[j];
        for (let i = 0; i < d; i++) s += f[r * d + i] * a.data[i * w + j];
        out[r * w + j] = s;
      }
    }
    return out;
  };
  const result = {
    width: w,
    pool: distort(await modelFeatures(model, images.pool)),
    test: distort(await modelFeatures(model, images.test)),
  };
  Object.values(model.params).forEach((v) => v.dispose());
  return result;
}

/** Float64 moments of a teacher's pool features (what every normaliser is fitted on). */
export function poolMoments(features: TeacherFeatures): FeatureMoments {
  const m = new FeatureMoments(features.width);
  const n = features.pool.length / features.width;
  for (let i = 0; i < n; i += 2048) {
    const rows = Math.min(2048, n - i);
    m.update(
      matrix(
        rows,
        features.width,
        features.pool.subarray(i * features.width, (i + rows) * features.width),
      ),
    );
  }
  return m;
}

/** The run folder of a student spec. */
export function phisRun(spec: PhisStudentSpec, root = RUNS_ROOT): Run {
  const { name, ...config } = spec;
  return openRun({ name, config: config as Record<string, unknown>, seed: spec.seed, root });
}

const gather = (source: Float32Array, width: number, indices: ArrayLike<number>) => {
  const out = new Float32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    out.set(source.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
  }
  return tf.tensor2d(out, [indices.length, width]);
};

/** Per-channel variances of the rows of `x` [n, c] (divisor n). */
function channelVariances(x: Float32Array | Float64Array, c: number): Float64Array {
  const n = x.length / c;
  const mean = new Float64Array(c);
  const v = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / n;
  for (let i = 0; i < x.length; i++) v[i % c] += (x[i] - mean[i % c]) ** 2 / n;
  return v;
}

const range = (v: Float64Array) => Math.max(...v) - Math.min(...v);

/** Trains (or resumes, or skips) one student; its teachers must have finished. */
export async function runPhisStudent(
  spec: PhisStudentSpec,
  options: { root?: string } = {},
): Promise<PhisSummary> {
  const root = options.root ?? RUNS_ROOT;
  const run = phisRun(spec, root);
  if (run.finished) return run.summary() as PhisSummary;
  using _training = await run.lock(); // another process training it: wait, then read it back
  if (run.finished) return run.summary() as PhisSummary;
  const started = performance.now();
  const images = phisImages(spec.data);
  const features: Record<string, TeacherFeatures> = {};
  const normalizers: Record<string, Normalizer> = {};
  for (const t of spec.teachers) {
    features[t.name] = await teacherFeatures(t, spec.data, root);
    normalizers[t.name] = fitNormalizer(spec.method.normalizer, poolMoments(features[t.name]), {
      onWarning: () => {},
    });
  }
  const student = createCNN({
    channels: spec.student.channels,
    featureDim: spec.student.featureDim,
    seed: spec.seed,
  });
  const heads = new MultiTeacherHeads({
    teachers: spec.teachers.map((t) => ({ name: t.name, normalizer: normalizers[t.name] })),
    trunkDim: spec.student.featureDim,
    hidden: spec.student.headHidden,
    loss: spec.method.loss,
    adaLoss: spec.method.adaLoss,
    seed: hashSeed(spec.seed, "heads"),
  });
  const trunk: Params = Object.fromEntries(
    Object.entries(student.params).filter(([k]) => !k.startsWith("head.")),
  );
  const trunkFeatures = (x: tf.Tensor) => student.forward(x, { features: true }).features!;
  const batcher = new ImageBatcher(images.pool, {
    batchSize: spec.train.batchSize,
    seed: spec.seed,
  });
  const t = spec.train;
  const result = await train({
    task: {
      params: { ...trunk, ...heads.params },
      batch: (index) => {
        const idx = batcher.indices(index);
        return tf.tidy(() => {
          const raw: Record<string, tf.Tensor2D> = {};
          for (const te of spec.teachers) {
            raw[te.name] = gather(features[te.name].pool, features[te.name].width, idx);
          }
          return { x: imageTensors(images.pool, idx).x, ...heads.targets(raw) };
        });
      },
      loss: (batch) => {
        const { x, ...targets } = batch;
        return heads.loss(trunkFeatures(x!) as tf.Tensor2D, targets as Record<string, tf.Tensor2D>);
      },
      objective: heads,
    },
    steps: t.steps,
    schedule: warmupCosine({ peakLr: t.peakLr, totalSteps: t.steps, warmupSteps: t.warmupSteps }),
    optimizer: { weightDecay: t.weightDecay },
    clipNorm: 1,
    sink: run,
    checkpoint: { dir: run.checkpointDir, every: Math.max(1, Math.ceil(t.steps / 4)) },
  });

  // Evaluation: trunk features of every pool and test image, then the heads' predictions.
  const embed = (split: ImageSplit) => mapImageBatches(split, trunkFeatures);
  const testEmbedding = await embed(images.test);
  const rows: PhisRow[] = [];
  const add = (teacher: string, metric: string, value: number) =>
    rows.push({ normalizer: spec.method.name, seed: spec.seed, teacher, metric, value });
  for (const te of spec.teachers) {
    const c = features[te.name].width;
    const target = features[te.name].test;
    const [predicted, inverted] = tf.tidy(() => {
      const f = tf.tensor2d(testEmbedding, [images.test.count, spec.student.featureDim]);
      const p = heads.predict(f, te.name);
      return [p, normalizers[te.name].inverse(p)];
    });
    const normalised = await predicted.data() as Float32Array;
    const denormalised = await inverted.data() as Float32Array;
    tf.dispose([predicted, inverted]);
    const normTarget = normalizers[te.name].forward(matrix(images.test.count, c, target)).data;
    const error = Float64Array.from(denormalised, (v, i) => v - target[i]);
    const normError = Float64Array.from(normalised, (v, i) => v - normTarget[i]);
    const mse = error.reduce((s, v) => s + v * v, 0) / error.length;
    const variance = channelVariances(target, c).reduce((s, v) => s + v, 0) / c;
    add(te.name, "mse", mse);
    add(te.name, "rel_mse", mse / variance);
    add(te.name, "err_var_range_norm", range(channelVariances(normError, c)));
    add(te.name, "err_var_range_teacher", range(channelVariances(error, c)));
  }
  const poolEmbedding = await embed(images.pool);
  let poolOffset = 0;
  let testOffset = 0;
  const dim = spec.student.featureDim;
  for (const set of images.sets) {
    const slice = (x: Float32Array, offset: number, count: number) =>
      x.subarray(offset * dim, (offset + count) * dim);
    const trainSet: LabelledFeatures = {
      features: slice(poolEmbedding, poolOffset, set.train.count),
      labels: set.train.labels,
      dim,
      classes: 10,
    };
    const testSet: LabelledFeatures = {
      features: slice(testEmbedding, testOffset, set.test.count),
      labels: set.test.labels,
      dim,
      classes: 10,
    };
    add(
      set.name,
      "linear_probe",
      linearProbe(trainSet, testSet, { maxIterations: spec.probe.iterations }).accuracy,
    );
    add(set.name, "knn", knnAccuracy(trainSet, testSet, { k: spec.probe.k }));
    poolOffset += set.train.count;
    testOffset += set.test.count;
  }
  const summary: PhisSummary = {
    name: spec.name,
    method: spec.method.name,
    seed: spec.seed,
    final_loss: result.finalLoss,
    steps: t.steps,
    backend: backendInfo()?.name ?? tf.getBackend(),
    seconds: (performance.now() - started) / 1000,
    train_cpu_seconds: result.totalCpuSeconds,
    rows: JSON.stringify(rows),
  };
  run.finish(summary);
  Object.values(student.params).forEach((v) => v.dispose());
  Object.values(heads.params).forEach((v) => v.dispose());
  heads.dispose();
  Object.values(normalizers).forEach((n) => n.dispose());
  return summary;
}

/** A job of the study: a teacher to train or a student to distil. */
export type PhisJob = { teacher: VisionSpec } | { student: PhisStudentSpec };

/** Worker entry for the run pool. */
export function runJob(
  input: { job: PhisJob; root: string },
): Promise<VisionSummary | PhisSummary> {
  return "teacher" in input.job
    ? runVision(input.job.teacher, { root: input.root })
    : runPhisStudent(input.job.student, { root: input.root });
}

/**
 * Runs every student (and first the teachers they need) over worker processes (0: in this
 * process), skipping finished runs; student summaries in input order.
 */
export async function runPhisStudents(
  students: PhisStudentSpec[],
  options: { root?: string; workers?: number; onDone?: (s: VisionSummary | PhisSummary) => void } =
    {},
): Promise<PhisSummary[]> {
  const root = options.root ?? RUNS_ROOT;
  const jobs: PhisJob[] = students.map((student) => ({ student }));
  const out = await runWithDependencies<PhisJob, VisionSummary | PhisSummary>(jobs, {
    dependencies: (
      j,
    ) => ("student" in j ? j.student.teachers.map((t) => ({ teacher: t.spec })) : []),
    finished: (j) => {
      const run = "teacher" in j ? visionRun(j.teacher, root) : phisRun(j.student, root);
      return run.finished ? run.summary() as VisionSummary | PhisSummary : undefined;
    },
    run: (j) => runJob({ job: j, root }),
    job: (j) => ({ module: import.meta.url, input: { job: j, root } }),
    cost: (j) => ("teacher" in j ? 1e9 : j.student.train.steps * j.student.train.batchSize),
  }, { workers: options.workers, onDone: options.onDone });
  return out as PhisSummary[];
}

/**
 * CRD's memory bank and NCE estimator, as the paper trains it (Tian, Krishnan & Isola, ICLR 2020,
 * "Contrastive Representation Distillation"; Eq. 18 as the released `ContrastLoss` cites it, with
 * the released `ContrastMemory`). Two banks hold one unit embedding per training example, the student's and the
 * teacher's. For a batch of student embeddings v_S and teacher embeddings v_T of examples i:
 *
 * - the student side scores v_S against the teacher bank: h = exp(⟨v_S, M_T[j]⟩/τ)/Z_S for the
 *   positive j = i and for K negatives j drawn uniformly from the training set;
 * - the teacher side scores v_T against the student bank the same way (its gradient trains the
 *   teacher's embedding head);
 * - each side's NCE loss, with noise m·P_n = K/N: −(Σ log(h⁺/(h⁺ + K/N)) + Σ log((K/N)/(h⁻ +
 *   K/N)))/B; the two sides add;
 * - Z is fixed at the first batch, N times the mean score, as the released code estimates it;
 * - then the banks move towards the batch: M[i] ← normalize(m·M[i] + (1 − m)·v), m = 0.5.
 *
 * As in the released code the positive is the bank's entry for the example (last written when it
 * was last seen), not this batch's embedding, and the banks start uniform in ±√(3/k). One departure:
 * the K negatives are drawn once per batch and shared by its anchors (as MoCo draws them), where the
 * released code draws K per anchor; both draw uniformly with replacement. Banks and Z are
 * {@link ContrastMemory.buffers} (checkpointed by the trainer), the draw counter its state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hashSeed, Rng } from "../data/rng.ts";
import { checkValues as checkLater } from "../deferred_checks.ts";
import { requireBackend } from "../require_backend.ts";
import { stopGradient } from "../losses/log_mix.ts";
import { normalizeRows } from "./checks.ts";
import { checkWidth } from "./fitnet_hint.ts";

/** The ε of the released `ContrastLoss`. */
const EPSILON = 1e-7;

/** Sizes and constants of a {@linkcode ContrastMemory}. */
export interface ContrastMemoryOptions {
  /** Examples in the training split (rows of each bank). */
  dataSize: number;
  /** Width of the embeddings. */
  embedDim: number;
  /** Negatives per batch, K (default 16 384, the paper's). */
  negatives?: number;
  /** Bank momentum m (default 0.5). */
  momentum?: number;
  /** Critic temperature τ (default 0.07). */
  temperature?: number;
  /** Seed of the banks' initial values and of the negatives' draws. */
  seed: number;
}

/**
 * One side's NCE loss (Eq. 18 as the released `ContrastLoss`): the anchors' scores against their
 * positives `[B, k]` and against shared negatives `[K, k]`, h = exp(score/τ)/z, noise K/N.
 * Computed in log space with softplus, which is exact algebra of the released form:
 * log(h/(h + c)) = u − softplus(u) and log((K/N)/(h + c)) = log(K/N) − log c − softplus(u), with
 * c = K/N + ε and u = log h − log c (fewer passes over the `[B, K]` scores).
 */
export function nceContrastLoss(
  anchors: tf.Tensor2D,
  positives: tf.Tensor2D,
  negatives: tf.Tensor2D,
  temperature: number,
  z: tf.Tensor,
  dataSize: number,
): tf.Scalar {
  return tf.tidy(() => {
    const [B, K] = [anchors.shape[0], negatives.shape[0]];
    const noise = K / dataSize;
    const logC = Math.log(noise + EPSILON);
    const scaled = tf.div(anchors, temperature);
    // u = score/τ − log z − log c, for the positives [B] and the negatives [B, K].
    const offset = tf.add(tf.log(z), logC);
    const uPos = tf.sub(tf.sum(tf.mul(scaled, positives), 1), offset);
    const uNeg = tf.sub(tf.matMul(scaled, negatives, false, true), offset);
    const positive = tf.sum(tf.sub(uPos, tf.softplus(uPos)));
    const negative = tf.sub(B * K * (Math.log(noise) - logC), tf.sum(tf.softplus(uNeg)));
    return tf.div(tf.neg(tf.add(positive, negative)), B) as tf.Scalar;
  });
}

/** N times the mean of exp(score/τ) over the positives and negatives: the released Z estimate. */
export function nceNormalizer(
  anchors: tf.Tensor2D,
  positives: tf.Tensor2D,
  negatives: tf.Tensor2D,
  temperature: number,
  dataSize: number,
): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.exp(tf.div(tf.sum(tf.mul(anchors, positives), 1), temperature));
    const neg = tf.exp(tf.div(tf.matMul(anchors, negatives, false, true), temperature));
    const count = anchors.shape[0] * (negatives.shape[0] + 1);
    return tf.mul(tf.div(tf.add(tf.sum(pos), tf.sum(neg)), count), dataSize) as tf.Scalar;
  });
}

/** CRD's two memory banks, normalisers and negative draws; see the module doc. */
export class ContrastMemory {
  /** Examples per bank, N. */
  readonly dataSize: number;
  /** Negatives per batch, K. */
  readonly negatives: number;
  /** Bank momentum. */
  readonly momentum: number;
  /** Critic temperature τ. */
  readonly temperature: number;
  readonly #seed: number;
  readonly #banks: { student: tf.Variable; teacher: tf.Variable };
  readonly #z: { student: tf.Variable; teacher: tf.Variable };
  #draws = 0;

  /** Banks uniform in ±√(3/k) (the released initialisation), normalisers unset. */
  constructor(options: ContrastMemoryOptions) {
    const fn = "ContrastMemory";
    requireBackend(fn);
    this.dataSize = checkWidth(fn, "dataSize", options.dataSize);
    const k = checkWidth(fn, "embedDim", options.embedDim);
    this.negatives = checkWidth(fn, "negatives", options.negatives ?? 16384);
    this.momentum = options.momentum ?? 0.5;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new Error(`${fn}: momentum must be in [0, 1), got ${this.momentum}`);
    }
    this.temperature = options.temperature ?? 0.07;
    if (!(Number.isFinite(this.temperature) && this.temperature > 0)) {
      throw new Error(`${fn}: temperature must be a finite number > 0, got ${this.temperature}`);
    }
    this.#seed = options.seed;
    const bound = Math.sqrt(3 / k);
    const bank = (side: string) => {
      const rng = new Rng(hashSeed(options.seed, "crd-bank", side));
      const values = new Float32Array(this.dataSize * k).map(() => (2 * rng.next() - 1) * bound);
      return tf.tidy(() => tf.variable(tf.tensor2d(values, [this.dataSize, k]), false));
    };
    this.#banks = { student: bank("student"), teacher: bank("teacher") };
    this.#z = {
      student: tf.variable(tf.scalar(0), false),
      teacher: tf.variable(tf.scalar(0), false),
    };
  }

  /** The banks and normalisers, for checkpoints (Z = 0: not yet estimated). */
  buffers(): Record<string, tf.Variable> {
    return {
      "crd.bank.student": this.#banks.student,
      "crd.bank.teacher": this.#banks.teacher,
      "crd.z.student": this.#z.student,
      "crd.z.teacher": this.#z.teacher,
    };
  }

  /** How many batches have drawn negatives (the state that makes draws resume exactly). */
  get draws(): number {
    return this.#draws;
  }

  /** Restores {@link draws}. */
  set draws(value: number) {
    if (!(Number.isInteger(value) && value >= 0)) {
      throw new Error(`ContrastMemory: draws must be a non-negative integer, got ${value}`);
    }
    this.#draws = value;
  }

  /** The K example indices of the next batch's negatives. */
  drawNegatives(): Int32Array {
    const rng = new Rng(hashSeed(this.#seed, "crd-negatives", this.#draws++));
    return Int32Array.from({ length: this.negatives }, () => rng.int(this.dataSize));
  }

  /**
   * Both sides' NCE losses for unit embeddings `[B, k]` of the examples `exampleIds` (int32
   * `[B]`), summed; then the banks move towards this batch's embeddings.
   */
  loss(
    studentEmbeddings: tf.Tensor2D,
    teacherEmbeddings: tf.Tensor2D,
    exampleIds: tf.Tensor,
  ): tf.Scalar {
    const B = studentEmbeddings.shape[0];
    if (exampleIds.rank !== 1 || exampleIds.shape[0] !== B || exampleIds.dtype !== "int32") {
      throw new Error(
        `ContrastMemory: exampleIds must be int32 [${B}] (the rows' indices in the training ` +
          `split), got ${exampleIds.dtype} [${exampleIds.shape}]`,
      );
    }
    const range = tf.tidy(() => tf.stack([tf.min(exampleIds), tf.max(exampleIds)]));
    checkLater(
      range,
      ([lo, hi]) =>
        lo < 0 || hi >= this.dataSize
          ? `ContrastMemory: exampleIds must be in [0, ${this.dataSize}) (the banks' rows), got ` +
            `values from ${lo} to ${hi}`
          : undefined,
    );
    const firstBatch = this.#draws === 0;
    const negativeIds = tf.tensor1d(this.drawNegatives(), "int32");
    try {
      return tf.tidy(() => {
        const side = (anchors: tf.Tensor2D, bank: tf.Variable, z: tf.Variable) => {
          const positives = tf.gather(bank, exampleIds) as tf.Tensor2D;
          const negatives = tf.gather(bank, negativeIds) as tf.Tensor2D;
          // Z is estimated on the run's first batch (the only one with draws = 0), then fixed.
          if (firstBatch) {
            z.assign(
              stopGradient(
                nceNormalizer(anchors, positives, negatives, this.temperature, this.dataSize),
              ) as tf.Scalar,
            );
          }
          return nceContrastLoss(anchors, positives, negatives, this.temperature, z, this.dataSize);
        };
        const loss = tf.add(
          side(studentEmbeddings, this.#banks.teacher, this.#z.student),
          side(teacherEmbeddings, this.#banks.student, this.#z.teacher),
        );
        this.#update(this.#banks.student, studentEmbeddings, exampleIds);
        this.#update(this.#banks.teacher, teacherEmbeddings, exampleIds);
        return loss as tf.Scalar;
      });
    } finally {
      negativeIds.dispose();
    }
  }

  /** M[i] ← normalize(m·M[i] + (1 − m)·v) for the batch's examples. */
  #update(bank: tf.Variable, embeddings: tf.Tensor2D, exampleIds: tf.Tensor): void {
    tf.tidy(() => {
      const mixed = tf.add(
        tf.mul(this.momentum, tf.gather(bank, exampleIds)),
        tf.mul(1 - this.momentum, stopGradient(embeddings)),
      );
      const rows = normalizeRows(mixed);
      bank.assign(tf.tensorScatterUpdate(bank, exampleIds.reshape([-1, 1]), rows));
    });
  }

  /** Frees the banks and normalisers. */
  dispose(): void {
    Object.values(this.buffers()).forEach((v) => v.dispose());
  }
}

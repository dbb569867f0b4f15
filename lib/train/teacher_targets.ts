/**
 * Offline distillation targets: the teacher runs once over a token stream cut into consecutive
 * windows of `contextLength` tokens (chunk c holds tokens [c·L, c·L + L], its inputs and next
 * tokens), and what it predicts at every position is kept sparse (Top-K or sampled tokens,
 * `lib/losses/sparse_targets.ts`) and cached on disk. Training then needs no teacher forward: a
 * batch of aligned windows (`TokenBatcher` with `aligned: true`) reads its targets from the
 * cache. This is how LLM distillation is run at scale (Anshumann et al., "Sparse Logit Sampling:
 * Accelerating Knowledge Distillation in LLMs", ACL 2025, abstract: the teacher's output
 * logits "pre-computed and cached"); a dense cache would need V floats per token.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { checkTokenIds, windowsAt } from "../data/batches.ts";
import { hashSeed, Rng } from "../data/rng.ts";
import {
  checkSparsifier,
  concatSparseRows,
  paddedRows,
  type SparseRows,
  type Sparsifier,
  sparsifyLogits,
} from "../losses/sparse_targets.ts";
import type { SparseTargetTensors } from "../losses/sparse_kd.ts";
import type { GPT } from "../models/gpt.ts";

/** Options of {@linkcode TeacherTargets.build}. */
export interface TeacherTargetOptions {
  /** Tokens per window (the training windows' length). */
  contextLength: number;
  /** How each position's distribution is made sparse. */
  sparsifier: Sparsifier;
  /** Seed of the sampled tokens (each position draws from its own stream; default 0). */
  seed?: number;
  /** Windows per teacher forward (default 32). */
  batchSize?: number;
  /** Called after each forward with the windows done and the total. */
  onProgress?: (done: number, total: number) => unknown;
}

/** What a cache holds and costs. */
export interface TeacherTargetStats {
  /** Positions cached (windows × contextLength). */
  positions: number;
  /** Mean stored tokens per position. */
  entriesPerPosition: number;
  /** Mean bytes per position on disk (ids, probabilities and row offsets). */
  bytesPerPosition: number;
  /** Mean teacher probability mass on the stored tokens. */
  teacherMass: number;
}

interface Meta {
  contextLength: number;
  vocabSize: number;
  chunks: number;
  sparsifier: Sparsifier;
  seed: number;
  /** How `probs.bin` stores probabilities (absent in caches written before counts: float32). */
  probs?: ProbStorage;
}

/**
 * float32 probabilities, or Random-Sampling KD's counts at τ = 1 (each probability is count/S
 * exactly), in one byte while S ≤ 255, else two.
 */
type ProbStorage = "float32" | "count8" | "count16";

/** How a sparsifier's probabilities are stored: counts where they are count/S. */
function probStorage(sparsifier: Sparsifier): ProbStorage {
  if (sparsifier.kind !== "sample" || (sparsifier.temperature ?? 1) !== 1) return "float32";
  return sparsifier.samples <= 255 ? "count8" : "count16";
}

const PROB_BYTES: Record<ProbStorage, number> = { float32: 4, count8: 1, count16: 2 };

const FILES = ["offsets", "ids", "probs", "mass"] as const;

/** A teacher's sparse targets for every position of a stream's aligned windows. */
export class TeacherTargets {
  private constructor(readonly meta: Meta, readonly rows: SparseRows) {}

  /** Windows cached (chunk c starts at token c·contextLength). */
  get chunks(): number {
    return this.meta.chunks;
  }

  /**
   * Runs `teacher` over every aligned window of `tokens` (⌊(length − 1)/contextLength⌋ of them)
   * and keeps its predictions sparse.
   */
  static async build(
    teacher: GPT,
    tokens: Int32Array,
    options: TeacherTargetOptions,
  ): Promise<TeacherTargets> {
    const { contextLength: L, sparsifier, seed = 0, batchSize = 32, onProgress } = options;
    const V = teacher.config.vocabSize;
    checkSparsifier(sparsifier, V);
    if (!(Number.isInteger(L) && L >= 1 && L <= teacher.config.contextLength)) {
      throw new Error(
        `TeacherTargets.build: contextLength must be an integer in [1, ${teacher.config.contextLength}] ` +
          `(the teacher's), got ${L}`,
      );
    }
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
      throw new Error(
        `TeacherTargets.build: batchSize must be a positive integer, got ${batchSize}`,
      );
    }
    checkTokenIds(tokens, V, "TeacherTargets.build");
    const chunks = Math.floor((tokens.length - 1) / L);
    if (chunks < 1) {
      throw new Error(
        `TeacherTargets.build: ${tokens.length} tokens hold no window of contextLength ${L}`,
      );
    }
    const parts: SparseRows[] = [];
    for (let c0 = 0; c0 < chunks; c0 += batchSize) {
      const starts = Int32Array.from(
        { length: Math.min(batchSize, chunks - c0) },
        (_, i) => (c0 + i) * L,
      );
      const { inputs, targets } = windowsAt(tokens, starts, L);
      const logits = tf.tidy(() => teacher.forward(inputs, { checkIds: false }).logits);
      const values = await logits.data() as Float32Array;
      tf.dispose([inputs, targets, logits]);
      const first = c0 * L;
      parts.push(
        sparsifyLogits(
          values,
          V,
          sparsifier,
          (r) => new Rng(hashSeed(seed, "teacher-targets", first + r)),
        ),
      );
      await onProgress?.(c0 + starts.length, chunks);
    }
    return new TeacherTargets(
      { contextLength: L, vocabSize: V, chunks, sparsifier, seed, probs: probStorage(sparsifier) },
      concatSparseRows(parts),
    );
  }

  /**
   * The targets of the windows starting at `starts` (each a multiple of contextLength, as an
   * aligned `TokenBatcher` draws them): ids and probabilities `[B, contextLength, K]`, K the most
   * tokens any of their positions stores.
   */
  batch(starts: ArrayLike<number>): SparseTargetTensors {
    const L = this.meta.contextLength;
    const rowIds = new Int32Array(starts.length * L);
    for (let b = 0; b < starts.length; b++) {
      const c = starts[b] / L;
      if (!(Number.isInteger(c) && c >= 0 && c < this.chunks)) {
        throw new Error(
          `TeacherTargets.batch: window start ${starts[b]} is not one of the cached windows ` +
            `(multiples of ${L} below ${this.chunks * L}); draw windows with aligned: true`,
        );
      }
      for (let t = 0; t < L; t++) rowIds[b * L + t] = c * L + t;
    }
    const { ids, probs, k } = paddedRows(this.rows, rowIds);
    return {
      ids: tf.tensor3d(ids, [starts.length, L, k], "int32"),
      probs: tf.tensor3d(probs, [starts.length, L, k]),
    };
  }

  /** Size and coverage of the cache (bytes as {@linkcode save} writes it). */
  stats(): TeacherTargetStats {
    const positions = this.rows.offsets.length - 1;
    const entries = this.rows.ids.length;
    const mass = this.rows.teacherMass.reduce((a, b) => a + b, 0);
    const entryBytes = idBytes(this.meta.vocabSize) + PROB_BYTES[this.meta.probs ?? "float32"];
    return {
      positions,
      entriesPerPosition: entries / positions,
      bytesPerPosition: (entries * entryBytes + 4 * (positions + 1)) / positions,
      teacherMass: mass / positions,
    };
  }

  /**
   * Writes the cache into folder `dir` (created): `meta.json` and four binary arrays (ids in two
   * bytes while V ≤ 65,536; Random-Sampling KD's probabilities at τ = 1 as counts).
   */
  save(dir: string): void {
    Deno.mkdirSync(dir, { recursive: true });
    const ids = idBytes(this.meta.vocabSize) === 2
      ? Uint16Array.from(this.rows.ids)
      : this.rows.ids;
    const arrays = {
      offsets: this.rows.offsets,
      ids,
      probs: storedProbs(this.rows.probs, this.meta),
      mass: this.rows.teacherMass,
    };
    for (const name of FILES) {
      const a = arrays[name];
      Deno.writeFileSync(
        join(dir, `${name}.bin`),
        new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      );
    }
    Deno.writeTextFileSync(join(dir, "meta.json"), JSON.stringify(this.meta, null, 1) + "\n");
  }

  /** Reads a cache written by {@linkcode save}. */
  static load(dir: string): TeacherTargets {
    const meta = JSON.parse(Deno.readTextFileSync(join(dir, "meta.json"))) as Meta;
    const read = (name: string) => Deno.readFileSync(join(dir, `${name}.bin`)).buffer;
    const offsets = new Int32Array(read("offsets"));
    const idBuffer = read("ids");
    const ids = idBytes(meta.vocabSize) === 2
      ? Int32Array.from(new Uint16Array(idBuffer))
      : new Int32Array(idBuffer);
    const rows: SparseRows = {
      vocabSize: meta.vocabSize,
      offsets,
      ids,
      probs: loadedProbs(read("probs"), meta),
      teacherMass: new Float32Array(read("mass")),
    };
    const positions = meta.chunks * meta.contextLength;
    if (
      offsets.length !== positions + 1 || offsets[positions] !== ids.length ||
      rows.probs.length !== ids.length || rows.teacherMass.length !== positions
    ) {
      throw new Error(`TeacherTargets.load: the cache in ${dir} is incomplete or corrupt`);
    }
    return new TeacherTargets(meta, rows);
  }
}

/** Probabilities as `meta.probs` stores them; counts must give back each probability exactly. */
function storedProbs(probs: Float32Array, meta: Meta): Float32Array | Uint8Array | Uint16Array {
  const storage = meta.probs ?? "float32";
  if (storage === "float32") return probs;
  const S = (meta.sparsifier as { samples: number }).samples;
  const counts = storage === "count8"
    ? new Uint8Array(probs.length)
    : new Uint16Array(probs.length);
  for (let i = 0; i < probs.length; i++) {
    counts[i] = Math.round(probs[i] * S);
    if (Math.fround(counts[i] / S) !== probs[i]) {
      throw new Error(`TeacherTargets.save: probability ${probs[i]} is not a count over ${S}`);
    }
  }
  return counts;
}

/** The probabilities of a `probs.bin` buffer stored as `meta.probs` says. */
function loadedProbs(buffer: ArrayBuffer, meta: Meta): Float32Array {
  const storage = meta.probs ?? "float32";
  if (storage === "float32") return new Float32Array(buffer);
  const S = (meta.sparsifier as { samples: number }).samples;
  const counts = storage === "count8" ? new Uint8Array(buffer) : new Uint16Array(buffer);
  return Float32Array.from(counts, (c) => c / S);
}

/** Bytes per stored token id: 2 while ids fit in 16 bits. */
function idBytes(vocabSize: number): number {
  return vocabSize <= 65536 ? 2 : 4;
}

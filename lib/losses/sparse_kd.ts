/**
 * Distillation from a sparse teacher distribution: KL(p̂ ‖ softmax(z)) where the teacher's p̂ is
 * given only on K stored tokens per position (Anshumann et al., "Sparse Logit Sampling:
 * Accelerating Knowledge Distillation in LLMs", ACL 2025): the cached Top-K probabilities
 * (normalised or not) or the importance-weighted counts of tokens sampled from the teacher
 * (Random-Sampling KD). The student's softmax still runs over the whole vocabulary:
 *
 *   loss_n = Σ_k p̂_nk·(log p̂_nk − z_n,id_nk + logsumexp(z_n)),
 *
 * whose gradient in z_n is (Σ_k p̂_nk)·softmax(z_n) − p̂_n scattered to the stored ids. When
 * E[p̂] = p (Random-Sampling KD at sampling temperature 1), the gradient equals the dense forward
 * KL's in expectation; Top-K's does not (the paper's argument for sampling). Targets come from
 * `./sparse_targets.ts`; the training task gathers them from a cache
 * (`lib/train/teacher_targets.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkValues as checkLater } from "../deferred_checks.ts";
import { backendMemory, heapOffset, type WasmBackendLike } from "../wasm/tfjs_heap.ts";
import { checkLogitShape, reduceRows, type Reduction, toRows } from "./validate.ts";

/** A sparse teacher distribution per position: K token ids and their probabilities. */
export interface SparseTargetTensors {
  /** int32 `[..., K]` token ids in [0, V) (the leading shape of the logits). */
  ids: tf.Tensor;
  /**
   * float32 `[..., K]` probabilities ≥ 0 summing to at most 1 per position; 0 pads a position
   * with fewer than K tokens (its id is then irrelevant).
   */
  probs: tf.Tensor;
}

/** Options of {@linkcode sparseKL}. */
export interface SparseKLOptions {
  /** 0/1 tensor of the leading shape ([N] or [B, T]); 0 excludes a position. */
  mask?: tf.Tensor;
  /** Default "mean": the mean over unmasked positions. */
  reduction?: Reduction;
  /** Check ids, probabilities, logits and mask (one small deferred readback; default true). */
  validate?: boolean;
}

const FN = "sparseKL";

/**
 * KL(p̂ ‖ softmax(z)) for a sparse teacher distribution p̂ (see the module doc); for Top-K
 * targets that are not normalised it is the generalised KL Σ p̂·log(p̂/q) of the stored mass.
 *
 * @param studentLogits `[N, V]` or `[B, T, V]` student logits.
 * @param targets ids and probabilities `[..., K]` with the logits' leading shape.
 *
 * @example One position, the teacher's mass on tokens 0 and 2
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { sparseKL } from "./sparse_kd.ts";
 *
 * // A uniform student over 4 tokens: KL((½, ½) ‖ ¼) = log 2.
 * const loss = sparseKL(tf.zeros([1, 4]), {
 *   ids: tf.tensor2d([[0, 2]], [1, 2], "int32"),
 *   probs: tf.tensor2d([[0.5, 0.5]]),
 * });
 * assert.ok(Math.abs(loss.dataSync()[0] - Math.log(2)) < 1e-6);
 * ```
 */
export function sparseKL(
  studentLogits: tf.Tensor,
  targets: SparseTargetTensors,
  options: SparseKLOptions = {},
): tf.Tensor {
  checkLogitShape(FN, "studentLogits", studentLogits);
  const { ids, probs, mask } = { ...targets, mask: options.mask };
  const leading = studentLogits.shape.slice(0, -1);
  const V = studentLogits.shape.at(-1)!;
  for (const [name, x] of [["targets.ids", ids], ["targets.probs", probs]] as const) {
    if (!(x instanceof tf.Tensor) || x.rank !== leading.length + 1) {
      throw new Error(
        `${FN}: ${name} must be [${leading}, K] (the logits' leading shape), got ` +
          `${x instanceof tf.Tensor ? `[${x.shape}]` : typeof x}`,
      );
    }
    if (x.shape.slice(0, -1).join() !== leading.join()) {
      throw new Error(
        `${FN}: ${name} [${x.shape}] must have the logits' leading shape [${leading}]`,
      );
    }
  }
  if (ids.dtype !== "int32") throw new Error(`${FN}: targets.ids must be int32, got ${ids.dtype}`);
  if (ids.shape.join() !== probs.shape.join()) {
    throw new Error(`${FN}: targets.ids [${ids.shape}] and targets.probs [${probs.shape}] differ`);
  }
  const K = ids.shape.at(-1)!;
  if (K === 0) throw new Error(`${FN}: targets hold no token (K = 0)`);
  return tf.tidy(() => {
    // The logits as rows [N, V] and the mask's check and rows, as every objective gets them.
    const rows = toRows(FN, studentLogits, studentLogits, { mask, validate: false });
    if (options.validate ?? true) checkTargets(studentLogits, ids, probs, V, mask);
    const N = rows.student.shape[0];
    const perRow = sparseKLPerRow(
      rows.student,
      probs.reshape([N, K]).toFloat() as tf.Tensor2D,
      ids.reshape([N, K]) as tf.Tensor2D,
    );
    return reduceRows(perRow, rows, options.reduction);
  });
}

/** Where {@linkcode sparseKLPerRow} computes: the host for backends that keep tensors there. */
export type SparseKLPath = "host" | "device";

/**
 * Per-row KL(p̂ ‖ softmax(z)) `[N]` of logits `z` `[N, V]`, probabilities `p` and ids `[N, K]`
 * (no checks: {@linkcode sparseKL} makes them), with its gradient in z written out:
 * (Σ_k p̂_k)·softmax(z) − p̂ scattered to the stored ids (repeated ids summed).
 *
 * Two implementations, chosen by backend unless `path` says: on wasm and cpu, whose tensors live
 * in host memory, the backend's softmax and multiply kernels over the logits and plain loops over
 * the K stored entries per row (tfjs's wasm Gather, ScatterND and integer ops cost 20–30 ms each
 * at N·K = 65,536, N·V = 10⁶, and autodiff of the gather would need UnsortedSegmentSum, which
 * wasm lacks and cpu runs in O(N·K·N·V)); elsewhere (webgpu) tfjs ops: a gather of z at n·V + id
 * for the value, `scatterND` for the gradient.
 */
export function sparseKLPerRow(
  z: tf.Tensor2D,
  p: tf.Tensor2D,
  ids: tf.Tensor2D,
  path: SparseKLPath = ["wasm", "cpu"].includes(tf.getBackend()) ? "host" : "device",
): tf.Tensor1D {
  return (path === "host" ? sparseKLHost : sparseKLDevice)(z, p, ids);
}

/**
 * A tensor's values where the host reads them, and whether they are the tensor's own storage: on
 * wasm a view of tfjs's heap (no copy: a 4 MiB dataSync costs ~20 ms there), elsewhere
 * `dataSync`. A view is valid until the next tfjs allocation.
 */
function hostValues(x: tf.Tensor): { values: Float32Array | Int32Array; view: boolean } {
  if (tf.getBackend() === "wasm") {
    const backend = tf.backend() as unknown as WasmBackendLike;
    const memory = backendMemory(backend);
    if (memory) {
      const offset = heapOffset(backend, x);
      const values = x.dtype === "int32"
        ? new Int32Array(memory.buffer, offset, x.size)
        : new Float32Array(memory.buffer, offset, x.size);
      return { values, view: true };
    }
  }
  return { values: x.dataSync() as Float32Array | Int32Array, view: false };
}

const sparseKLHost = tf.customGrad(
  ((z: tf.Tensor2D, p: tf.Tensor2D, ids: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [N, V] = z.shape;
    const K = ids.shape[1];
    // The backend's softmax kernel does the O(N·V) work; the host reads K entries per row.
    const q = tf.softmax(z);
    // Heap views after the last allocation until the loop ends (see the gradient).
    const [qs, ps, is] = [q, p, ids].map((x) => hostValues(x).values);
    let zs: Float32Array | undefined;
    /** log q[n, id] from the logits, where q underflows (a student far from the teacher). */
    const logQExact = (n: number, id: number) => {
      zs ??= hostValues(z).values as Float32Array;
      let max = -Infinity, sum = 0;
      for (let v = n * V; v < (n + 1) * V; v++) max = Math.max(max, zs[v]);
      for (let v = n * V; v < (n + 1) * V; v++) sum += Math.exp(zs[v] - max);
      return zs[n * V + id] - max - Math.log(sum);
    };
    const value = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      let kl = 0;
      for (let k = n * K; k < (n + 1) * K; k++) {
        if (!(ps[k] > 0)) continue; // padding; p·log p is a constant of the targets
        const qk = qs[n * V + is[k]];
        kl += ps[k] * (Math.log(ps[k]) - (qk > 1e-30 ? Math.log(qk) : logQExact(n, is[k])));
      }
      value[n] = kl;
    }
    save([q, p, ids]);
    return {
      value: tf.tensor1d(value),
      gradFunc: (dy: tf.Tensor, [qSaved, pSaved, idsSaved]: tf.Tensor[]) => {
        const d = dy.dataSync();
        const mass = tf.sum(pSaved, 1, true);
        // (Σp̂)·dy·softmax(z) by the backend, then −dy·p̂ at the stored ids on the host. Heap
        // views are taken after the last allocation: growing wasm memory detaches older ones.
        const g = tf.mul(qSaved, tf.mul(mass, tf.tensor2d(d, [N, 1])));
        const [ps, is] = [pSaved, idsSaved].map((x) => hostValues(x).values);
        const { values, view } = hostValues(g);
        const gs = view ? values : Float32Array.from(values);
        for (let n = 0; n < N; n++) {
          for (let k = n * K; k < (n + 1) * K; k++) gs[n * V + is[k]] -= d[n] * ps[k];
        }
        const grad = view ? g : tf.tensor2d(gs, [N, V]);
        return [grad, tf.zerosLike(pSaved), tf.zerosLike(idsSaved)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as (z: tf.Tensor2D, p: tf.Tensor2D, ids: tf.Tensor2D) => tf.Tensor1D;

const sparseKLDevice = tf.customGrad(
  ((z: tf.Tensor2D, p: tf.Tensor2D, ids: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [N, V] = z.shape;
    const K = ids.shape[1];
    const lse = tf.logSumExp(z, 1, true);
    // z[n, id] by one gather over the flattened logits: index n·V + id.
    const rowOf = tf.range(0, N, 1, "int32").reshape([N, 1]);
    const flat = tf.add(ids, tf.mul(rowOf, tf.scalar(V, "int32"))).reshape([N * K]);
    const logQ = tf.sub(tf.gather(z.reshape([N * V]), flat).reshape([N, K]), lse);
    // p·log p is a constant of the targets (0 for padding): the loss is a KL, 0 at the optimum.
    const pLogP = tf.mul(p, tf.log(tf.maximum(p, 1e-30)));
    save([z, p, ids]);
    return {
      value: tf.sum(tf.sub(pLogP, tf.mul(p, logQ)), 1),
      gradFunc: (dy: tf.Tensor, [zs, ps, is]: tf.Tensor[]) => {
        const rows = tf.tile(tf.range(0, N, 1, "int32").reshape([N, 1]), [1, K]);
        const pairs = tf.stack([rows, is], 2).reshape([N * K, 2]);
        const dense = tf.scatterND(pairs, ps.reshape([N * K]), [N, V]);
        const grad = tf.sub(tf.mul(tf.sum(ps, 1, true), tf.softmax(zs)), dense);
        return [tf.mul(dy.reshape([N, 1]), grad), tf.zerosLike(ps), tf.zerosLike(is)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as (z: tf.Tensor2D, p: tf.Tensor2D, ids: tf.Tensor2D) => tf.Tensor1D;

/**
 * Rejects ids outside [0, V), negative or non-finite probabilities, positions whose stored mass
 * exceeds 1, NaN/Inf logits and bad masks: at once, or on webgpu at the next flush.
 */
function checkTargets(
  logits: tf.Tensor,
  ids: tf.Tensor,
  probs: tf.Tensor,
  V: number,
  mask?: tf.Tensor,
): void {
  const flags = tf.tidy(() => {
    const m = mask?.toFloat();
    const p = probs.toFloat();
    return tf.stack([
      tf.min(ids).toFloat(),
      tf.max(ids).toFloat(),
      tf.min(p),
      tf.max(tf.sum(p, -1)),
      tf.sum(tf.abs(logits.toFloat())),
      m ? tf.sum(tf.mul(m, tf.sub(1, m)).abs()) : tf.scalar(0),
      m ? tf.sum(m) : tf.scalar(1),
    ]);
  });
  checkLater(flags, ([lo, hi, pMin, massMax, logitSum, badMask, count]) => {
    if (lo < 0 || hi >= V) return `${FN}: targets.ids must be in [0, ${V}), got [${lo}, ${hi}]`;
    if (!(pMin >= 0) || !Number.isFinite(massMax)) {
      return `${FN}: targets.probs must be finite and ≥ 0`;
    }
    if (massMax > 1 + 1e-4) {
      return `${FN}: targets.probs must sum to at most 1 per position, got ${+massMax.toFixed(6)}`;
    }
    if (!Number.isFinite(logitSum)) return `${FN}: studentLogits contain NaN or Inf`;
    if (badMask !== 0 || !Number.isFinite(count)) return `${FN}: mask must hold only 0 and 1`;
    if (count === 0) return `${FN}: every position is masked; nothing to average`;
  });
}

/**
 * Representation (feature-level) distillation between a teacher's and a student's penultimate
 * features `[B, d_T]`, `[B, d_S]`, the methods of the CRD benchmark (Tian et al., ICLR 2020) that
 * compare embeddings: FitNets' hint through a learned regressor (`FitNetHint`), relational KD
 * (`relationalKD`: distances and angles), similarity-preserving KD (`similarityPreserving`: Gram
 * matrices), probabilistic knowledge transfer (`probabilisticKT`: cosine-kernel probabilities),
 * correlation congruence (`correlationCongruence`: Taylor-expanded RBF kernels among the batch),
 * variational information distillation (`VariationalInformation`: the teacher's features'
 * likelihood under a Gaussian predicted from the student's) and CRD itself
 * (`ContrastiveRepresentation`: the paper's NCE over memory banks, `ContrastMemory`, or in-batch
 * negatives). The four relational losses need no parameters and accept any two widths; the hint,
 * VID and CRD own trainable heads, and CRD's NCE its memory banks. The middle-layer methods
 * compare a CNN's intermediate block outputs instead (`block_maps.ts`: checks, and flattening to
 * one row per example): attention transfer (`attentionTransfer`, Zagoruyko & Komodakis 2017) the
 * student's against the teacher's normalised spatial attention maps (`attentionTargets`), neuron
 * selectivity transfer (`neuronSelectivityTransfer`, Huang & Wang 2017) the distributions of their
 * channels' spatial patterns, VID on the blocks (`BlockVariationalInformation`) the teacher's
 * outputs' likelihood through 1×1-conv regressors, FitNets' hint on a block (`BlockFitNetHint`)
 * the teacher's output through a 3×3-conv regressor, and factor transfer (`FactorTransfer`, Kim et
 * al. 2018) the factors of a paraphraser trained first on the teacher's block (a first stage,
 * `Objective.prepare`) and of a translator on the student's; activation boundaries
 * (`ActivationBoundary`, Heo et al. 2019) and FSP (`trainStudentFlow`, Yim et al. 2017) train the
 * student's blocks first, alone (`trainFirstStage`), so that their neurons fire where the
 * teacher's do, or so that the Gram matrices of consecutive blocks' channels (`fspMatrix`) are the
 * teacher's. The loss registry (`lib/losses/registry.ts`)
 * adds each to CE (and optionally KD) as the names `fitnet`, `rkd`, `sp`, `pkt`, `cc`, `vid`,
 * `crd` (in-batch), `crd_nce` (memory banks), `at`, `nst`, `vid_maps`, `fitnet_maps`, `ft`, and
 * `ab` and `fsp` (their first stage, then CE and optionally KD alone); image-classifier tasks
 * pass both models' features to them (for `crd_nce`, the rows' indices in the training split too;
 * for the middle-layer methods, the CNN student's block outputs and what the objective keeps of
 * the teacher's).
 *
 * @example Relations survive a change of scale and width
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   correlationCongruence,
 *   probabilisticKT,
 *   relationalKD,
 *   similarityPreserving,
 * } from "./mod.ts";
 *
 * const teacher = tf.tensor2d([[1, 0, 2], [0, 1, 1], [3, 1, 0], [1, 1, 1]]);
 * // The student's features: the teacher's scaled by 5 and padded with a zero column.
 * const student = tf.concat([tf.mul(teacher, 5), tf.zeros([4, 1])], 1);
 * for (const loss of [relationalKD, similarityPreserving, probabilisticKT, correlationCongruence]) {
 *   assert.ok((await loss(teacher, student).data())[0] < 1e-6, loss.name);
 * }
 * assert.throws(() => relationalKD(teacher, tf.zeros([3, 2])), /same examples, got 4 and 3 rows/);
 * ```
 *
 * @module
 */
export * from "./checks.ts";
export * from "./relational_kd.ts";
export * from "./similarity_preserving.ts";
export * from "./pkt.ts";
export * from "./fitnet_hint.ts";
export * from "./crd.ts";
export * from "./crd_memory.ts";
export * from "./block_maps.ts";
export * from "./attention_transfer.ts";
export * from "./neuron_selectivity.ts";
export * from "./correlation_congruence.ts";
export * from "./variational_information.ts";
export * from "./factor_transfer.ts";
export * from "./first_stage.ts";
export * from "./activation_boundary.ts";
export * from "./flow_of_solution.ts";

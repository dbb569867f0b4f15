/**
 * Experiments as data: specs that train, evaluate and summarise runs under `runs/`, used by the
 * reproduction notebooks (analysis layer: uses the run store). Each experiment module also
 * exports `runJob`, the entry of its worker processes (not re-exported here).
 *
 * @example Mode covering and mode seeking, on the toy of `01_objectives.ipynb`
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend.ts";
 * import { fitUnimodalStudent, toyModes } from "./mod.ts";
 *
 * await initBackend(); // the best available: a GPU through WebGPU, else wasm (a notebook's first cell)
 * // A one-bump student fitted to a teacher with two bumps of width 3 at 16 and 46 (V = 64).
 * assert.deepEqual(toyModes(64), [16, 46]);
 * const fkl = await fitUnimodalStudent("fkl"); // 400 Adam steps
 * const rkl = await fitUnimodalStudent("rkl");
 * // Forward KL covers both modes with one wide bump between them...
 * assert.ok(fkl.sigma > 15 && fkl.massNearModes.every((m) => m > 0.2));
 * // ...reverse KL settles on the nearer mode and takes its exact shape.
 * assert.ok(Math.abs(rkl.mu - 46) < 0.01 && Math.abs(rkl.sigma - 3) < 0.01);
 * assert.ok(rkl.massNearModes[1] > 0.99);
 * ```
 *
 * @module
 */
export * from "./mode_mass.ts";
export * from "./mode_toy.ts";
export * from "./minilm_study.ts";
export * from "./taid_study.ts";
export {
  dependencies,
  directDependencies,
  estimatedCost,
  generationScores,
  lmData,
  lmRun,
  type LMSpec,
  type LMSummary,
  loadLanguageModel,
  runLanguageModel,
  runLanguageModels,
  type RunManyOptions,
  sparsifierLabel,
  stepMilliseconds,
  studentModeMass,
  teacherTargetRun,
  teacherTargetsFor,
  type TeacherTargetSummary,
} from "./lm.ts";
export * from "./vision_study.ts";
export {
  loadVisionModel,
  runVision,
  runVisions,
  stepsTrained,
  visionRun,
  type VisionSpec,
  type VisionSummary,
  visionTestSplit,
} from "./vision.ts";
export * from "./distill_sweep.ts";
export * from "./distillm_study.ts";
export * from "./fdistill_study.ts";
export * from "./sparse_kd_study.ts";
export * from "./patient_kd_study.ts";
export * from "./teacher_gap_study.ts";
export * from "./born_again_study.ts";
export * from "./representation_study.ts";
export * from "./seeds.ts";
export * from "./phis_study.ts";
export {
  distortionMap,
  type FeatureDistortion,
  PHIS_METHODS,
  phisImages,
  type PhisJob,
  type PhisMethod,
  type PhisRow,
  phisRun,
  type PhisStudentSpec,
  type PhisSummary,
  type PhisTeacher,
  poolMoments,
  runPhisStudent,
  runPhisStudents,
  type TeacherFeatures,
  teacherFeatures,
} from "./phis.ts";

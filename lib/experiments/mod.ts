/**
 * Experiments as data: specs that train, evaluate and summarise runs under `runs/`, used by the
 * reproduction notebooks (analysis layer: uses the run store). Each experiment module also
 * exports `runJob`, the entry of its worker processes (not re-exported here).
 *
 * @module
 */
export * from "./mode_mass.ts";
export * from "./mode_toy.ts";
export * from "./taid_study.ts";
export {
  dependencies,
  directDependencies,
  estimatedCost,
  lmData,
  lmRun,
  type LMSpec,
  type LMSummary,
  loadLanguageModel,
  runLanguageModel,
  runLanguageModels,
  type RunManyOptions,
  studentModeMass,
} from "./lm.ts";
export * from "./vision_study.ts";
export {
  loadVisionModel,
  runVision,
  runVisions,
  visionRun,
  type VisionSpec,
  type VisionSummary,
} from "./vision.ts";
export * from "./distill_sweep.ts";
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

/**
 * The first training stage of the methods that the CRD benchmark (Tian et al., ICLR 2020;
 * RepDistiller's `init`) trains before the student's own: factor transfer's paraphraser, and the
 * student's conv blocks alone under activation boundaries or FSP. A fixed number of AdamW steps at
 * a constant learning rate on a loss of the step's batch (the benchmark: SGD for 30 epochs).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { paramGrads, type Params } from "../models/params.ts";
import { AdamW } from "../train/adamw.ts";

/** The steps, learning rate and weight decay of a first stage. */
export interface FirstStageOptions {
  /** Optimiser steps (default 1,000). */
  steps?: number;
  /** AdamW's learning rate, constant (default 1e-3). */
  learningRate?: number;
  /** AdamW's decoupled weight decay on the kernels (default 1e-4). */
  weightDecay?: number;
}

/** A first stage's loss (and, when asked, another measure) at its first and its last step. */
export interface FirstStageFit {
  /** The loss of the first batch, before any update. */
  initialLoss: number;
  /** The loss of the last batch, before its update. */
  finalLoss: number;
  /** The probe on the first batch, before any update (NaN without a probe). */
  initialProbe: number;
  /** The probe on the last batch, before its update (NaN without a probe). */
  finalProbe: number;
}

/** What {@linkcode trainFirstStage} trains and reports. */
export interface FirstStage {
  /** The caller, for errors (`"FactorTransfer.trainParaphraser"`). */
  fn: string;
  /** What the loss is called in errors (`"the reconstruction error"`). */
  lossName: string;
  /** The variables trained. */
  params: Params;
  /** The loss of step `step`'s batch, computed with the current variables (inside a tidy). */
  loss(step: number): tf.Scalar;
  /** A measure of the first and the last batch, taken before their update (inside a tidy). */
  probe?(step: number): tf.Scalar;
}

/**
 * Throws, naming the caller `fn`, unless `studentVariables` (the student's conv blocks' variables,
 * which AB's and FSP's first stages train) holds at least one variable.
 */
export function checkStudentVariables(fn: string, studentVariables: Params): void {
  if (Object.keys(studentVariables).length === 0) {
    throw new Error(`${fn}: studentVariables is empty (the student's conv blocks' variables)`);
  }
}

/**
 * Trains `stage.params` on `stage.loss` with AdamW; returns the loss (and the probe) of the first
 * and the last batch, read asynchronously (so it works on webgpu too). Throws, naming the caller,
 * on bad options or a non-finite loss at the first or the last step.
 */
export async function trainFirstStage(
  stage: FirstStage,
  options: FirstStageOptions = {},
): Promise<FirstStageFit> {
  const { fn } = stage;
  const { steps = 1000, learningRate = 1e-3, weightDecay = 1e-4 } = options;
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new Error(`${fn}: steps must be a positive integer, got ${steps}`);
  }
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new Error(`${fn}: learningRate must be > 0, got ${learningRate}`);
  }
  const optimizer = new AdamW(stage.params, { weightDecay });
  const fit = { initialLoss: NaN, finalLoss: NaN, initialProbe: NaN, finalProbe: NaN };
  try {
    for (let step = 0; step < steps; step++) {
      const read = step === 0 || step === steps - 1;
      const { value, probe } = tf.tidy(() => {
        const { value, grads } = paramGrads(() => stage.loss(step), stage.params);
        const probe = read && stage.probe ? stage.probe(step) : undefined;
        optimizer.apply(grads, learningRate);
        return probe ? { value, probe } : { value };
      });
      if (read) {
        const loss = (await value.data())[0];
        const measure = probe ? (await probe.data())[0] : NaN;
        probe?.dispose();
        if (!Number.isFinite(loss)) {
          value.dispose();
          throw new Error(
            `${fn}: ${stage.lossName} is ${loss} at step ${step} (non-finite inputs, or ` +
              `learningRate ${learningRate} too large)`,
          );
        }
        if (step === 0) [fit.initialLoss, fit.initialProbe] = [loss, measure];
        if (step === steps - 1) [fit.finalLoss, fit.finalProbe] = [loss, measure];
      }
      value.dispose();
    }
  } finally {
    optimizer.dispose();
  }
  return fit;
}

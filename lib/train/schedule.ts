/**
 * Learning-rate schedules as functions of the step: linear warm-up then cosine decay
 * (Loshchilov & Hutter, "SGDR", ICLR 2017; the GPT-3 / nanoGPT recipe).
 *
 * @module
 */

/** Step → learning rate. */
export type Schedule = (step: number) => number;

/** Options of {@link warmupCosine}. */
export interface WarmupCosineOptions {
  /** The largest learning rate, reached at the end of warm-up. */
  peakLr: number;
  /** Steps of the whole schedule (the cosine ends here). */
  totalSteps: number;
  /** Linear warm-up from 0 over this many steps (default 0). */
  warmupSteps?: number;
  /** Floor of the cosine, as a fraction of the peak (default 0.1). */
  minLrRatio?: number;
}

/**
 * `lr(k) = peak·(k+1)/warmup` during warm-up, then
 * `min + ½(peak − min)(1 + cos(π·progress))` with progress from 0 at the end of warm-up to 1 at
 * `totalSteps`, and `min` afterwards.
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const { peakLr, totalSteps, warmupSteps = 0, minLrRatio = 0.1 } = options;
  if (!(peakLr > 0)) throw new Error(`warmupCosine: peakLr must be > 0, got ${peakLr}`);
  if (!(totalSteps >= 1)) {
    throw new Error(`warmupCosine: totalSteps must be ≥ 1, got ${totalSteps}`);
  }
  if (!(warmupSteps >= 0 && warmupSteps <= totalSteps)) {
    throw new Error(`warmupCosine: warmupSteps must be in [0, totalSteps], got ${warmupSteps}`);
  }
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
    throw new Error(`warmupCosine: minLrRatio must be in [0, 1], got ${minLrRatio}`);
  }
  const minLr = peakLr * minLrRatio;
  return (step) => {
    if (step < warmupSteps) return peakLr * (step + 1) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * The warm-up of every study in `lib/experiments`: 5% of the steps, rounded, at least one (the
 * few-percent linear warm-up of the GPT-3 / nanoGPT recipe).
 */
export function warmupStepsFor(totalSteps: number): number {
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) {
    throw new Error(`warmupStepsFor: totalSteps must be a positive integer, got ${totalSteps}`);
  }
  return Math.max(1, Math.round(totalSteps / 20));
}

/** A constant learning rate. */
export function constantLr(lr: number): Schedule {
  if (!(lr > 0)) throw new Error(`constantLr: lr must be > 0, got ${lr}`);
  return () => lr;
}

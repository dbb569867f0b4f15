/**
 * Bootstrap confidence intervals of a scaling-law fit, as Epoch AI's replication computes them
 * (Besiroglu et al., 2024): resample the points with replacement, refit each resample from the
 * full-data optimum, and report the standard deviation and percentile interval of each
 * coefficient. Resamples are seeded, so intervals are reproducible, and each resample is
 * independent (split `indices` across processes to parallelise).
 *
 * @module
 */
import { Rng } from "../data/rng.ts";
import type { ScalingPoint } from "./chinchilla.ts";

/** Summary of one coefficient over the resamples. */
export interface BootstrapInterval {
  /** The coefficient fitted on all points. */
  estimate: number;
  /** Standard deviation of the coefficient over the resamples. */
  se: number;
  /** Lower end of the percentile interval. */
  lower: number;
  /** Upper end of the percentile interval. */
  upper: number;
}

/** Options of {@link bootstrap}. */
export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 42). */
  seed?: number;
  /** Central interval level (default 0.95: the 2.5th and 97.5th percentiles). */
  level?: number;
  /** Only these resample indices (for splitting the work); default all. */
  indices?: number[];
}

/** The point indices of resample `r` (a pure function of seed and r). */
export function resampleIndices(n: number, seed: number, r: number): Int32Array {
  const rng = new Rng((seed * 0x9e3779b1 + r * 0x85ebca6b) >>> 0);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(n);
  return out;
}

/** The q-quantile of sorted values (linear interpolation, as NumPy's default). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Refits `fit` on resampled points and summarises every numeric coefficient named in `keys`.
 * Resamples whose fit throws are counted in `failed`, not silently dropped.
 */
export function bootstrap<P, K extends keyof P & string>(
  points: ScalingPoint[],
  fit: (points: ScalingPoint[]) => P,
  keys: K[],
  estimate: P,
  options: BootstrapOptions = {},
): { intervals: Record<string, BootstrapInterval>; samples: P[]; failed: number } {
  const { resamples = 1000, seed = 42, level = 0.95 } = options;
  if (!(level > 0 && level < 1)) {
    throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  }
  const indices = options.indices ?? Array.from({ length: resamples }, (_, r) => r);
  const samples: P[] = [];
  let failed = 0;
  for (const r of indices) {
    const pick = resampleIndices(points.length, seed, r);
    try {
      samples.push(fit(Array.from(pick, (i) => points[i])));
    } catch {
      failed++;
    }
  }
  const intervals: Record<string, BootstrapInterval> = {};
  for (const key of keys) {
    const values = samples.map((s) => Number(s[key])).filter(Number.isFinite).sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const se = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    intervals[key] = {
      estimate: Number(estimate[key]),
      se,
      lower: quantile(values, (1 - level) / 2),
      upper: quantile(values, 1 - (1 - level) / 2),
    };
  }
  return { intervals, samples, failed };
}

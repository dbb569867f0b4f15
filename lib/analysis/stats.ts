/**
 * Small statistics for result tables: mean, sample standard deviation and a 95% confidence
 * half-width (Student's t) per group.
 *
 * @module
 */

/** Two-sided 95% quantiles of Student's t for 1–30 degrees of freedom. */
const T95 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** Mean, sample std (n−1), n and the 95% CI half-width of finite values. */
export function describe(values: number[]): { mean: number; std: number; n: number; ci95: number } {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0, ci95: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : NaN;
  const ci95 = n > 1 ? T95[Math.min(n - 2, T95.length - 1)] * std / Math.sqrt(n) : NaN;
  return { mean, std, n, ci95 };
}

/**
 * Rows grouped by `key` (in first-seen order) with `<metric>_mean`, `<metric>_std` and
 * `<metric>_ci95` for each metric, plus `n`.
 */
export function groupStats<T extends Record<string, unknown>>(
  rows: T[],
  key: keyof T & string,
  metrics: (keyof T & string)[],
): Record<string, number | string>[] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = String(row[key]);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(row);
  }
  return [...groups.entries()].map(([k, members]) => {
    const out: Record<string, number | string> = { [key]: k, n: members.length };
    for (const m of metrics) {
      // null/undefined (a metric a run does not have, e.g. SFT's KL to a teacher) is missing, not 0.
      const d = describe(members.map((r) => (r[m] == null ? NaN : Number(r[m]))));
      out[`${m}_mean`] = d.mean;
      out[`${m}_std`] = d.std;
      out[`${m}_ci95`] = d.ci95;
    }
    return out;
  });
}

/** `mean ± std` as text with `digits` decimals (just the mean when std is undefined; "—" when
 * there is no mean). */
export function formatMeanStd(mean: number, std: number, digits = 3): string {
  if (!Number.isFinite(mean)) return "—";
  return Number.isFinite(std)
    ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`
    : mean.toFixed(digits);
}

/**
 * A number with `digits` decimals, or "—" when there is none: a metric a run does not have
 * (null, undefined, NaN; e.g. CPU seconds of a run trained before kdlab recorded them).
 */
export function formatFixed(x: number | null | undefined, digits = 3): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—";
}

/** Standard deviation of first differences of a series: step-to-step jitter of a loss curve. */
export function stepJitter(series: number[]): number {
  const diffs = series.slice(1).map((x, i) => x - series[i]);
  return describe(diffs).std;
}

/** A paired comparison of two methods over the seeds both ran (see {@link pairedDifference}). */
export interface PairedDifference {
  /** Mean of a − b over the shared seeds. */
  mean: number;
  /** Sample std (n−1) of the differences (NaN for one seed). */
  std: number;
  /** Shared seeds. */
  n: number;
  /** 95% Student-t interval of the mean difference (NaN for one seed). */
  low: number;
  /** Upper end of that interval. */
  high: number;
  /** True when the interval lies entirely below or above 0. */
  excludesZero: boolean;
}

/**
 * The paired difference a − b of a metric over matched seeds (keys), with a 95% Student-t
 * interval: runs of two methods that share a seed share its data order and initial weights, so
 * their difference varies less than either does, and a 3-seed comparison is judged on it.
 *
 * @param a Metric of method A by seed.
 * @param b Metric of method B by seed; only seeds present in both are paired.
 */
export function pairedDifference(
  a: Record<string, number>,
  b: Record<string, number>,
): PairedDifference {
  const seeds = Object.keys(a).filter((k) => k in b);
  if (seeds.length === 0) {
    throw new Error(
      `pairedDifference: a and b share no seed (a: ${Object.keys(a)}; b: ${Object.keys(b)})`,
    );
  }
  for (const k of seeds) {
    if (!Number.isFinite(a[k]) || !Number.isFinite(b[k])) {
      throw new Error(`pairedDifference: seed ${k} is not finite (a ${a[k]}, b ${b[k]})`);
    }
  }
  const { mean, std, n, ci95 } = describe(seeds.map((k) => a[k] - b[k]));
  const [low, high] = [mean - ci95, mean + ci95];
  return { mean, std, n, low, high, excludesZero: low > 0 || high < 0 };
}

/**
 * A paired difference as text: `−0.077 [−0.190, 0.036]` (just the mean for one seed). Options:
 * `scale` multiplies every number (100: accuracy in points), `plus` signs the non-negative ones.
 */
export function formatPaired(
  d: PairedDifference,
  digits = 3,
  options: { scale?: number; plus?: boolean } = {},
): string {
  const { scale = 1, plus = false } = options;
  const f = (x: number) => (x < 0 ? "−" : plus ? "+" : "") + Math.abs(scale * x).toFixed(digits);
  return Number.isFinite(d.low) ? `${f(d.mean)} [${f(d.low)}, ${f(d.high)}]` : f(d.mean);
}

/** A paired difference of one metric between two groups of result rows (methods), named. */
export interface PairedComparison extends PairedDifference {
  /** The first group (a in a − b). */
  a: string;
  /** The second group (b in a − b). */
  b: string;
  /** The metric compared. */
  metric: string;
}

/**
 * Paired comparisons among the groups of result rows: `compare(a, b)` is the difference of
 * `metric` between group `a` and group `b` (rows whose `group` field equals them), paired over
 * the seeds both ran (see {@link pairedDifference}). A scorecard row comparing two methods carries
 * it as its evidence.
 *
 * @param rows One row per run: a group (method), a seed and the metric.
 * @param options `group` and `metric` name the row fields; `seed` defaults to `"seed"`.
 * @returns A function of two group names; it throws, naming the group, when either has no row
 *   or a seed appears twice in one group.
 */
export function pairedComparisons<T extends Record<string, unknown>>(
  rows: T[],
  options: { group: keyof T & string; metric: keyof T & string; seed?: keyof T & string },
): (a: string, b: string) => PairedComparison {
  const { group, metric } = options;
  const seed = options.seed ?? "seed";
  const bySeed = (name: string): Record<string, number> => {
    const members = rows.filter((r) => String(r[group]) === name);
    if (members.length === 0) {
      const known = [...new Set(rows.map((r) => String(r[group])))].join(", ");
      throw new Error(`pairedComparisons: no row has ${group} = ${name} (there are: ${known})`);
    }
    const out: Record<string, number> = {};
    for (const r of members) {
      const key = String(r[seed]);
      if (key in out) {
        throw new Error(
          `pairedComparisons: ${group} = ${name} has two rows with ${seed} = ${key}; ` +
            `filter the rows to one setting first`,
        );
      }
      out[key] = r[metric] == null ? NaN : Number(r[metric]);
    }
    return out;
  };
  return (a, b) => ({ ...pairedDifference(bySeed(a), bySeed(b)), a, b, metric });
}

/** A comparison as text: `val_ce taid − fkl 0.226 [0.146, 0.306]` (see {@link formatPaired}). */
export function formatComparison(d: PairedComparison, digits = 3): string {
  return `${d.metric} ${d.a} − ${d.b} ${formatPaired(d, digits)}`;
}

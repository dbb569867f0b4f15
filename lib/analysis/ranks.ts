/**
 * Ordinal ranks with ties, and the "average rank across benchmarks" summary the PHI-S paper uses
 * to compare normalisers (Ranzinger et al., arXiv 2410.01680, Tab. 1: 1 = best; a method's score
 * is the mean of its ranks over the metrics of a group, and the headline is the mean over groups).
 *
 * @module
 */

/** Ranks 1..n of `values` (1 = best), tied values sharing the mean of their ranks. */
export function ranksWithTies(values: number[], options: { lowerIsBetter: boolean }): number[] {
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      throw new Error(`ranksWithTies: value ${i} is ${v}; ranks need finite values`);
    }
  });
  const order = values.map((v, i) => ({ v: options.lowerIsBetter ? v : -v, i })).sort((a, b) =>
    a.v - b.v
  );
  const out = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k].i] = rank;
    start = end + 1;
  }
  return out;
}

/** One score of one method on one criterion (e.g. teacher "sam", metric "mse"). */
export interface RankInput {
  /** The method ranked. */
  method: string;
  /** The criterion it is ranked on, against the other methods. */
  criterion: string;
  /** The group the criterion belongs to (e.g. "teacher MSE", "kNN"). */
  group: string;
  /** The score. */
  value: number;
  /** Whether a lower score ranks first (e.g. MSE) or a higher one (accuracy). */
  lowerIsBetter: boolean;
}

/**
 * Ranks the methods on every criterion, averages the ranks within each group, then over groups.
 * Returns one record per method: `{method, <group>: mean rank, ..., average}`, best first. Every
 * method must have a value on every criterion.
 */
export function averageRanks(inputs: RankInput[]): Record<string, number | string>[] {
  const methods = [...new Set(inputs.map((r) => r.method))];
  const criteria = [...new Set(inputs.map((r) => `${r.group}\u0000${r.criterion}`))];
  const groups = [...new Set(inputs.map((r) => r.group))];
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const key of criteria) {
    const [group, criterion] = key.split("\u0000");
    const rows = methods.map((m) => {
      const hit = inputs.filter((r) =>
        r.method === m && r.group === group && r.criterion === criterion
      );
      if (hit.length !== 1) {
        throw new Error(
          `averageRanks: method "${m}" has ${hit.length} values for ${group}/${criterion}; expected 1`,
        );
      }
      return hit[0];
    });
    const ranks = ranksWithTies(rows.map((r) => r.value), { lowerIsBetter: rows[0].lowerIsBetter });
    methods.forEach((m, i) => {
      const k = `${m}\u0000${group}`;
      sums.set(k, (sums.get(k) ?? 0) + ranks[i]);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    });
  }
  return methods.map((method) => {
    const row: Record<string, number | string> = { method };
    let total = 0;
    for (const g of groups) {
      const mean = sums.get(`${method}\u0000${g}`)! / counts.get(`${method}\u0000${g}`)!;
      row[g] = mean;
      total += mean;
    }
    row.average = total / groups.length;
    return row;
  }).sort((a, b) => (a.average as number) - (b.average as number));
}

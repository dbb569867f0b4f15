/**
 * How far one CNN's spatial attention is from another's on the same examples: attention transfer's
 * loss (Zagoruyko & Komodakis, ICLR 2017, Eq. 2, as the released `at_loss` averages it) over a
 * whole split, Σ_j mean over examples and positions of (Q̂_A^j − Q̂_B^j)², from the normalised
 * maps `predictAttention` returns (`lib/train/evaluate.ts`). 0 when the two attend alike; at most
 * 2·(number of blocks) (unit vectors). Computed in float64 on the host.
 *
 * @module
 */

/**
 * The mean squared distance between two models' normalised attention maps on the same `n`
 * examples, summed over blocks: `a` and `b` row-major `[n, Σ_j sizes[j]]`, block j's `sizes[j]`
 * positions after the earlier blocks'. Errors name the argument whose length does not fit.
 */
export function attentionMapDistance(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  sizes: number[],
): number {
  const fn = "attentionMapDistance";
  if (sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`${fn}: sizes must be a non-empty list of positive integers, got [${sizes}]`);
  }
  const width = sizes.reduce((x, y) => x + y, 0);
  if (a.length === 0 || a.length % width !== 0) {
    throw new Error(
      `${fn}: a must hold n ≥ 1 rows of Σ sizes = ${width} values, got ${a.length} values`,
    );
  }
  if (b.length !== a.length) {
    throw new Error(
      `${fn}: a and b must hold the same examples, got ${a.length} and ${b.length} values`,
    );
  }
  const n = a.length / width;
  let total = 0;
  let offset = 0;
  for (const [j, size] of sizes.entries()) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < size; k++) {
        const d = a[i * width + offset + k] - b[i * width + offset + k];
        sum += d * d;
      }
    }
    if (!Number.isFinite(sum)) throw new Error(`${fn}: a or b holds NaN or Inf in block ${j}`);
    total += sum / (n * size);
    offset += size;
  }
  return total;
}

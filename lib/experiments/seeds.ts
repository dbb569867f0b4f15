/**
 * The seeds of a study: every study plan runs each configuration with seeds 1, 2, …, n, so that
 * runs of different studies with the same network and seed are the same run (and share a folder).
 *
 * @module
 */

/** Seeds 1..`count`; throws unless `count` is a positive integer. */
export function seedNumbers(count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new Error(`seedNumbers: the number of seeds must be a positive integer, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * Timing helpers shared by the benchmarks.
 *
 * @module
 */

/** Median milliseconds of `f` (awaited) over `repeats` calls after 3 warm-up calls. */
export async function medianMs(f: () => unknown, repeats = 20): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}

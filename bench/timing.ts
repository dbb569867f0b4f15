/**
 * Timing helpers shared by the benchmarks.
 *
 * @module
 */

/** Every call's milliseconds, in call order, and their median. */
export interface Timings {
  /** The median of `all`. */
  median: number;
  /** Milliseconds of each timed call, in order. */
  all: number[];
}

/** Times `repeats` calls of `f` (awaited) after `warmups` untimed ones. */
export async function timeCalls(f: () => unknown, repeats = 20, warmups = 3): Promise<Timings> {
  for (let i = 0; i < warmups; i++) await f();
  const all: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await f();
    all.push(performance.now() - t0);
  }
  return { median: [...all].sort((a, b) => a - b)[Math.floor(repeats / 2)], all };
}

/** Median milliseconds of `f` (awaited) over `repeats` calls after 3 warm-up calls. */
export async function medianMs(f: () => unknown, repeats = 20): Promise<number> {
  return (await timeCalls(f, repeats)).median;
}

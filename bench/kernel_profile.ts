/**
 * Where a run's kernel time goes: `tf.profile` of one run, summed per kernel name. On webgpu with
 * timestamp queries the times are GPU milliseconds; on cpu and wasm, wall milliseconds per kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Calls and total ms of one kernel name. */
export interface KernelTime {
  name: string;
  count: number;
  ms: number;
}

/** Profiles one call of `run` and returns ms per kernel name, largest first. */
export async function kernelsByName(run: () => Promise<unknown>): Promise<KernelTime[]> {
  const profile = await tf.profile(async () => {
    await run();
    return [];
  });
  const byName = new Map<string, KernelTime>();
  for (const k of profile.kernels) {
    const entry = byName.get(k.name) ?? { name: k.name, count: 0, ms: 0 };
    entry.count += 1;
    entry.ms += Number(k.kernelTimeMs) || 0;
    byName.set(k.name, entry);
  }
  return [...byName.values()].sort((a, b) => b.ms - a.ms);
}

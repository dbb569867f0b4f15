/**
 * Benchmark of the Chinchilla refit: wall time of `fitChinchilla` on Epoch's 240 points with
 * Hoffmann's full 4500-start grid, and the optimum reached (SciPy's L-BFGS-B with an analytic
 * gradient: f = 1.018274018e-3 in ~15 s on 2 cores, per `shared/reference/scaling.md`). Writes
 * `bench/results/scaling_fit.json`.
 *
 * Usage: `deno task bench scaling_fit [--repeats 3]`
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dropHighestLosses, fitChinchilla, parseChinchillaCSV } from "../lib/scaling/mod.ts";
import { parseArgs } from "../tools/args.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { options } = parseArgs(Deno.args, ["repeats"]);
const repeats = Number(options.repeats ?? 3);
const points = dropHighestLosses(
  parseChinchillaCSV(await Deno.readTextFile(join(here, "..", "data", "chinchilla_epoch.csv"))),
);
const seconds: number[] = [];
let fit;
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  fit = fitChinchilla(points);
  seconds.push((performance.now() - t0) / 1000);
}
const sorted = [...seconds].sort((a, b) => a - b);
const result = {
  benchmark: "scaling_fit",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  points: points.length,
  starts: fit!.starts,
  converged: fit!.converged,
  seconds_median: sorted[Math.floor(sorted.length / 2)],
  seconds_all: seconds,
  objective: fit!.objective,
  scipy_objective: 1.018274018e-3,
  params: { A: fit!.A, B: fit!.B, E: fit!.E, alpha: fit!.alpha, beta: fit!.beta },
};
console.log(
  `fit: ${result.seconds_median.toFixed(2)} s median over ${repeats}, objective ${
    fit!.objective.toExponential(9)
  } (SciPy 1.018274018e-3), ${fit!.converged}/${fit!.starts} starts converged`,
);
await Deno.writeTextFile(
  join(here, "results", "scaling_fit.json"),
  JSON.stringify(result, null, 2) + "\n",
);

import assert from "node:assert/strict";
import { bootstrap, quantile, resampleIndices } from "./bootstrap.ts";
import {
  chinchillaToVector,
  dropHighestLosses,
  fitChinchilla,
  parseChinchillaCSV,
} from "./chinchilla.ts";

Deno.test("bootstrap helpers: NumPy-style quantiles, seeded resamples", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0.025), 1.075);
  assert.deepEqual(resampleIndices(10, 42, 3), resampleIndices(10, 42, 3));
  assert.notDeepEqual(resampleIndices(10, 42, 3), resampleIndices(10, 42, 4));
  assert.ok(resampleIndices(50, 1, 0).every((i) => i >= 0 && i < 50));
});

Deno.test("bootstrap of the Chinchilla refit: SEs of the order Epoch reports", () => {
  const csv = Deno.readTextFileSync(new URL("../../data/chinchilla_epoch.csv", import.meta.url));
  const points = dropHighestLosses(parseChinchillaCSV(csv));
  const full = fitChinchilla(points, {
    starts: [chinchillaToVector({ A: 477.8, B: 2143, E: 1.817, alpha: 0.347, beta: 0.367 })],
  });
  const start = [chinchillaToVector(full)];
  const { intervals, failed } = bootstrap(
    points,
    (p) => fitChinchilla(p, { starts: start }),
    ["E", "alpha", "beta"],
    full,
    { resamples: 60, seed: 42 },
  );
  assert.equal(failed, 0);
  // Epoch (4000 resamples): SE of E 0.0257, α 0.0154, β 0.0206. With 60 resamples, the same order.
  assert.ok(intervals.E.se > 0.008 && intervals.E.se < 0.06, `E se ${intervals.E.se}`);
  assert.ok(intervals.alpha.se > 0.005 && intervals.alpha.se < 0.04, `α se ${intervals.alpha.se}`);
  assert.ok(intervals.beta.se > 0.007 && intervals.beta.se < 0.05, `β se ${intervals.beta.se}`);
  assert.ok(intervals.alpha.lower < full.alpha && full.alpha < intervals.alpha.upper);
});

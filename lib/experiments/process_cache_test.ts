import assert from "node:assert/strict";
import { ProcessCache } from "./process_cache.ts";

Deno.test("ProcessCache: concurrent callers share one computation; failures are not kept; oldest dropped", async () => {
  const cache = new ProcessCache<number>(2);
  let calls = 0;
  const slow = (value: number) => async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 20));
    return value;
  };
  assert.deepEqual(await Promise.all([cache.get("a", slow(1)), cache.get("a", slow(2))]), [1, 1]);
  assert.equal(calls, 1, "the second caller waited for the first computation");
  assert.equal(await cache.get("a", slow(3)), 1, "computed values are kept");
  assert.equal(calls, 1);

  const failing = () => Promise.reject(new Error("teacher run missing"));
  const waiting = [cache.get("b", failing), cache.get("b", slow(9))];
  for (const p of waiting) await assert.rejects(p, /teacher run missing/);
  assert.equal(cache.peek("b"), undefined, "a failure is not cached");
  assert.equal(await cache.get("b", slow(4)), 4, "the next call computes again");

  await cache.get("c", slow(5)); // limit 2: "a", the oldest, is dropped
  assert.equal(cache.peek("a"), undefined);
  assert.deepEqual([cache.peek("b"), cache.peek("c")], [4, 5]);
  assert.throws(() => new ProcessCache(0), /limit must be a positive integer, got 0/);
});

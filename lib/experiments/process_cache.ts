/**
 * Values computed once per process and key, at most `limit` of them (the oldest is dropped): the
 * teacher outputs that a study's runs share (test probabilities, logit tables, PHI-S features)
 * without a notebook process growing forever.
 *
 * @module
 */

/** A bounded per-process memo; see the module doc. */
export class ProcessCache<T> {
  #values = new Map<string, T>();
  /** Computations under way: a second caller waits for the first one's result. */
  #pending = new Map<string, Promise<T>>();
  /** A cache of at most `limit` values. */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`ProcessCache: limit must be a positive integer, got ${limit}`);
    }
  }

  /** The value under `key`, if computed. */
  peek(key: string): T | undefined {
    return this.#values.get(key);
  }

  /**
   * The value under `key`, computed by `compute` the first time. Callers asking while it is
   * being computed share that computation; a computation that fails is not kept (each waiting
   * caller sees its error, and the next call computes again).
   */
  get(key: string, compute: () => Promise<T>): Promise<T> {
    const found = this.#values.get(key);
    if (found !== undefined) return Promise.resolve(found);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const computing = (async () => {
      try {
        const value = await compute();
        if (this.#values.size >= this.limit) this.#values.delete(this.#values.keys().next().value!);
        this.#values.set(key, value);
        return value;
      } finally {
        this.#pending.delete(key);
      }
    })();
    this.#pending.set(key, computing);
    return computing;
  }
}

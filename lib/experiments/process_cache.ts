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
  /** A cache of at most `limit` values. */
  constructor(readonly limit: number) {}

  /** The value under `key`, if computed. */
  peek(key: string): T | undefined {
    return this.#values.get(key);
  }

  /** The value under `key`, computed by `compute` the first time. */
  async get(key: string, compute: () => Promise<T>): Promise<T> {
    const found = this.#values.get(key);
    if (found !== undefined) return found;
    const value = await compute();
    if (this.#values.size >= this.limit) this.#values.delete(this.#values.keys().next().value!);
    this.#values.set(key, value);
    return value;
  }
}

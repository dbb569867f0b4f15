/**
 * Seeded pseudo-random numbers for data order and initialisation. Everything random in a run is
 * a pure function of `(seed, purpose, step)`, so a run resumed at step k draws exactly what an
 * uninterrupted run draws there: no generator state has to be saved.
 *
 * The generator is SplitMix32 (Steele, Lea & Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014, 32-bit variant), and strings are mixed in with FNV-1a.
 *
 * @module
 */

/** A 32-bit seed derived from any mix of numbers and strings (FNV-1a over their text, then mixed). */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${typeof part}:${part};`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return mix32(h);
}

/** SplitMix32's finaliser: a bijective avalanche of a 32-bit integer. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A seeded generator of uniform numbers: `next()` in [0, 1), `int(n)` in [0, n). */
export class Rng {
  #state: number;

  /** A generator seeded with any finite number (taken modulo 2^32). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.#state = seed >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    return mix32(this.#state);
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal number (Box–Muller on two uniforms; the first one feeds the radius). */
  gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new Error(`Rng.int: n must be a positive integer`);
    return Math.floor(this.next() * n);
  }
}

/** A permutation of 0..n-1, the same for the same seed (Fisher-Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

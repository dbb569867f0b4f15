import assert from "node:assert/strict";
import { augmentImages, mixupWeight, Rng, sampleGamma } from "./mod.ts";

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** Random images with every pixel distinct enough to identify a shift and a flip. */
function randomImages(count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return new Float32Array(count * PIXELS).map(() => 0.05 + 0.9 * rng.next());
}

/** Image n moved by (dy, dx) after an optional mirror, zero where nothing moved in: a 2-D loop. */
function moved(images: Float32Array, n: number, dy: number, dx: number, flip: boolean) {
  const grid: number[][] = [];
  for (let y = 0; y < SIDE; y++) {
    grid.push([]);
    for (let x = 0; x < SIDE; x++) grid[y].push(images[n * PIXELS + y * SIDE + x]);
  }
  const mirrored = flip ? grid.map((row) => row.toReversed()) : grid;
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const [sy, sx] = [y - dy, x - dx];
      if (sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE) out[y * SIDE + x] = mirrored[sy][sx];
    }
  }
  return out;
}

/** Which (dy, dx, flip) within `shift` turns image n into `view`'s image n, or undefined. */
function whichMove(images: Float32Array, view: Float32Array, n: number, shift: number) {
  const target = view.subarray(n * PIXELS, (n + 1) * PIXELS);
  for (const flip of [false, true]) {
    for (let dy = -shift; dy <= shift; dy++) {
      for (let dx = -shift; dx <= shift; dx++) {
        const m = moved(images, n, dy, dx, flip);
        if (m.every((v, i) => v === target[i])) return { dy, dx, flip };
      }
    }
  }
  return undefined;
}

Deno.test("augmentImages: every view is a translation within maxShift, all of them drawn, uniformly", () => {
  const count = 6;
  const images = randomImages(count, 1);
  const copy = images.slice();
  const counts = new Map<string, number>();
  const draws = 60;
  for (let seed = 0; seed < draws; seed++) {
    const view = augmentImages(images, count, { maxShift: 2 }, seed);
    for (let n = 0; n < count; n++) {
      const move = whichMove(images, view, n, 2);
      assert.ok(move && !move.flip, `seed ${seed} image ${n} is not a translation`);
      const key = `${move.dy},${move.dx}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  assert.deepEqual(images, copy); // the input is not modified
  assert.equal(counts.size, 25);
  // 360 draws over 25 cells: each count is Binomial(360, 1/25), mean 14.4, sd 3.7.
  for (const [key, c] of counts) assert.ok(c >= 3 && c <= 30, `shift ${key} drawn ${c} times`);
  // Same seed, same views; another seed, other views; no shift, no change.
  assert.deepEqual(
    augmentImages(images, count, { maxShift: 2 }, 7),
    augmentImages(images, count, { maxShift: 2 }, 7),
  );
  assert.notDeepEqual(
    augmentImages(images, count, { maxShift: 2 }, 7),
    augmentImages(images, count, { maxShift: 2 }, 8),
  );
  assert.deepEqual(augmentImages(images, count, {}, 3), images);
});

Deno.test("augmentImages: flip mirrors about half of the images; with a shift, the shift applies to the mirror", () => {
  const count = 40;
  const images = randomImages(count, 2);
  const flipped = augmentImages(images, count, { flip: true }, 11);
  let mirrors = 0;
  for (let n = 0; n < count; n++) {
    const move = whichMove(images, flipped, n, 0);
    assert.ok(move, `image ${n} is neither itself nor its mirror`);
    mirrors += move.flip ? 1 : 0;
  }
  assert.ok(mirrors >= 8 && mirrors <= 32, `${mirrors} of ${count} mirrored`);
  const both = augmentImages(images.subarray(0, 8 * PIXELS), 8, { flip: true, maxShift: 3 }, 5);
  for (let n = 0; n < 8; n++) assert.ok(whichMove(images, both, n, 3), `image ${n}`);
});

Deno.test("augmentImages: mixup mixes image i with image i − 1 of the batch by one λ ∈ [1/2, 1]", () => {
  const count = 5;
  const images = randomImages(count, 3);
  const shifted = augmentImages(images, count, { maxShift: 1 }, 9);
  const mixed = augmentImages(images, count, { maxShift: 1, mixup: 1 }, 9);
  // λ from one pixel, in float64; then every pixel of every image must agree with it.
  const [a, b] = [shifted[PIXELS + 300], shifted[300]];
  const lambda = (mixed[PIXELS + 300] - b) / (a - b);
  assert.ok(lambda >= 0.5 && lambda <= 1, `λ = ${lambda}`);
  for (let n = 0; n < count; n++) {
    const prev = (n + count - 1) % count;
    for (let i = 0; i < PIXELS; i++) {
      const want = lambda * shifted[n * PIXELS + i] + (1 - lambda) * shifted[prev * PIXELS + i];
      assert.ok(Math.abs(mixed[n * PIXELS + i] - want) < 1e-5, `image ${n} pixel ${i}`);
    }
  }
});

Deno.test("sampleGamma and mixupWeight have the moments of Gamma(k, 1) and of the larger Dirichlet(p, p) weight", () => {
  const rng = new Rng(12345);
  const n = 20000;
  for (const k of [0.2, 1, 3.5]) {
    const xs = Array.from({ length: n }, () => sampleGamma(rng, k));
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
    // Mean k (SE √(k/n)); variance k.
    assert.ok(Math.abs(mean - k) < 5 * Math.sqrt(k / n), `k = ${k}: mean ${mean}`);
    assert.ok(Math.abs(variance / k - 1) < 0.1, `k = ${k}: variance ${variance}`);
    assert.ok(xs.every((x) => x >= 0 && Number.isFinite(x)));
  }
  // λ = max(B, 1 − B) = ½ + |B − ½| with B ~ Beta(p, p), so E[(λ − ½)²] = Var B = 1/(4(2p + 1));
  // at p = 1, λ is uniform on [1/2, 1] (mean 3/4, variance 1/48).
  for (const p of [1, 0.2]) {
    const ls = Array.from({ length: n }, () => mixupWeight(rng, p));
    assert.ok(ls.every((l) => l >= 0.5 && l <= 1));
    const second = ls.reduce((s, l) => s + (l - 0.5) ** 2, 0) / n;
    const want = 1 / (4 * (2 * p + 1));
    assert.ok(Math.abs(second / want - 1) < 0.05, `p = ${p}: E[(λ − ½)²] = ${second} vs ${want}`);
    if (p === 1) {
      const mean = ls.reduce((s, l) => s + l, 0) / n;
      assert.ok(Math.abs(mean - 0.75) < 5 * Math.sqrt(1 / 48 / n), `mean ${mean}`);
    }
  }
});

Deno.test("augmentImages and sampleGamma reject bad arguments by name", () => {
  const images = randomImages(2, 4);
  assert.throws(
    () => augmentImages(images, 2, { maxShift: 1.5 }, 0),
    /maxShift must be an integer in \[0, 27\], got 1.5/,
  );
  assert.throws(() => augmentImages(images, 2, { maxShift: -1 }, 0), /maxShift/);
  assert.throws(
    () => augmentImages(images, 2, { mixup: 0 }, 0),
    /mixup \(a Dirichlet concentration\) must be > 0, got 0/,
  );
  assert.throws(
    () => augmentImages(images, 3, {}, 0),
    /images must hold count × 784 pixels, got 1568 values for count = 3/,
  );
  assert.throws(() => augmentImages(new Float32Array(0), 0, {}, 0), /count = 0/);
  assert.throws(() => sampleGamma(new Rng(1), 0), /shape must be > 0, got 0/);
  assert.throws(() => sampleGamma(new Rng(1), NaN), /shape must be > 0/);
});

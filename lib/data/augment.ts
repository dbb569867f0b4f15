/**
 * Random views of 28×28 one-channel images, for distillation with augmented inputs (Beyer, Zhai,
 * Royer, Markeeva, Anil & Kolesnikov, "Knowledge distillation: A good teacher is patient and
 * consistent", CVPR 2022): a random translation (a crop of the image zero-padded by `maxShift`
 * pixels, the analogue of their random crops on 28×28 digits and clothes), an optional left-right
 * flip, and mixup (Zhang et al., ICLR 2018) as big_vision's `mixup` does it: one mixing weight per
 * batch, λ = the larger of a Dirichlet(p, p) pair, so λ ∈ [1/2, 1], and image i mixed with image
 * i − 1 of the batch (a roll by one): x'_i = λ·x_i + (1 − λ)·x_{i−1}. Their function-matching
 * runs use p = 1, i.e. λ uniform on [1/2, 1].
 *
 * A view is a pure function of (images, options, seed), so a resumed run draws the same views.
 *
 * @module
 */
import { IMAGE_PIXELS } from "./images.ts";
import { Rng } from "./rng.ts";

const SIDE = 28;

/** What a random view of an image may change. */
export interface ImageAugmentation {
  /** Largest translation in pixels along each axis (uniform in [−maxShift, maxShift]); 0: none. */
  maxShift?: number;
  /** Mirror each image left-right with probability 1/2. */
  flip?: boolean;
  /**
   * Mixup's Dirichlet concentration p > 0 (big_vision's `mixup(p=…)`; function matching uses 1);
   * absent: no mixup.
   */
  mixup?: number;
}

/** Throws a named error unless `a` is a valid {@linkcode ImageAugmentation}. */
export function checkAugmentation(a: ImageAugmentation, who: string): void {
  const shift = a.maxShift ?? 0;
  if (!(Number.isInteger(shift) && shift >= 0 && shift < SIDE)) {
    throw new Error(`${who}: maxShift must be an integer in [0, ${SIDE - 1}], got ${a.maxShift}`);
  }
  if (a.mixup !== undefined && !(a.mixup > 0 && Number.isFinite(a.mixup))) {
    throw new Error(`${who}: mixup (a Dirichlet concentration) must be > 0, got ${a.mixup}`);
  }
}

/**
 * A Gamma(shape, 1) draw (Marsaglia & Tsang, ACM TOMS 2000, "A simple method for generating gamma
 * variables"; for shape < 1, Gamma(shape + 1)·U^(1/shape)).
 */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0 && Number.isFinite(shape))) {
    throw new Error(`sampleGamma: shape must be > 0, got ${shape}`);
  }
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = rng.gaussian();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next(); // (0, 1]
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/**
 * Mixup's weight for a batch: the larger coordinate of a Dirichlet(p, p) draw, in [1/2, 1]
 * (big_vision sorts the weights so that a small p does not wipe out the image itself).
 */
export function mixupWeight(rng: Rng, concentration: number): number {
  const a = sampleGamma(rng, concentration);
  const b = sampleGamma(rng, concentration);
  // Both draws can underflow to 0 for a tiny p: then no mixing.
  return a + b > 0 ? Math.max(a, b) / (a + b) : 1;
}

/**
 * A random view of each of `count` images (row-major rows of 784 pixels): shifted, flipped and
 * mixed as `augmentation` says, drawn from `seed`. The input is not modified.
 */
export function augmentImages(
  images: Float32Array,
  count: number,
  augmentation: ImageAugmentation,
  seed: number,
): Float32Array {
  checkAugmentation(augmentation, "augmentImages");
  if (!(Number.isInteger(count) && count >= 1) || images.length !== count * IMAGE_PIXELS) {
    throw new Error(
      `augmentImages: images must hold count × ${IMAGE_PIXELS} pixels, got ${images.length} ` +
        `values for count = ${count}`,
    );
  }
  const rng = new Rng(seed);
  const shift = augmentation.maxShift ?? 0;
  const out = new Float32Array(images.length);
  for (let n = 0; n < count; n++) {
    const dy = shift ? rng.int(2 * shift + 1) - shift : 0;
    const dx = shift ? rng.int(2 * shift + 1) - shift : 0;
    const flip = augmentation.flip ? rng.next() < 0.5 : false;
    const base = n * IMAGE_PIXELS;
    for (let y = 0; y < SIDE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= SIDE) continue;
      for (let x = 0; x < SIDE; x++) {
        const sx0 = x - dx;
        if (sx0 < 0 || sx0 >= SIDE) continue;
        const sx = flip ? SIDE - 1 - sx0 : sx0;
        out[base + y * SIDE + x] = images[base + sy * SIDE + sx];
      }
    }
  }
  if (augmentation.mixup === undefined || count === 1) return out;
  const lambda = mixupWeight(rng, augmentation.mixup);
  const mixed = new Float32Array(out.length);
  for (let n = 0; n < count; n++) {
    const self = n * IMAGE_PIXELS;
    const other = ((n + count - 1) % count) * IMAGE_PIXELS;
    for (let i = 0; i < IMAGE_PIXELS; i++) {
      mixed[self + i] = lambda * out[self + i] + (1 - lambda) * out[other + i];
    }
  }
  return mixed;
}

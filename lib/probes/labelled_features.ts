/**
 * Frozen feature vectors with class labels: what probes train and test on.
 *
 * @module
 */

/** `count` feature vectors of width `dim` (row-major) and their class ids in [0, classes). */
export interface LabelledFeatures {
  /** Features, `count × dim` row-major. */
  features: Float32Array | Float64Array;
  /** Class ids, one per vector. */
  labels: Int32Array;
  /** Feature width. */
  dim: number;
  /** Number of classes. */
  classes: number;
}

/** Validates a set: sizes agree, labels in range, features finite, at least one row. */
export function checkLabelledFeatures(set: LabelledFeatures, who: string): number {
  const n = set.labels.length;
  if (n === 0) throw new Error(`${who}: empty set (no rows)`);
  if (!(Number.isInteger(set.dim) && set.dim > 0) || set.features.length !== n * set.dim) {
    throw new Error(
      `${who}: features must have labels.length × dim = ${n}×${set.dim} values, got ${set.features.length}`,
    );
  }
  for (const y of set.labels) {
    if (!(y >= 0 && y < set.classes)) {
      throw new Error(`${who}: label ${y} outside [0, ${set.classes})`);
    }
  }
  for (let i = 0; i < set.features.length; i++) {
    if (!Number.isFinite(set.features[i])) {
      throw new Error(
        `${who}: non-finite feature ${set.features[i]} at row ${Math.floor(i / set.dim)}`,
      );
    }
  }
  return n;
}

// The one in-memory dataset shape every reader returns, and the helpers that keep it honest.
//
// Images are float32 in [0, 1], NCHW, so a batch is a contiguous subarray that can be
// uploaded to a GPU buffer without repacking.

export interface Dataset {
  /** Where it came from, e.g. "fashion-mnist/train". */
  name: string;
  /** n·c·h·w values in [0, 1], NCHW. */
  images: Float32Array;
  /** n labels in [0, classes). */
  labels: Int32Array;
  n: number;
  c: number;
  h: number;
  w: number;
  /** Number of classes (labels lie in 0..classes-1). */
  classes: number;
  /** Human-readable class names when the format provides or implies them. */
  classNames?: string[];
}

export interface Split {
  train: Dataset;
  test: Dataset;
  /** set when the training split was cut to one class (data/one_class.ts): its index and name */
  oneClass?: { index: number; name?: string };
}

/**
 * What makes a split's evaluation meaningless, to be shown at load and in the report: with one
 * class every label is the same, so kNN and linear accuracies are 100% whatever the features.
 */
export function labelWarning(split: Split): string | undefined {
  const { train } = split;
  if (train.classes !== 1) return undefined;
  const name = train.classNames?.[0];
  return `${train.name} has one class${name === undefined ? "" : ` ('${name}')`}: every image has the same label, ` +
    "so the kNN and linear accuracies are 100% by construction and say nothing about the features; " +
    "add a sub-folder per class";
}

/** A dataset could not be read: the message names the file and what was wrong with it. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

/** Checks the invariants every consumer relies on; throws DataError naming `name`. */
export function checkDataset(ds: Dataset): Dataset {
  const { name, n, c, h, w } = ds;
  for (const [k, v] of Object.entries({ n, c, h, w, classes: ds.classes })) {
    if (!Number.isInteger(v) || v < 0) throw new DataError(`${name}: ${k} = ${v} is not a non-negative integer`);
  }
  if (ds.images.length !== n * c * h * w) {
    throw new DataError(`${name}: ${ds.images.length} pixel values, expected n·c·h·w = ${n}·${c}·${h}·${w}`);
  }
  if (ds.labels.length !== n) throw new DataError(`${name}: ${ds.labels.length} labels for ${n} images`);
  for (let i = 0; i < n; i++) {
    const l = ds.labels[i];
    if (l < 0 || l >= ds.classes) {
      throw new DataError(`${name}: label ${l} of image ${i} is outside 0..${ds.classes - 1}`);
    }
  }
  if (ds.classNames && ds.classNames.length !== ds.classes) {
    throw new DataError(`${name}: ${ds.classNames.length} class names for ${ds.classes} classes`);
  }
  return ds;
}

/** The first `limit` images (a view, no copy). Deterministic, so runs with a limit are comparable. */
export function take(ds: Dataset, limit?: number): Dataset {
  if (limit === undefined || limit >= ds.n) return ds;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new DataError(`${ds.name}: limit ${limit} is not a non-negative integer`);
  }
  const per = ds.c * ds.h * ds.w;
  return { ...ds, n: limit, images: ds.images.subarray(0, limit * per), labels: ds.labels.subarray(0, limit) };
}

/** `a` then `b` as one dataset (copies); both must have the same image shape and classes. */
export function concatDatasets(a: Dataset, b: Dataset): Dataset {
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w || a.classes !== b.classes) {
    throw new DataError(
      `${a.name} (${a.c}×${a.h}×${a.w}, ${a.classes} classes) and ${b.name} (${b.c}×${b.h}×${b.w}, ${b.classes} ` +
        "classes) cannot be joined: the image shapes and the classes must agree",
    );
  }
  const images = new Float32Array(a.images.length + b.images.length);
  images.set(a.images), images.set(b.images, a.images.length);
  const labels = new Int32Array(a.n + b.n);
  labels.set(a.labels), labels.set(b.labels, a.n);
  return { ...a, name: `${a.name}+${b.name}`, images, labels, n: a.n + b.n };
}

/** Resolves a user-given limit against what a file holds: undefined means all. */
export function limitOf(available: number, limit: number | undefined, what: string): number {
  if (limit === undefined) return available;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new DataError(`${what}: limit ${limit} is not a non-negative integer`);
  }
  return Math.min(available, limit);
}

/** byte/255 for every byte value: a table lookup converts pixels ~2× faster than dividing. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** dst[offset + i] = src[i] / 255. */
export function bytesToUnit(src: Uint8Array, dst: Float32Array, offset = 0): void {
  for (let i = 0; i < src.length; i++) dst[offset + i] = UNIT[src[i]];
}

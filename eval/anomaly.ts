// The one-class anomaly protocol on frozen features (DN2, Bergman, Cohen & Hoshen 2020): the
// normal set is the training images of class c; a test image's anomaly score is its mean cosine
// distance (1 − cosine similarity) to its k nearest normal features (eval/nearest.ts, on the
// GPU); test images of c are normal, the rest anomalous, and AUROC is taken per class and averaged.
import type { FeatureSet } from "./features.ts";
import { auroc, oneClassAuroc } from "./metrics/mod.ts";
import { nearest, type NearestOptions, type Rows } from "./nearest.ts";

/** Neighbours of the anomaly score unless told otherwise (tools/anomaly.ts --k, one-class runs). */
export const ANOMALY_K = 2;

/** Mean cosine distance of each test row to its k nearest normal rows. */
export async function knnAnomalyScores(
  normal: Rows,
  test: Rows,
  k: number,
  opts: NearestOptions = {},
): Promise<Float64Array> {
  const nb = await nearest(normal, test, k, opts);
  const scores = new Float64Array(test.n);
  for (let q = 0; q < test.n; q++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += 1 - nb.sims[q * k + j];
    scores[q] = s / k;
  }
  return scores;
}

/** The rows of `f` whose label is c. */
function rowsOfClass(f: FeatureSet, c: number): Rows {
  const keep: number[] = [];
  for (let i = 0; i < f.n; i++) if (f.labels[i] === c) keep.push(i);
  const data = new Float32Array(keep.length * f.dim);
  keep.forEach((i, r) => data.set(f.data.subarray(i * f.dim, (i + 1) * f.dim), r * f.dim));
  return { data, n: keep.length, dim: f.dim };
}

export interface OneClassResult {
  k: number;
  classes: number[];
  /** AUROC of each class in `classes` (its test images normal, every other anomalous) */
  perClass: number[];
  mean: number;
}

/** Checks `classes` against the data before any GPU work; messages name the class. */
export function checkAnomalyClasses(train: FeatureSet, test: FeatureSet, classes: number[], k: number): void {
  if (classes.length === 0) throw new Error("anomaly: no class given");
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= train.classes) {
      throw new Error(`anomaly: class ${c} does not exist (the data has classes 0..${train.classes - 1})`);
    }
    const normal = train.labels.filter((l) => l === c).length;
    if (normal < k) {
      throw new Error(`anomaly: class ${c} has ${normal} training images, fewer than k = ${k} neighbours`);
    }
    const inTest = test.labels.filter((l) => l === c).length;
    if (inTest === 0 || inTest === test.n) {
      throw new Error(
        `anomaly: class ${c} has ${inTest} of ${test.n} test images; AUROC needs normal and anomalous ones`,
      );
    }
  }
}

/** One-class AUROC for each of `classes` (default all) with the kNN score. */
export async function oneClassAnomaly(
  train: FeatureSet,
  test: FeatureSet,
  opts: NearestOptions & { k?: number; classes?: number[] } = {},
): Promise<OneClassResult> {
  const k = opts.k ?? ANOMALY_K;
  const classes = opts.classes ?? Array.from({ length: train.classes }, (_, c) => c);
  checkAnomalyClasses(train, test, classes, k);
  const scores: Float64Array[] = [];
  for (const c of classes) scores.push(await knnAnomalyScores(rowsOfClass(train, c), test, k, opts));
  const all = classes.length === train.classes && classes.every((c, i) => c === i);
  if (all) return { k, classes, ...oneClassAuroc(scores, test.labels) };
  const perClass = classes.map((c, i) => auroc(scores[i], Array.from(test.labels, (l) => (l === c ? 0 : 1))));
  return { k, classes, perClass, mean: perClass.reduce((s, v) => s + v, 0) / perClass.length };
}

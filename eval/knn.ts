// Weighted kNN classifier on frozen features (InstDisc; docs/recipes.md, "Evaluation protocols"):
// cosine similarity of each test feature to every train feature, the k most similar vote for
// their class with weight exp(sim / T), top-1 of the summed votes.
//
// The neighbours come from eval/nearest.ts (on the GPU: the L2-normalised train features stay on
// the device in parts that each fit one storage binding, and each part's top-k is merged on the
// host); the O(k) vote is summed here in float64.
import type { Gpu } from "../runtime/device.ts";
import { checkFeatures, type FeatureSet } from "./features.ts";
import { nearest } from "./nearest.ts";

export interface KnnOptions {
  /** neighbours (default 200) */
  k?: number;
  /** temperature of the vote weights exp(sim / T) (default 0.1) */
  T?: number;
  /** test rows per dispatch (default 256; lowered to fit the storage binding limit) */
  chunk?: number;
  /** train rows per bank part (default: as many as fit one storage binding) */
  partRows?: number;
  gpu?: Gpu;
}

export interface KnnResult {
  top1: number;
  k: number;
  T: number;
  seconds: number;
  /** predicted class of every test row */
  predictions: Int32Array;
}

/**
 * What the user can do when the kNN asks for more neighbours than there are training images:
 * no flag sets eval.knnK, so the spec field is named with the way to give a spec file.
 */
export function knnKFix(available: number): string {
  return `set eval.knnK to at most ${available} in a spec file given with --spec (no flag sets it), or add training images`;
}

/**
 * The weighted vote of one query: `sims`/`idx` are its neighbours (any order, any number ≥ k);
 * the k most similar (ties: lower train index) vote. Returns the winning class (ties: lower class).
 */
function weightedVote(
  sims: ArrayLike<number>,
  idx: ArrayLike<number>,
  labels: Int32Array,
  classes: number,
  k: number,
  T: number,
): number {
  const order = Array.from({ length: sims.length }, (_, i) => i).sort((a, b) => sims[b] - sims[a] || idx[a] - idx[b]);
  const score = new Float64Array(classes);
  for (let i = 0; i < Math.min(k, order.length); i++) score[labels[idx[order[i]]]] += Math.exp(sims[order[i]] / T);
  let best = 0;
  for (let c = 1; c < classes; c++) if (score[c] > score[best]) best = c;
  return best;
}

export async function knnEval(train: FeatureSet, test: FeatureSet, opts: KnnOptions = {}): Promise<KnnResult> {
  const t0 = performance.now();
  checkFeatures(train, "knn train features");
  checkFeatures(test, "knn test features");
  if (train.dim !== test.dim) throw new Error(`knn: train features have dim ${train.dim}, test features ${test.dim}`);
  const k = opts.k ?? 200, T = opts.T ?? 0.1;
  if (!Number.isInteger(k) || k < 1 || k > train.n) {
    throw new Error(`knn: k = ${k} must be an integer in [1, ${train.n}] (train rows)`);
  }
  if (!(T > 0)) throw new Error(`knn: temperature T = ${T} must be positive`);
  const classes = Math.max(train.classes, test.classes);
  const rows = (f: FeatureSet) => ({ data: f.data, n: f.n, dim: f.dim });
  const near = await nearest(rows(train), rows(test), k, { gpu: opts.gpu, chunk: opts.chunk, partRows: opts.partRows });
  const predictions = new Int32Array(test.n);
  let correct = 0;
  for (let q = 0; q < test.n; q++) {
    const at = q * k;
    const sims = near.sims.subarray(at, at + k), idx = near.indices.subarray(at, at + k);
    predictions[q] = weightedVote(sims, idx, train.labels, classes, k, T);
    if (predictions[q] === test.labels[q]) correct++;
  }
  return { top1: correct / test.n, k, T, seconds: (performance.now() - t0) / 1000, predictions };
}

// Scores of a clustering against class labels (Contrastive Clustering's ACC, NMI, ARI), all read off
// the contingency table n_ij = #{items in cluster i and class j}. Cluster and class ids may be any
// integers (−1 for noise is just another cluster); the numbers of clusters and classes may differ.
import { hungarian } from "./hungarian.ts";
import { integers, nonEmpty, sameLength } from "./check.ts";

export interface Contingency {
  /** counts[i][j]: items in the i-th cluster and the j-th class (ids in order of first appearance) */
  counts: number[][];
  clusterSizes: number[];
  classSizes: number[];
  n: number;
}

/** The contingency table of `pred` (clusters) against `labels` (classes), after checking both. */
export function contingency(pred: ArrayLike<number>, labels: ArrayLike<number>, fn = "contingency"): Contingency {
  sameLength(fn, "pred", pred, "labels", labels);
  nonEmpty(fn, "pred", pred);
  integers(fn, "pred", pred);
  integers(fn, "labels", labels);
  const dense = (ids: ArrayLike<number>) => {
    const index = new Map<number, number>();
    const out = Array.from(ids, (id) => {
      if (!index.has(id)) index.set(id, index.size);
      return index.get(id)!;
    });
    return { out, size: index.size };
  };
  const p = dense(pred), l = dense(labels);
  const counts = Array.from({ length: p.size }, () => new Array<number>(l.size).fill(0));
  const clusterSizes = new Array<number>(p.size).fill(0), classSizes = new Array<number>(l.size).fill(0);
  for (let t = 0; t < p.out.length; t++) {
    counts[p.out[t]][l.out[t]]++;
    clusterSizes[p.out[t]]++;
    classSizes[l.out[t]]++;
  }
  return { counts, clusterSizes, classSizes, n: p.out.length };
}

/**
 * Clustering accuracy: the fraction of items whose cluster maps to their class under the best
 * one-to-one mapping of clusters to classes (Hungarian assignment on the contingency table).
 * Surplus clusters (more clusters than classes) map to no class and count as wrong.
 */
export function clusteringAccuracy(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { counts, n } = contingency(pred, labels, "clusteringAccuracy");
  const { rowToCol } = hungarian(counts.map((row) => row.map((c) => -c)));
  let matched = 0;
  rowToCol.forEach((j, i) => {
    if (j >= 0) matched += counts[i][j];
  });
  return matched / n;
}

/** Shannon entropy (nats) of a partition given its part sizes. */
function entropy(sizes: number[], n: number): number {
  let h = 0;
  for (const s of sizes) if (s > 0) h -= (s / n) * Math.log(s / n);
  return h;
}

/**
 * Normalized mutual information with the arithmetic-mean normalization, NMI = I(U; V) / ((H(U) + H(V)) / 2),
 * which is scikit-learn's default (`average_method="arithmetic"`) and equals V-measure. As there: two
 * single-cluster labellings score 1, and otherwise I = 0 scores 0.
 */
export function nmi(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { counts, clusterSizes, classSizes, n } = contingency(pred, labels, "nmi");
  if (clusterSizes.length === 1 && classSizes.length === 1) return 1;
  let mi = 0;
  counts.forEach((row, i) =>
    row.forEach((nij, j) => {
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (clusterSizes[i] * classSizes[j]));
    })
  );
  if (mi <= 0) return 0; // only rounding can make it negative
  return mi / ((entropy(clusterSizes, n) + entropy(classSizes, n)) / 2);
}

const pairs = (k: number) => (k * (k - 1)) / 2;

/**
 * Adjusted Rand index (Hubert & Arabie 1985): (index − expected) / (max − expected) with
 * index = Σ_ij C(n_ij, 2), expected = Σ_i C(a_i, 2) · Σ_j C(b_j, 2) / C(n, 2),
 * max = (Σ_i C(a_i, 2) + Σ_j C(b_j, 2)) / 2, for cluster sizes a_i and class sizes b_j.
 * 1 for identical partitions, ≈ 0 in expectation for random ones, negative below chance. When max = expected
 * (both labellings all one cluster, or both all singletons: the partitions agree) it is 1, as in scikit-learn.
 */
export function ari(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { counts, clusterSizes, classSizes, n } = contingency(pred, labels, "ari");
  let index = 0;
  for (const row of counts) for (const nij of row) index += pairs(nij);
  const a = clusterSizes.reduce((s, k) => s + pairs(k), 0), b = classSizes.reduce((s, k) => s + pairs(k), 0);
  const expected = n > 1 ? (a * b) / pairs(n) : 0, max = (a + b) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

export interface ClusteringScores {
  accuracy: number;
  nmi: number;
  ari: number;
}

/** The three scores of a clustering against class labels, as clustering papers report them together. */
export function scoreClustering(pred: ArrayLike<number>, labels: ArrayLike<number>): ClusteringScores {
  return { accuracy: clusteringAccuracy(pred, labels), nmi: nmi(pred, labels), ari: ari(pred, labels) };
}

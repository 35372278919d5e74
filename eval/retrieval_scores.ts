// Retrieval quality of a feature space: each query's nearest bank items by cosine similarity
// (eval/nearest.ts, on the GPU), scored with precision@k and MAP@R (eval/metrics), an item of
// the query's class being relevant and R the count of that class in the bank.
import type { FeatureSet } from "./features.ts";
import { mapAtR, precisionAtK } from "./metrics/mod.ts";
import { nearest, type NearestOptions, type Neighbours } from "./nearest.ts";

export interface RetrievalScores {
  k: number;
  precisionAtK: number;
  mapAtR: number;
  /** the k nearest of every query */
  neighbours: Neighbours;
}

/** Class counts of the bank; a query class absent from it has no relevant item (an error). */
function classCounts(bank: FeatureSet, queries: FeatureSet): number[] {
  const count = new Array(Math.max(bank.classes, queries.classes)).fill(0);
  for (const l of bank.labels) count[l]++;
  for (let q = 0; q < queries.n; q++) {
    if (count[queries.labels[q]] === 0) {
      throw new Error(`retrieval: query ${q} is of class ${queries.labels[q]}, which has no item in the bank`);
    }
  }
  return count;
}

export async function retrievalScores(
  bank: FeatureSet,
  queries: FeatureSet,
  k: number,
  opts: NearestOptions = {},
): Promise<RetrievalScores> {
  if (!Number.isInteger(k) || k < 1 || k > bank.n) {
    throw new Error(`retrieval: k = ${k} must be an integer in [1, ${bank.n}] (the bank's images)`);
  }
  const count = classCounts(bank, queries);
  // MAP@R ranks R neighbours of each query: one search deep enough for the largest R
  let depth = k;
  for (const l of queries.labels) depth = Math.max(depth, count[l]);
  const deep = await nearest(bank, queries, depth, opts);
  const lists = Array.from(
    { length: queries.n },
    // typed rows: a full-size search holds queries × R labels (10,000 × 6,000 for Fashion-MNIST)
    (_, q) => Int32Array.from(deep.indices.subarray(q * depth, (q + 1) * depth), (i) => bank.labels[i]),
  );
  const neighbours: Neighbours = { k, indices: new Int32Array(queries.n * k), sims: new Float32Array(queries.n * k) };
  for (let q = 0; q < queries.n; q++) {
    neighbours.indices.set(deep.indices.subarray(q * depth, q * depth + k), q * k);
    neighbours.sims.set(deep.sims.subarray(q * depth, q * depth + k), q * k);
  }
  return {
    k,
    precisionAtK: precisionAtK(lists, queries.labels, k),
    mapAtR: mapAtR(lists, queries.labels, bank.labels),
    neighbours,
  };
}

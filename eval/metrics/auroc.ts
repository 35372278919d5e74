// Area under the ROC curve in its Mann–Whitney form: AUROC = U / (n₁ n₀), U = R₁ − n₁(n₁+1)/2, where
// R₁ is the sum of the positives' ranks in the pooled, ascending scores and tied scores share their
// mean rank. That equals P(score of a random positive > score of a random negative) + ½ P(tie), the
// area under the trapezoidal ROC curve, in O(n log n) without building the curve.
import { finite, nonEmpty, sameLength } from "./check.ts";

/** 0/1 or boolean labels; 1 (true) marks a positive. */
export type BinaryLabels = ArrayLike<number> | ArrayLike<boolean>;

/**
 * AUROC of `scores` (higher = more positive) against binary `labels`. Throws on NaN/infinite scores,
 * labels other than 0/1/true/false, mismatched lengths, or a labelling with only one class.
 */
export function auroc(scores: ArrayLike<number>, labels: BinaryLabels, fn = "auroc"): number {
  sameLength(fn, "scores", scores, "labels", labels);
  nonEmpty(fn, "scores", scores);
  finite(fn, "scores", scores);
  const n = scores.length;
  const positive = new Uint8Array(n);
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === 1 || l === true) {
      positive[i] = 1;
      n1++;
    } else if (l !== 0 && l !== false) {
      throw new Error(`${fn}: labels[${i}] is ${l}; binary labels must be 0/1 or booleans`);
    }
  }
  const n0 = n - n1;
  if (n1 === 0 || n0 === 0) {
    throw new Error(`${fn}: labels hold only ${n1 ? "positives" : "negatives"} (${n}); AUROC needs both classes`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0; // R₁, ranks 1-based
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && scores[order[j]] === scores[order[i]]) j++;
    const midRank = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let t = i; t < j; t++) if (positive[order[t]]) rankSum += midRank;
    i = j;
  }
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

export interface OneClassAuroc {
  /** AUROC of class c's model, c normal and every other class anomalous */
  perClass: number[];
  /** mean over classes */
  mean: number;
}

/**
 * The one-class anomaly protocol (GEOM, CSI, DN2, PANDA): for each class c a model is fitted to c's
 * training items alone and scores the whole test set; test items of c are normal, the others
 * anomalous. `scoresByClass[c][i]` is the anomaly score (higher = more anomalous) of test item i under
 * class c's model, `labels[i]` its class in [0, scoresByClass.length).
 */
export function oneClassAuroc(scoresByClass: ArrayLike<number>[], labels: ArrayLike<number>): OneClassAuroc {
  const fn = "oneClassAuroc";
  nonEmpty(fn, "scoresByClass", scoresByClass);
  const classes = scoresByClass.length;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new Error(`${fn}: labels[${i}] is ${l}; class labels must be integers in [0, ${classes})`);
    }
  }
  const perClass = scoresByClass.map((scores, c) => {
    const anomalous = Array.from(labels, (l) => (l === c ? 0 : 1));
    return auroc(scores, anomalous, `${fn} (class ${c}: scoresByClass[${c}] against labels ≠ ${c})`);
  });
  return { perClass, mean: perClass.reduce((s, v) => s + v, 0) / classes };
}

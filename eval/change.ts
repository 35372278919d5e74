// Change detection on frozen features: the cosine distance of an image pair's features, and a
// threshold on it calibrated on labelled pairs (changed when the distance is above it).
import type { Rows } from "./nearest.ts";

/** Cosine distance 1 − cos(a_i, b_i) of each row pair, in float64 (zero rows: distance 1). */
export function pairDistances(a: Rows, b: Rows): Float64Array {
  if (a.n !== b.n) throw new Error(`pairDistances: ${a.n} rows against ${b.n}; the pair lists must match`);
  if (a.dim !== b.dim) throw new Error(`pairDistances: rows of dim ${a.dim} against dim ${b.dim}`);
  const d = a.dim, out = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < d; j++) {
      const x = a.data[i * d + j], y = b.data[i * d + j];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    out[i] = 1 - ab / Math.max(Math.sqrt(aa * bb), 1e-24);
  }
  return out;
}

export interface Threshold {
  /** a pair is changed when its distance is > threshold */
  threshold: number;
  /** the fraction of the calibration pairs this threshold classifies right */
  accuracy: number;
}

/**
 * The threshold that classifies the most labelled pairs right (`changed[i]` 1 or 0): the
 * midpoint between two consecutive distinct distances (or just below/above all of them).
 * Ties in accuracy go to the lowest threshold.
 */
export function calibrateThreshold(distances: ArrayLike<number>, changed: ArrayLike<number>): Threshold {
  const n = distances.length;
  if (n === 0) throw new Error("calibrateThreshold: no labelled pairs");
  if (changed.length !== n) throw new Error(`calibrateThreshold: ${n} distances, ${changed.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => distances[x] - distances[y]);
  let totalChanged = 0;
  for (let i = 0; i < n; i++) {
    if (changed[i] !== 0 && changed[i] !== 1) {
      throw new Error(`calibrateThreshold: label ${changed[i]} of pair ${i} is not 0 or 1`);
    }
    if (!Number.isFinite(distances[i])) throw new Error(`calibrateThreshold: distance of pair ${i} is ${distances[i]}`);
    totalChanged += changed[i];
  }
  // threshold below everything: all called changed
  let best = { threshold: distances[order[0]] - 1e-6, correct: totalChanged };
  let unchangedBelow = 0, changedBelow = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j < n && distances[order[j]] === distances[order[i]]) {
      if (changed[order[j]]) changedBelow++;
      else unchangedBelow++;
      j++;
    }
    const correct = unchangedBelow + (totalChanged - changedBelow);
    const threshold = j < n ? (distances[order[i]] + distances[order[j]]) / 2 : distances[order[i]] + 1e-6;
    if (correct > best.correct) best = { threshold, correct };
    i = j;
  }
  return { threshold: best.threshold, accuracy: best.correct / n };
}

// Retrieval scores from ranked neighbour lists: `neighbourLabels[q]` holds the labels of query q's
// neighbours in the bank, most similar first (as a kNN search returns them); an item is relevant to
// q when its label equals `queryLabels[q]`.
import { integers, intIn, nonEmpty, sameLength } from "./check.ts";

function checkLists(fn: string, neighbourLabels: ArrayLike<number>[], queryLabels: ArrayLike<number>) {
  sameLength(fn, "neighbourLabels", neighbourLabels, "queryLabels", queryLabels);
  nonEmpty(fn, "queryLabels", queryLabels);
  integers(fn, "queryLabels", queryLabels);
  neighbourLabels.forEach((list, q) => integers(fn, `neighbourLabels[${q}]`, list));
}

/** Mean over queries of (relevant items among the first k neighbours) / k. */
export function precisionAtK(neighbourLabels: ArrayLike<number>[], queryLabels: ArrayLike<number>, k: number): number {
  const fn = "precisionAtK";
  checkLists(fn, neighbourLabels, queryLabels);
  intIn(fn, "k", k, 1);
  let sum = 0;
  neighbourLabels.forEach((list, q) => {
    if (list.length < k) {
      throw new Error(`${fn}: k = ${k} is larger than neighbourLabels[${q}] (${list.length} neighbours ranked)`);
    }
    let hits = 0;
    for (let i = 0; i < k; i++) if (list[i] === queryLabels[q]) hits++;
    sum += hits / k;
  });
  return sum / neighbourLabels.length;
}

export interface MapAtROptions {
  /**
   * The queries are themselves items of the bank, each removed from its own neighbour list
   * (leave-one-out, the usual set-up of metric learning): R is then the class count minus one.
   */
  queriesInBank?: boolean;
}

/**
 * MAP@R (Musgrave, Belongie, Lim, "A Metric Learning Reality Check", ECCV 2020). For a query whose
 * class has R items in the bank, with rel(i) = 1 if its i-th neighbour is relevant and
 * P(i) = (relevant among the first i) / i:
 *
 *   AP@R = (1/R) · Σ_{i=1..R} rel(i) · P(i)
 *
 * i.e. average precision over the first R neighbours only, divided by R (not by the number of hits),
 * so it is 1 exactly when the first R neighbours are all relevant. MAP@R is the mean of AP@R over
 * queries. `bankLabels` are the labels of every bank item (R is counted from them); each neighbour
 * list must hold at least R entries.
 */
export function mapAtR(
  neighbourLabels: ArrayLike<number>[],
  queryLabels: ArrayLike<number>,
  bankLabels: ArrayLike<number>,
  opts: MapAtROptions = {},
): number {
  const fn = "mapAtR";
  checkLists(fn, neighbourLabels, queryLabels);
  nonEmpty(fn, "bankLabels", bankLabels);
  integers(fn, "bankLabels", bankLabels);
  const count = new Map<number, number>();
  for (let i = 0; i < bankLabels.length; i++) count.set(bankLabels[i], (count.get(bankLabels[i]) ?? 0) + 1);
  const self = opts.queriesInBank ? 1 : 0;
  let sum = 0;
  neighbourLabels.forEach((list, q) => {
    const label = queryLabels[q];
    const r = (count.get(label) ?? 0) - self;
    if (r < 1) {
      throw new Error(
        `${fn}: queryLabels[${q}] = ${label} has no other item of its class in bankLabels (R = ${r}); ` +
          "MAP@R needs R ≥ 1",
      );
    }
    if (list.length < r) {
      throw new Error(`${fn}: neighbourLabels[${q}] ranks ${list.length} neighbours but R = ${r} for class ${label}`);
    }
    let hits = 0, ap = 0;
    for (let i = 0; i < r; i++) {
      if (list[i] === label) {
        hits++;
        ap += hits / (i + 1);
      }
    }
    sum += ap / r;
  });
  return sum / neighbourLabels.length;
}

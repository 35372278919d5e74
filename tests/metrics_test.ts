// Scoring metrics (eval/metrics/) against known answers: closed forms, hand-computed examples,
// brute force (all pairs, all permutations) and the error messages for bad input.
import {
  ari,
  auroc,
  clusteringAccuracy,
  contingency,
  hostRng,
  hungarian,
  kmeans,
  kmeansPlusPlusInit,
  mapAtR,
  markdownTable,
  meanStd,
  nmi,
  oneClassAuroc,
  precisionAtK,
  seedsSummary,
} from "../eval/metrics/mod.ts";
import { assertThrows } from "./util/assert.ts";

function assertNear(got: number, want: number, tol: number, what: string) {
  if (!(Math.abs(got - want) <= tol)) throw new Error(`${what}: got ${got}, expected ${want} (± ${tol})`);
}
function assertEq(got: unknown, want: unknown, what: string) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}
const EPS = 1e-12;

/** AUROC by its definition: over all (positive, negative) pairs, wins count 1 and ties ½. */
function aurocByPairs(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

Deno.test("auroc: separable 1, reversed 0, all equal ½, a hand example with ties", () => {
  assertEq(auroc([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]), 1, "separable");
  assertEq(auroc([0.9, 0.7, 0.2, 0.1], [0, 0, 1, 1]), 0, "reversed");
  assertEq(auroc([3, 3, 3, 3, 3], [0, 1, 0, 1, 1]), 0.5, "all equal");
  // positives {0.4, 0.8, 0.4}, negatives {0.1, 0.4}: wins 1 + ½, 2, 1 + ½ out of 6 pairs
  assertNear(auroc([0.1, 0.4, 0.4, 0.8, 0.4], [0, 0, 1, 1, 1]), 5 / 6, EPS, "ties");
  assertNear(auroc([0.1, 0.4, 0.4, 0.8, 0.4], [false, false, true, true, true]), 5 / 6, EPS, "boolean labels");
});

Deno.test("auroc: equals the pair count on random scores with many ties", () => {
  const rng = hostRng(7);
  for (const n of [2, 3, 17, 200]) {
    const scores = Array.from({ length: n }, () => Math.round(rng() * 10) / 10);
    const labels = Array.from({ length: n }, (_, i) => (i < 1 ? 0 : i < 2 ? 1 : rng() < 0.3 ? 1 : 0));
    assertNear(auroc(scores, labels), aurocByPairs(scores, labels), EPS, `n = ${n}`);
  }
});

Deno.test("auroc: random scores give ½ within 4 standard errors", () => {
  const rng = hostRng(2024);
  const n1 = 400, n0 = 600;
  const scores = Array.from({ length: n1 + n0 }, () => rng());
  const labels = Array.from({ length: n1 + n0 }, (_, i) => (i < n1 ? 1 : 0));
  const se = Math.sqrt((n1 + n0 + 1) / (12 * n1 * n0));
  const a = auroc(scores, labels);
  if (!(Math.abs(a - 0.5) < 4 * se)) throw new Error(`AUROC ${a} is more than 4 SE (${se}) from 0.5`);
});

Deno.test("auroc: bad input names the argument", () => {
  assertThrows(() => auroc([0.1, 0.2], [0, 1, 1]), "auroc: scores has 2 entries but labels has 3");
  assertThrows(() => auroc([0.1, NaN, 0.3], [0, 1, 1]), "auroc: scores[1] is NaN");
  assertThrows(() => auroc([0.1, 0.2, 0.3], [1, 1, 1]), "labels hold only positives");
  assertThrows(() => auroc([0.1, 0.2, 0.3], [0, 2, 1]), "labels[1] is 2");
  assertThrows(() => auroc([], []), "auroc: scores is empty");
});

Deno.test("oneClassAuroc: per class with the others anomalous, and the mean", () => {
  const labels = [0, 0, 1, 1, 2, 2];
  const fit = (c: number) => labels.map((l) => (l === c ? 0.1 : 0.9)); // c's model finds c normal
  const r = oneClassAuroc([fit(0), fit(1), fit(2).map((s) => 1 - s)], labels);
  assertEq(r.perClass, [1, 1, 0], "per class");
  assertNear(r.mean, 2 / 3, EPS, "mean");
  // class 1's model: normal {0.3, 0.5}, anomalous {0.5, 0.2, 0.9, 0.6}; each anomaly against the two
  // normals wins 1 + ½, 0 + 0, 1 + 1, 1 + 1 of 8 pairs
  const s1 = [0.5, 0.2, 0.3, 0.5, 0.9, 0.6];
  assertNear(oneClassAuroc([fit(0), s1, fit(2)], labels).perClass[1], 5.5 / 8, EPS, "class 1 by hand");
  assertThrows(() => oneClassAuroc([fit(0), fit(1), fit(2)], [0, 0, 1, 1, 1, 1]), "class 2");
  assertThrows(() => oneClassAuroc([fit(0), fit(1)], labels), "labels[4] is 2");
});

Deno.test("precisionAtK and mapAtR on a hand example", () => {
  const bank = [0, 0, 0, 1, 1]; // R = 3 for class 0, 2 for class 1
  const lists = [[0, 1, 0, 0, 1], [0, 1, 1, 0, 0]];
  const queries = [0, 1];
  assertNear(precisionAtK(lists, queries, 2), (1 / 2 + 1 / 2) / 2, EPS, "P@2");
  assertNear(precisionAtK(lists, queries, 4), (3 / 4 + 2 / 4) / 2, EPS, "P@4");
  // query 0: first R = 3 are 0,1,0 → (P(1) + P(3)) / 3 = (1 + 2/3) / 3 = 5/9;
  // query 1: first R = 2 are 0,1 → P(2) / 2 = (1/2) / 2 = 1/4 (plain AP would give 1/2 here)
  assertNear(mapAtR(lists, queries, bank), (5 / 9 + 1 / 4) / 2, EPS, "MAP@R");
  // leave-one-out: R = 2 and 1 → query 0: P(1)/2 = 1/2; query 1: 0
  assertNear(mapAtR(lists, queries, bank, { queriesInBank: true }), (1 / 2 + 0) / 2, EPS, "MAP@R in bank");
  assertEq(mapAtR([[1, 1, 0]], [1], [1, 1, 0]), 1, "first R all relevant");
});

Deno.test("retrieval: bad input names the argument", () => {
  assertThrows(() => precisionAtK([[0, 1]], [0], 3), "k = 3 is larger than neighbourLabels[0] (2 neighbours");
  assertThrows(() => precisionAtK([[0, 1]], [0, 1], 1), "neighbourLabels has 1 entries but queryLabels has 2");
  assertThrows(() => precisionAtK([[0, 1]], [0], 0), "k must be an integer ≥ 1");
  assertThrows(() => mapAtR([[0, 1]], [0], [0, 0, 0, 1]), "neighbourLabels[0] ranks 2 neighbours but R = 3");
  assertThrows(() => mapAtR([[1]], [2], [0, 1]), "queryLabels[0] = 2 has no other item of its class");
  assertThrows(() => mapAtR([[0, NaN]], [0], [0]), "neighbourLabels[0][1] is NaN");
});

/** Least cost over every injective map of the smaller side into the larger, by enumeration. */
function bruteForce(cost: number[][]): number {
  const rows = cost.length, cols = cost[0].length;
  let best = Infinity;
  const used = new Array(cols).fill(false);
  const go = (i: number, acc: number, assigned: number) => {
    if (assigned === Math.min(rows, cols)) return void (best = Math.min(best, acc));
    if (i === rows) return;
    if (rows - i > Math.min(rows, cols) - assigned) go(i + 1, acc, assigned); // leave row i out
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = true;
      go(i + 1, acc + cost[i][j], assigned + 1);
      used[j] = false;
    }
  };
  go(0, 0, 0);
  return best;
}

Deno.test("hungarian: the least cost of brute force on random square and rectangular matrices", () => {
  const rng = hostRng(11);
  for (const [rows, cols, ints] of [[6, 6, false], [6, 6, true], [4, 6, false], [6, 4, true], [1, 5, false]] as const) {
    for (let t = 0; t < 20; t++) {
      const cost = Array.from(
        { length: rows },
        () => Array.from({ length: cols }, () => (ints ? Math.floor(rng() * 4) : rng() * 10 - 3)),
      );
      const { rowToCol, cost: total } = hungarian(cost);
      assertNear(total, bruteForce(cost), 1e-9, `${rows}×${cols} #${t}`);
      const taken = [...rowToCol].filter((j) => j >= 0);
      assertEq(taken.length, Math.min(rows, cols), "assigned count");
      assertEq(new Set(taken).size, taken.length, "distinct columns");
    }
  }
  assertEq([...hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]).rowToCol], [1, 0, 2], "3×3 by hand (cost 5)");
  assertThrows(() => hungarian([[1, 2], [3]]), "hungarian: cost[1] has 1 entries but cost[0] has 2");
  assertThrows(() => hungarian([[1, Infinity]]), "hungarian: cost[0][1] is Infinity");
});

Deno.test("clustering: a permuted labelling scores 1 on ACC, NMI and ARI", () => {
  const labels = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3];
  const rename = [7, -1, 4, 9];
  const pred = labels.map((l) => rename[l]);
  assertEq(clusteringAccuracy(pred, labels), 1, "ACC");
  assertNear(nmi(pred, labels), 1, EPS, "NMI");
  assertNear(ari(pred, labels), 1, EPS, "ARI");
});

Deno.test("clustering: known values on small contingency tables", () => {
  // [0,0,1,1] vs [0,0,1,2] (scikit-learn's documentation example): ARI = (1 − 1/3) / (3/2 − 1/3) = 4/7;
  // MI = ln 2, H(classes) = ln 2, H(clusters) = 1.5 ln 2 → NMI = 1 / 1.25; best match 3 of 4
  assertNear(ari([0, 0, 1, 2], [0, 0, 1, 1]), 4 / 7, EPS, "ARI 4/7");
  assertNear(nmi([0, 0, 1, 2], [0, 0, 1, 1]), 0.8, EPS, "NMI 0.8");
  assertEq(clusteringAccuracy([0, 0, 1, 2], [0, 0, 1, 1]), 0.75, "ACC 3/4");
  // a 3×3 table, clusters (rows) × classes: [[3,0,1],[1,2,1],[0,2,2]], all sizes 4, n = 12
  const labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
  const pred = [5, 5, 5, 7, 7, 7, 9, 9, 9, 9, 5, 7];
  assertEq(contingency(pred, labels).counts, [[3, 0, 1], [1, 2, 1], [0, 2, 2]], "contingency");
  // Σ C(n_ij, 2) = 6, Σ C(a_i, 2) = Σ C(b_j, 2) = 18, C(12, 2) = 66: (6 − 54/11) / (18 − 54/11) = 1/12
  assertNear(ari(pred, labels), 1 / 12, EPS, "ARI 1/12");
  // MI = Σ n_ij/12 · ln(12 n_ij / 16) over the cells 3,1,1,2,1,2,2; both entropies ln 3
  const mi = (3 / 12) * Math.log(9 / 4) + 3 * (1 / 12) * Math.log(3 / 4) + 3 * (2 / 12) * Math.log(6 / 4);
  assertNear(nmi(pred, labels), mi / Math.log(3), EPS, "NMI closed form");
  assertNear(nmi(pred, labels), 0.3036053696428139, 1e-12, "NMI (numpy, once)");
  assertNear(clusteringAccuracy(pred, labels), 7 / 12, EPS, "ACC 7/12"); // 3 + 2 + 2
  // limits: one cluster vs many classes scores 0 on NMI and ARI; identical single clusters 1
  assertEq(nmi([0, 0, 0, 0], [0, 1, 2, 3]), 0, "NMI of a single cluster");
  assertEq(ari([0, 0, 0, 0], [0, 1, 2, 3]), 0, "ARI of a single cluster");
  assertEq([nmi([3, 3], [1, 1]), ari([3, 3], [1, 1])], [1, 1], "both single clusters");
  // ARI below chance: each pair split the other way round
  assertNear(ari([0, 1, 0, 1], [0, 0, 1, 1]), -0.5, EPS, "ARI −1/2");
  assertEq(clusteringAccuracy([0, 1, 2, 3], [0, 0, 1, 1]), 0.5, "surplus clusters count as wrong");
});

Deno.test("clustering: bad input names the argument", () => {
  assertThrows(() => nmi([0, 1], [0, 1, 1]), "nmi: pred has 2 entries but labels has 3");
  assertThrows(() => ari([0, 0.5], [0, 1]), "ari: pred[1] is 0.5, not an integer label");
  assertThrows(() => clusteringAccuracy([0, 1], [0, NaN]), "clusteringAccuracy: labels[1] is NaN");
});

/** n points per centre, Gaussian-ish noise of scale `noise` (sum of uniforms), row-major d columns. */
function blobs(centres: number[][], n: number, noise: number, seed: number) {
  const rng = hostRng(seed), d = centres[0].length;
  const x = new Float32Array(centres.length * n * d), truth: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < n; i++) {
      const row = k * n + i;
      for (let t = 0; t < d; t++) x[row * d + t] = c[t] + noise * (rng() + rng() + rng() - 1.5);
      truth.push(k);
    }
  });
  return { x, truth, n: centres.length * n, d };
}

Deno.test("kmeans: recovers well-separated blobs; a fixed point of Lloyd's step", () => {
  const { x, truth, n, d } = blobs([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], 40, 1, 3);
  const r = kmeans(x, n, d, 4, { restarts: 3, seed: 5 });
  assertEq(clusteringAccuracy(r.assignment, truth), 1, "accuracy");
  for (let j = 0; j < 4; j++) { // each centre is the mean of its points
    const mean = new Float64Array(d);
    let size = 0;
    for (let i = 0; i < n; i++) {
      if (r.assignment[i] !== j) continue;
      size++;
      for (let t = 0; t < d; t++) mean[t] += x[i * d + t];
    }
    for (let t = 0; t < d; t++) assertNear(r.centroids[j * d + t], mean[t] / size, 1e-12, `centre ${j}[${t}]`);
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) inertia += (x[i * d + t] - r.centroids[r.assignment[i] * d + t]) ** 2;
  }
  assertNear(r.inertia, inertia, 1e-9, "inertia");
  // 1-D points 0, 1, 10, 11 in two clusters: centres 0.5 and 10.5, inertia 4 · ¼
  const tiny = kmeans(new Float64Array([0, 10, 1, 11]), 4, 1, 2, { restarts: 2 });
  assertEq([...tiny.centroids].sort((a, b) => a - b), [0.5, 10.5], "tiny centres");
  assertEq(tiny.inertia, 1, "tiny inertia");
});

Deno.test("kmeans: fewer distinct points than k stops at once instead of cycling", () => {
  // two centres share the place 0; the nearest-centre tie leaves one empty, and moving a point into
  // it gains nothing, so Lloyd stops when the inertia stops falling rather than at the cap
  for (let seed = 0; seed < 6; seed++) {
    const r = kmeans(new Float64Array([0, 0, 0, 10]), 4, 1, 3, { restarts: 1, seed });
    assertEq([r.inertia, r.iterations <= 2], [0, true], `seed ${seed} (${r.iterations} iterations)`);
  }
});

Deno.test("kmeans: the best restart wins, and restart r is reproducible on its own", () => {
  const rng = hostRng(99), n = 300, d = 2;
  const x = Float64Array.from({ length: n * d }, () => rng()); // uniform: many local minima
  const r = kmeans(x, n, d, 9, { restarts: 6, seed: 42 });
  assertEq(r.restartInertias.length, 6, "one inertia per restart");
  if (new Set(r.restartInertias).size < 2) throw new Error("restarts all ended alike; the test cannot tell them apart");
  assertEq(r.inertia, Math.min(...r.restartInertias), "least inertia");
  for (const v of r.restartInertias) if (!(r.inertia <= v)) throw new Error(`${r.inertia} > restart ${v}`);
  assertEq(kmeans(x, n, d, 9, { restarts: 1, seed: 42 }).inertia, r.restartInertias[0], "restart 0 alone");
  assertEq(kmeans(x, n, d, 9, { restarts: 6, seed: 42 }).inertia, r.inertia, "deterministic");
});

Deno.test("kmeansPlusPlusInit: draws in proportion to squared distance", () => {
  // three points at 0 and one at 100: whichever is first, the second centre is the other place
  // (it is the only point at a positive distance); uniform sampling would repeat 0 half the time
  const x = new Float64Array([0, 0, 100, 0]);
  for (let s = 0; s < 32; s++) {
    const c = kmeansPlusPlusInit(x, 4, 1, 2, hostRng(s));
    assertEq([...c].sort((a, b) => a - b), [0, 100], `seed ${s}`);
  }
  // more centres than distinct points is allowed; they repeat
  assertEq([...kmeansPlusPlusInit(new Float32Array([2, 2, 2]), 3, 1, 3, hostRng(1))], [2, 2, 2], "all equal");
});

Deno.test("kmeans: bad input names the argument", () => {
  const x = new Float32Array(6);
  assertThrows(() => kmeans(x, 3, 3, 2), "kmeans: x has 6 entries but n × d = 3 × 3 = 9");
  assertThrows(() => kmeans(x, 3, 2, 4), "kmeans: k must be an integer in [1, 3], got 4");
  assertThrows(() => kmeans(new Float32Array([0, NaN]), 2, 1, 1), "kmeans: x[1] is NaN");
  assertThrows(() => kmeans(x, 3, 2, 2, { restarts: 0 }), "kmeans: opts.restarts must be an integer ≥ 1");
});

Deno.test("hostRng: deterministic, in [0, 1), streams differ", () => {
  const a = hostRng(5, 0), b = hostRng(5, 0), c = hostRng(5, 1);
  const va = Array.from({ length: 1000 }, () => a()), vb = Array.from({ length: 1000 }, () => b());
  assertEq(va, vb, "same seed and stream");
  if (va.some((v) => !(v >= 0 && v < 1))) throw new Error("out of [0, 1)");
  if (va.slice(0, 8).every((v) => v === c())) throw new Error("stream 1 repeats stream 0");
  // mean of 1000 uniforms: SE = 1/√12000 ≈ 0.0091
  assertNear(va.reduce((s, v) => s + v, 0) / va.length, 0.5, 4 / Math.sqrt(12000), "mean");
});

Deno.test("meanStd: closed form of 1..n, and no cancellation far from zero", () => {
  const n = 10, ks = Array.from({ length: n }, (_, i) => i + 1);
  const want = Math.sqrt((n * (n + 1)) / 12); // sample variance of 1..n is n(n+1)/12
  const a = meanStd(ks);
  assertNear(a.mean, 5.5, EPS, "mean");
  assertNear(a.std, want, EPS, "std");
  const b = meanStd(ks.map((k) => 1e9 + k));
  assertNear(b.mean, 1e9 + 5.5, 0, "shifted mean");
  assertNear(b.std, want, 1e-9, "shifted std");
  assertEq(meanStd([0.25]).mean, 0.25, "single mean");
  if (!Number.isNaN(meanStd([0.25]).std)) throw new Error("the sample std of one value must be NaN");
  assertThrows(() => meanStd([]), "meanStd: values is empty");
  assertThrows(() => meanStd([1, Infinity]), "meanStd: values[1] is Infinity");
});

Deno.test("seedsSummary and markdownTable: mean ± sample std per metric", () => {
  const barlow = seedsSummary([{ knn: 0.79, linear: 0.84 }, { knn: 0.81, linear: 0.85 }, { knn: 0.8, linear: 0.83 }]);
  assertEq(barlow.knn.values, [0.79, 0.81, 0.8], "values in order");
  assertNear(barlow.knn.mean, 0.8, EPS, "knn mean");
  assertNear(barlow.knn.std, 0.01, EPS, "knn std"); // deviations ±0.01, 0: √(0.0002 / 2)
  assertNear(barlow.linear.std, 0.01, EPS, "linear std");
  const simclr = seedsSummary([{ knn: 0.7 }]);
  const table = markdownTable({ barlow, "simclr|x": simclr }, { digits: 1, scale: 100, rowHeading: "method" });
  assertEq(
    table,
    "| method | knn | linear | seeds |\n" +
      "|---|---:|---:|---:|\n" +
      "| barlow | 80.0 ± 1.0 | 84.0 ± 1.0 | 3 |\n" +
      "| simclr\\|x | 70.0 | — | 1 |\n",
    "table",
  );
  assertThrows(() => seedsSummary([{ knn: 1 }, { linear: 1 }]), "records[1] must hold the metrics of records[0] (knn)");
  assertThrows(() => seedsSummary([{ knn: 1 }, { knn: NaN }]), "seedsSummary: records[1].knn is NaN");
  assertThrows(() => markdownTable({}), "markdownTable: rows is empty");
});

// k-means on the host in float64: the reference the GPU k-means is checked against. Points are n rows
// of d features, row-major (Float32Array or Float64Array). k-means++ seeding (Arthur & Vassilvitskii
// 2007), then Lloyd's iterations until no assignment changes or the inertia stops falling; of several
// seeded restarts, the one with the least inertia (sum of squared distances to the assigned centre) wins.
import { finite, intIn } from "./check.ts";
import { hostRng } from "./rng.ts";

export type Matrix = Float32Array | Float64Array;

export interface KmeansOptions {
  /** independent k-means++ seedings (default 10) */
  restarts?: number;
  /** Lloyd iterations per restart at most (default 300) */
  iters?: number;
  /** restart r draws from the Philox stream (seed, r) (default 0) */
  seed?: number;
  /**
   * stop a restart once an iteration lowers the inertia by at most this fraction of it (default 0:
   * run until no assignment changes or the inertia stops falling)
   */
  tol?: number;
}

export interface KmeansResult {
  /** k × d centres, row-major */
  centroids: Float64Array;
  /** centre of each point */
  assignment: Int32Array;
  inertia: number;
  /** Lloyd iterations the winning restart ran */
  iterations: number;
  /** the final inertia of every restart, in order */
  restartInertias: number[];
}

export const KMEANS_DEFAULTS = { restarts: 10, iters: 300, seed: 0, tol: 0 } as const;

function checkPoints(fn: string, x: Matrix, n: number, d: number, k: number) {
  intIn(fn, "n", n, 1);
  intIn(fn, "d", d, 1);
  if (x.length !== n * d) throw new Error(`${fn}: x has ${x.length} entries but n × d = ${n} × ${d} = ${n * d}`);
  intIn(fn, "k", k, 1, n);
  finite(fn, "x", x);
}

function dist2(x: Matrix, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const e = x[i * d + t] - c[j * d + t];
    s += e * e;
  }
  return s;
}

/**
 * k-means++ seeding: the first centre is a uniform point, each next one a point drawn with probability
 * proportional to its squared distance to the nearest centre so far. `rng` gives uniforms in [0, 1).
 */
export function kmeansPlusPlusInit(x: Matrix, n: number, d: number, k: number, rng: () => number): Float64Array {
  checkPoints("kmeansPlusPlusInit", x, n, d, k);
  const centres = new Float64Array(k * d);
  const take = (i: number, j: number) => centres.set(x.subarray(i * d, (i + 1) * d), j * d);
  take(Math.min(n - 1, Math.floor(rng() * n)), 0);
  const nearest = new Float64Array(n).fill(Infinity);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i], dist2(x, i, centres, j - 1, d));
      total += nearest[i];
    }
    // all points already on a centre (fewer distinct points than k): any point will do
    let pick = Math.min(n - 1, Math.floor(rng() * n));
    if (total > 0) {
      let target = rng() * total;
      for (pick = 0; pick < n - 1; pick++) {
        target -= nearest[pick];
        if (target < 0 && nearest[pick] > 0) break;
      }
      while (nearest[pick] === 0) pick--; // rounding ran past the end onto a taken point
    }
    take(pick, j);
  }
  return centres;
}

/**
 * What one assignment pass over the points gives for a set of centres: each point's nearest centre
 * (ties: the lower index), the inertia, and per-cluster coordinate sums and sizes of that assignment
 * (what the next centres are made of). The host pass below computes it in float64; the GPU pass
 * (eval/kmeans_gpu.ts) in f32 on the device. Lloyd's loop takes ownership of the arrays.
 */
export interface AssignPass {
  labels: Int32Array;
  inertia: number;
  /** k × d, row-major */
  sums: Float64Array;
  sizes: Float64Array;
}

/** The assignment pass on the host, in float64. */
export function assignOnHost(x: Matrix, n: number, d: number, k: number, centres: Float64Array): AssignPass {
  const labels = new Int32Array(n), sums = new Float64Array(k * d), sizes = new Float64Array(k);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bestD = dist2(x, i, centres, 0, d);
    for (let j = 1; j < k; j++) {
      const dj = dist2(x, i, centres, j, d);
      if (dj < bestD) {
        best = j;
        bestD = dj;
      }
    }
    labels[i] = best;
    inertia += bestD;
    sizes[best]++;
    for (let t = 0; t < d; t++) sums[best * d + t] += x[i * d + t];
  }
  return { labels, inertia, sums, sizes };
}

/**
 * Moves every centre to the mean of its points (`sums`, `sizes` of the assignment `labels`). A centre
 * left with no points moves onto the point farthest from its own centre (as scikit-learn relocates
 * empty clusters), so k clusters survive; `labels`, `sums` and `sizes` are updated for the move.
 */
function update(x: Matrix, d: number, k: number, centres: Float64Array, a: AssignPass) {
  const { labels, sums, sizes } = a, n = labels.length;
  for (let j = 0; j < k; j++) {
    if (sizes[j] > 0) {
      for (let t = 0; t < d; t++) centres[j * d + t] = sums[j * d + t] / sizes[j];
      continue;
    }
    let far = 0, farD = -1;
    for (let i = 0; i < n; i++) {
      const di = dist2(x, i, centres, labels[i], d);
      if (di > farD) {
        far = i;
        farD = di;
      }
    }
    const from = labels[far];
    centres.set(x.subarray(far * d, (far + 1) * d), j * d);
    labels[far] = j;
    sizes[from]--;
    sizes[j] = 1;
    // the donor's mean without the moved point (it stays where it was if that empties it)
    if (sizes[from] > 0) {
      for (let t = 0; t < d; t++) {
        sums[from * d + t] -= x[far * d + t];
        centres[from * d + t] = sums[from * d + t] / sizes[from];
      }
    }
  }
}

/**
 * Lloyd's k-means with k-means++ restarts, as a generator over its assignment passes: it yields the
 * centres to assign and takes their AssignPass back, so the float64 host pass (`kmeans`) and the GPU
 * pass (eval/kmeans_gpu.ts) share every other rule — seeding, empty clusters, stopping, the pick of the
 * restart. Returns the restart of least inertia (the first on a tie). Arguments are checked on the
 * first `next()`, before anything is yielded.
 */
export function* lloyd(
  x: Matrix,
  n: number,
  d: number,
  k: number,
  opts: KmeansOptions = {},
  fn = "kmeans",
): Generator<Float64Array, KmeansResult, AssignPass> {
  checkPoints(fn, x, n, d, k);
  const { restarts, iters, seed, tol } = { ...KMEANS_DEFAULTS, ...opts };
  intIn(fn, "opts.restarts", restarts, 1);
  intIn(fn, "opts.iters", iters, 1);
  intIn(fn, "opts.seed", seed, 0, 0xffffffff);
  if (!(tol >= 0 && tol < 1)) throw new Error(`${fn}: opts.tol must be in [0, 1), got ${tol}`);
  let best: KmeansResult | undefined;
  const restartInertias: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const centres = kmeansPlusPlusInit(x, n, d, k, hostRng(seed, r));
    let a: AssignPass = yield centres, it = 0;
    const labels = Int32Array.from(a.labels);
    while (it < iters) {
      update(x, d, k, centres, { ...a, labels });
      it++;
      const before = a.inertia;
      a = yield centres;
      const settled = a.labels.every((v, i) => v === labels[i]);
      // the reported assignment is always the nearest-centre one of the reported centres
      labels.set(a.labels);
      // Lloyd never raises the inertia; a step that does not lower it only trades tied points (an
      // empty cluster refilled and emptied again when there are fewer distinct points than k).
      // tol > 0 also stops once a step gains less than that fraction of the inertia.
      if (settled || before - a.inertia <= tol * before) break;
    }
    restartInertias.push(a.inertia);
    if (!best || a.inertia < best.inertia) {
      best = { centroids: centres, assignment: labels, inertia: a.inertia, iterations: it, restartInertias };
    }
  }
  return best!;
}

/** Lloyd's k-means with k-means++ restarts on the host in float64 (see `lloyd`). */
export function kmeans(x: Matrix, n: number, d: number, k: number, opts: KmeansOptions = {}): KmeansResult {
  const steps = lloyd(x, n, d, k, opts);
  let s = steps.next();
  while (!s.done) s = steps.next(assignOnHost(x, n, d, k, s.value));
  return s.value;
}

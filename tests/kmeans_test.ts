// k-means on the GPU (eval/kmeans_gpu.ts) held to the float64 host reference (eval/metrics/kmeans.ts):
// the same seeds give the same starting centres, so on data without near ties the two must agree on
// every assignment, every iteration count and (within f32 rounding) every centre and inertia. Plus
// known answers: well-separated blobs are recovered exactly.
import assert from "node:assert/strict";
import { kmeansGpu } from "../eval/kmeans_gpu.ts";
import {
  ari,
  assignOnHost,
  clusteringAccuracy,
  hostRng,
  kmeans,
  type KmeansResult,
  lloyd,
  nmi,
  scoreClustering,
} from "../eval/metrics/mod.ts";
import { getGpu } from "../runtime/device.ts";

/** n points per centre, noise of scale `noise` (sum of three uniforms), row-major; and the true blob. */
function blobs(centres: number[][], n: number, noise: number, seed: number) {
  const rng = hostRng(seed), d = centres[0].length;
  const x = new Float32Array(centres.length * n * d), truth: number[] = [];
  // interleaved, so every part of the points holds several blobs
  for (let i = 0; i < n * centres.length; i++) {
    const c = centres[i % centres.length];
    for (let t = 0; t < d; t++) x[i * d + t] = c[t] + noise * (rng() + rng() + rng() - 1.5);
    truth.push(i % centres.length);
  }
  return { x, truth, n: centres.length * n, d };
}

/** Smallest gap, over all points, between the nearest and second-nearest centre's squared distance. */
function smallestMargin(x: Float32Array, n: number, d: number, k: number, c: Float64Array): number {
  let margin = Infinity;
  for (let i = 0; i < n; i++) {
    const ds = Array.from({ length: k }, (_, j) => {
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t] - c[j * d + t]) ** 2;
      return s;
    }).sort((a, b) => a - b);
    margin = Math.min(margin, ds[1] - ds[0]);
  }
  return margin;
}

/** Assignment passes of the host reference (restart 0 of `seed`) that leave some cluster empty. */
function emptyPasses(x: Float32Array, n: number, d: number, k: number, seed: number): number {
  const steps = lloyd(x, n, d, k, { restarts: 1, seed });
  let s = steps.next(), empties = 0;
  while (!s.done) {
    const pass = assignOnHost(x, n, d, k, s.value);
    if (pass.sizes.some((z) => z === 0)) empties++;
    s = steps.next(pass);
  }
  return empties;
}

function assertSameRun(got: KmeansResult, want: KmeansResult, scale: number) {
  assert.deepEqual(Array.from(got.assignment), Array.from(want.assignment), "assignments");
  assert.equal(got.iterations, want.iterations, "iterations");
  assert.equal(got.restartInertias.length, want.restartInertias.length);
  got.restartInertias.forEach((v, r) => {
    const w = want.restartInertias[r];
    assert.ok(Math.abs(v - w) <= 1e-5 * Math.max(w, scale), `restart ${r} inertia ${v} vs ${w}`);
  });
  for (let i = 0; i < want.centroids.length; i++) {
    const e = Math.abs(got.centroids[i] - want.centroids[i]);
    assert.ok(e <= 1e-5 * scale, `centroid entry ${i}: ${got.centroids[i]} vs ${want.centroids[i]}`);
  }
}

Deno.test("kmeansGpu: equals the float64 reference on separated blobs, points split in uneven parts", async () => {
  const gpu = await getGpu();
  const { x, n, d } = blobs([[0, 0, 0, 0], [6, 0, 0, 1], [0, 6, 0, 2], [0, 0, 6, 3], [6, 6, 6, 4]], 31, 1, 4);
  const opts = { restarts: 4, seed: 11 };
  const want = kmeans(x, n, d, 5, opts);
  assertSameRun(await kmeansGpu(x, n, d, 5, { ...opts, gpu, partRows: 40 }), want, 10);
  assertSameRun(await kmeansGpu(x, n, d, 5, { ...opts, gpu }), want, 10);
});

Deno.test("kmeansGpu: equals the reference through many Lloyd iterations on uniform points", async () => {
  const gpu = await getGpu();
  // uniform points: no cluster structure, so Lloyd walks many steps and the restarts end differently
  const rng = hostRng(5), n = 240, d = 2, k = 7;
  const x = Float32Array.from({ length: n * d }, () => rng());
  const opts = { restarts: 3, seed: 3 };
  const want = kmeans(x, n, d, k, opts);
  // the test means something only if no point is near a tie where f32 and float64 may choose apart
  const margin = smallestMargin(x, n, d, k, want.centroids);
  assert.ok(margin > 1e-4, `data too close to a tie for an f32 comparison (margin ${margin})`);
  assert.ok(want.iterations >= 5, `only ${want.iterations} iterations`);
  assert.ok(new Set(want.restartInertias).size > 1, "the restarts end alike");
  assertSameRun(await kmeansGpu(x, n, d, k, { ...opts, gpu, partRows: 100 }), want, 1);
  // a tolerance stops both at the same, earlier, iteration
  const loose = { ...opts, tol: 0.05 };
  const early = kmeans(x, n, d, k, loose);
  assert.ok(early.iterations < want.iterations, `tol 0.05: ${early.iterations} vs ${want.iterations} iterations`);
  assertSameRun(await kmeansGpu(x, n, d, k, { ...loose, gpu }), early, 1);
});

Deno.test("kmeansGpu: an emptied cluster is re-seeded as the reference does", async () => {
  const gpu = await getGpu();
  // three points at 0 and one at 10 in three clusters: k-means++ puts two centres on 0 (every other
  // point is at distance 0 or taken), the tie leaves one of them empty and it is re-seeded
  const x = new Float32Array([0, 0, 0, 10]);
  for (let seed = 0; seed < 4; seed++) {
    const want = kmeans(x, 4, 1, 3, { restarts: 1, seed });
    assertSameRun(await kmeansGpu(x, 4, 1, 3, { restarts: 1, seed, gpu }), want, 10);
  }
  // distinct points where a Lloyd step empties a cluster (found by search over small random sets)
  const y = Float32Array.from([
    10.5,
    6.25,
    12.75,
    8.5,
    3,
    1,
    4.75,
    1,
    8.5,
    0.75,
    0,
    9.25,
    0.5,
    2.75,
    0,
    1.5,
    0.5,
    5.5,
    0.75,
    12,
    8.75,
    11.5,
    8,
    0,
    3.25,
    1.5,
    8.75,
    0,
    7.75,
    3.75,
  ]);
  assert.ok(emptyPasses(y, 15, 2, 7, 0) > 0, "the data no longer empties a cluster");
  assertSameRun(
    await kmeansGpu(y, 15, 2, 7, { restarts: 1, seed: 0, gpu }),
    kmeans(y, 15, 2, 7, { restarts: 1, seed: 0 }),
    13,
  );
});

Deno.test("kmeansGpu: recovers separated blobs exactly (accuracy, NMI and ARI 1) and centres at their means", async () => {
  const gpu = await getGpu();
  const centres = [[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]];
  const { x, truth, n, d } = blobs(centres, 50, 1, 9);
  const r = await kmeansGpu(x, n, d, 5, { restarts: 3, seed: 2, gpu });
  assert.deepEqual(scoreClustering(r.assignment, truth), { accuracy: 1, nmi: 1, ari: 1 });
  // each found centre is within the noise of a true one
  for (let j = 0; j < 5; j++) {
    const c = [r.centroids[2 * j], r.centroids[2 * j + 1]];
    const gap = Math.min(...centres.map((t) => Math.hypot(t[0] - c[0], t[1] - c[1])));
    assert.ok(gap < 0.3, `centre ${j} at ${c} is ${gap} from the nearest true centre`);
  }
});

Deno.test("kmeansGpu: bad input is named before any GPU work", async () => {
  const x = new Float32Array(6);
  await assert.rejects(() => kmeansGpu(x, 3, 2, 4), /kmeansGpu: k must be an integer in \[1, 3\], got 4/);
  await assert.rejects(() => kmeansGpu(x, 3, 3, 2), /kmeansGpu: x has 6 entries but n × d = 3 × 3 = 9/);
  await assert.rejects(() => kmeansGpu(new Float32Array([0, NaN]), 2, 1, 1), /kmeansGpu: x\[1\] is NaN/);
  await assert.rejects(() => kmeansGpu(x, 3, 2, 2, { tol: 1 }), /kmeansGpu: opts.tol must be in \[0, 1\), got 1/);
  assert.throws(() => kmeans(x, 3, 2, 2, { tol: -0.1 }), /kmeans: opts.tol must be in \[0, 1\)/);
});

Deno.test("scoreClustering: the three scores of clustering papers, each as its own function gives it", () => {
  const pred = [0, 0, 1, 1, 2, 2, 2, 0], labels = [1, 1, 0, 0, 2, 2, 0, 1];
  const s = scoreClustering(pred, labels);
  assert.deepEqual(s, { accuracy: clusteringAccuracy(pred, labels), nmi: nmi(pred, labels), ari: ari(pred, labels) });
  assert.equal(s.accuracy, 7 / 8);
  assert.throws(() => scoreClustering([0, 1], [0]), /clusteringAccuracy: pred has 2 entries but labels has 1/);
});

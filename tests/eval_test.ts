// Evaluation on the GPU: the topk kernel against its float64 reference (random rows, ties,
// k = C, NaN/±0/±Inf, a pattern that overflows the candidate list), weighted kNN against a
// float64 host implementation of the same vote, and the linear probe (first step against a
// host computation, accuracy on separable data).
import { extractFeatures, type FeatureSet } from "../eval/features.ts";
import { knnEval } from "../eval/knn.ts";
import { l2NormalizeRows } from "../eval/nearest.ts";
import { pixelFeatures, pixelKnn } from "../eval/pixels.ts";
import type { Tensor } from "../ir/tensor.ts";
import { DeviceImages } from "../runtime/device_images.ts";
import type { Executable } from "../runtime/executable.ts";
import { LinearProbe, linearProbe, probeOptions } from "../eval/linear_probe.ts";
import { presets } from "../dsl/presets.ts";
import { TOPK, topkPlan } from "../kernels/topk.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { getGpu } from "../runtime/device.ts";
import { assertClose, cpuOp, rand } from "./util/check.ts";
import { runOpGPU } from "./util/gpu.ts";
import { assertThrows } from "./util/assert.ts";

function assertEquals(a: unknown, b: unknown, what = "") {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`${what}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  }
}
async function assertRejects(f: () => Promise<unknown>, _e: unknown, msg: string) {
  try {
    await f();
  } catch (e) {
    if (!(e as Error).message.includes(msg)) {
      throw new Error(`expected an error containing '${msg}', got '${(e as Error).message}'`);
    }
    return;
  }
  throw new Error(`expected an error containing '${msg}'`);
}

/** GPU topk vs the float64 reference, bit-exact (values are f32 inputs, indices integers). */
async function checkTopk(x: Float32Array, R: number, C: number, k: number, what: string) {
  const want = cpuOp("topk", [{ shape: [R, C], data: x }], { k });
  const got = await awaitGpu(runOpGPU("topk", [{ shape: [R, C], data: x }], { k }));
  for (let i = 0; i < want.length; i++) {
    const same = Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!same) {
      const r = Math.floor(i / (2 * k)), j = i % (2 * k);
      throw new Error(
        `${what}: row ${r} ${j < k ? `value ${j}` : `index ${j - k}`}: got ${got[i]}, expected ${want[i]}`,
      );
    }
  }
}

Deno.test("topk: random rows on odd shapes match float64 (chunked path and small rows)", async () => {
  // vec4 rows ([4, 1500], [3, 1000]) and scalar rows (odd C, or C/4 < k as in [2, 700] k=200)
  for (
    const [R, C, k] of [[7, 13, 5], [5, 301, 17], [3, 1501, 7], [2, 2049, 200], [1, 1, 1], [4, 1500, 31], [
      3,
      1000,
      250,
    ], [2, 700, 200]]
  ) {
    await checkTopk(Float32Array.from(rand(R * C, R * 31 + C, -3, 3)), R, C, k, `[${R}, ${C}] k=${k}`);
  }
});

Deno.test("topk: ties, k = C, NaN / ±0 / ±Inf", async () => {
  // few distinct values: ties broken by the lower column; C > cap forces the exact fallback
  const q = (n: number, seed: number, levels: number) => Float32Array.from(rand(n, seed, 0, levels), Math.floor);
  await checkTopk(q(4 * 37, 3, 3), 4, 37, 10, "ties, short rows");
  for (const C of [1500, 1501]) {
    const x = q(3 * C, 4, 2);
    if (!overflows(x, 3, C, 9)) throw new Error("test setup: the tie case must overflow the candidate list");
    await checkTopk(x, 3, C, 9, `ties, overflowing rows of ${C}`);
  }
  await checkTopk(new Float32Array(2 * 1500).fill(0.5), 2, 1500, 11, "all equal");
  // ties at the k-th value come first in the row, the larger values last: the fallback must
  // keep all larger values and only the first ties
  const late = new Float32Array(1500).fill(1).fill(2, 1495);
  if (!overflows(late, 1, 1500, 9)) throw new Error("test setup: must overflow");
  await checkTopk(late, 1, 1500, 9, "ties before larger values");
  await checkTopk(Float32Array.from(rand(3 * 29, 5)), 3, 29, 29, "k = C");
  await checkTopk(Float32Array.from(rand(2 * 700, 6)), 2, 700, 700, "k = C, long rows");
  const special = Float32Array.from([0, -0, NaN, Infinity, -Infinity, 1, -1, 0, -0, 3.5, -Infinity, 2]);
  await checkTopk(special, 1, special.length, 8, "special values");
});

Deno.test("topk: adversarial order (all large values in k − 1 chunks) overflows into the fallback", async () => {
  for (const [R, C, k] of [[2, 6001, 40], [2, 6000, 40]]) await fewChunksTop(R, C, k);
  // ascending and descending rows
  const [C, k] = [3001, 40];
  const asc = Float32Array.from({ length: C }, (_, i) => i * 0.25), desc = asc.slice().reverse();
  await checkTopk(asc, 1, C, k, "ascending");
  await checkTopk(desc, 1, C, k, "descending");
});

/** k − 1 chunks (column c is in chunk ⌊c / vec⌋ mod M) hold all the large values */
async function fewChunksTop(R: number, C: number, k: number) {
  const { chunks, vec } = topkPlan(C, k);
  const x = Float32Array.from(rand(R * C, 9, 0, 1));
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) if (Math.floor(c / vec) % chunks < k - 1) x[r * C + c] = 10 + c / C;
  }
  if (!overflows(x, R, C, k)) throw new Error("test setup: must overflow the candidate list");
  await checkTopk(x, R, C, k, `few-chunk top [${R}, ${C}]`);
}

/** Host model of the kernel's fast path: does some row have more than `cap` elements ≥ t0? */
function overflows(x: Float32Array, R: number, C: number, k: number): boolean {
  const { chunks, vec, cap } = topkPlan(C, k);
  for (let r = 0; r < R; r++) {
    const mx = new Array(chunks).fill(-Infinity);
    for (let c = 0; c < C; c++) {
      const j = Math.floor(c / vec) % chunks;
      mx[j] = Math.max(mx[j], x[r * C + c]);
    }
    const t0 = mx.sort((a, b) => b - a)[k - 1];
    let n = 0;
    for (let c = 0; c < C; c++) if (x[r * C + c] >= t0) n++;
    if (n > cap) return true;
  }
  return false;
}

Deno.test("topk: bad k or shape is a ShapeError naming the op", () => {
  assertThrows(() => TOPK.topk.shape([[3, 5]], { k: 6 }), "topk: k = 6");
  assertThrows(() => TOPK.topk.shape([[3, 5]], { k: 0 }), "topk: k = 0");
  assertThrows(() => TOPK.topk.shape([[2, 3, 5]], { k: 1 }), "topk: input must be 2-D");
});

// ---- kNN --------------------------------------------------------------------------------------

/** Float64 host reference: normalise, cosine similarity to all, k best (ties: lower index), weighted vote. */
function knnHost(train: FeatureSet, test: FeatureSet, k: number, T: number): Int32Array {
  const norm = (f: FeatureSet) => {
    const out = new Float64Array(f.n * f.dim);
    for (let i = 0; i < f.n; i++) {
      let s = 0;
      for (let j = 0; j < f.dim; j++) s += f.data[i * f.dim + j] ** 2;
      for (let j = 0; j < f.dim; j++) out[i * f.dim + j] = f.data[i * f.dim + j] / Math.sqrt(s);
    }
    return out;
  };
  const a = norm(train), b = norm(test), d = train.dim;
  const pred = new Int32Array(test.n);
  for (let q = 0; q < test.n; q++) {
    const sims = Array.from({ length: train.n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += b[q * d + j] * a[i * d + j];
      return [s, i];
    }).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    const score = new Float64Array(train.classes);
    for (let i = 0; i < k; i++) score[train.labels[sims[i][1]]] += Math.exp(sims[i][0] / T);
    pred[q] = score.indexOf(Math.max(...score));
  }
  return pred;
}

function features(
  n: number,
  dim: number,
  classes: number,
  seed: number,
  centers?: Float64Array,
  noise = 1,
): FeatureSet {
  const z = rand(n * dim, seed, -1, 1), lab = rand(n, seed + 1, 0, classes);
  const labels = Int32Array.from(lab, Math.floor);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      data[i * dim + j] = (centers ? centers[labels[i] * dim + j] : 0) + noise * z[i * dim + j];
    }
  }
  return { data, labels, n, dim, classes };
}

Deno.test("knn: same top-1 predictions as a float64 host vote (bank parts, padded chunks)", async () => {
  const centers = rand(3 * 13, 77, -1, 1);
  const train = features(301, 13, 3, 10, centers, 1.2), test = features(41, 13, 3, 20, centers, 1.2);
  const want = knnHost(train, test, 20, 0.1);
  const wantTop1 = want.filter((p, i) => p === test.labels[i]).length / test.n;
  if (wantTop1 === 1 || wantTop1 < 0.4) {
    throw new Error(`test setup: host top-1 ${wantTop1} should be informative but imperfect`);
  }
  for (const opts of [{ chunk: 16 }, { partRows: 43, chunk: 16 }]) { // 1 part; 7 equal parts
    const got = await knnEval(train, test, { k: 20, T: 0.1, ...opts });
    assertEquals(Array.from(got.predictions), Array.from(want), JSON.stringify(opts));
    assertEquals(got.top1, wantTop1);
    assertEquals([got.k, got.T], [20, 0.1]);
  }
});

Deno.test("knn: well separated clusters are classified perfectly", async () => {
  const centers = Float64Array.from(rand(4 * 17, 5, -1, 1), (v) => 4 * v);
  const train = features(203, 17, 4, 30, centers, 0.1), test = features(57, 17, 4, 40, centers, 0.1);
  const r = await knnEval(train, test, { k: 50, T: 0.1, chunk: 25 });
  assertEquals(r.top1, 1);
  await assertRejects(() => knnEval(train, test, { k: 204 }), Error, "k = 204");
  const bad = { ...test, dim: 16, data: test.data.subarray(0, 57 * 16) };
  await assertRejects(() => knnEval(train, bad), Error, "dim");
});

Deno.test("l2NormalizeRows gives unit rows and keeps zero rows", () => {
  const x = Float32Array.from([3, 4, 0, 0, 1, 0]);
  assertClose(l2NormalizeRows(x, 3, 2), [0.6, 0.8, 0, 0, 1, 0], { rtol: 1e-7, atol: 0 });
});

// ---- linear probe ---------------------------------------------------------------------------

Deno.test("linear probe: first step loss and SGD update match a float64 host computation", async () => {
  const [B, D, C, lr, wd] = [37, 13, 3, 0.1, 0.01];
  const gpu = await getGpu();
  const probe = await LinearProbe.create(gpu, D, C, B, 5, { kind: "sgd", momentum: 0.9, weightDecay: wd }, 7);
  try {
    const x = Float32Array.from(rand(B * D, 8, -2, 2)), labels = Int32Array.from(rand(B, 9, 0, C), Math.floor);
    const y = new Float32Array(B * C);
    labels.forEach((l, i) => (y[i * C + l] = 1));
    const w0 = probe.initial.get("probe.weight")!, b0 = probe.initial.get("probe.bias")!;
    // host: logits, mean cross-entropy, dL/dlogits = (softmax − onehot)/B, gradients of W and b
    let loss = 0;
    const gw = new Float64Array(D * C), gb = new Float64Array(C);
    for (let i = 0; i < B; i++) {
      const z = Array.from({ length: C }, (_, c) => {
        let s = b0[c];
        for (let j = 0; j < D; j++) s += x[i * D + j] * w0[j * C + c];
        return s;
      });
      const m = Math.max(...z), lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      loss += (lse - z[labels[i]]) / B;
      for (let c = 0; c < C; c++) {
        const d = (Math.exp(z[c] - lse) - (c === labels[i] ? 1 : 0)) / B;
        gb[c] += d;
        for (let j = 0; j < D; j++) gw[j * C + c] += x[i * D + j] * d;
      }
    }
    probe.step(x, y, lr);
    assertClose([await probe.lastLoss()], [loss], { rtol: 1e-5, atol: 1e-6 }, "first-step loss");
    // PyTorch SGD, first step: buf = g + wd·w (weights only), w −= lr·buf
    assertClose(await probe.param("probe.weight"), Array.from(w0, (w, i) => w - lr * (gw[i] + wd * w)), {
      rtol: 1e-5,
      atol: 1e-6,
    }, "W after step");
    assertClose(
      await probe.param("probe.bias"),
      Array.from(b0, (b, i) => b - lr * gb[i]),
      { rtol: 1e-5, atol: 1e-6 },
      "b after step",
    );
  } finally {
    probe.destroy();
  }
});

/** Points whose class is the argmax of a fixed linear map, kept only with a margin ≥ 0.5. */
function separable(n: number, dim: number, classes: number, seed: number): FeatureSet {
  const wt = rand(dim * classes, 123, -1, 1);
  const data = new Float32Array(n * dim), labels = new Int32Array(n);
  let i = 0, s = seed;
  while (i < n) {
    const x = rand(dim, s++, -1, 1);
    const sc = Array.from({ length: classes }, (_, c) => x.reduce((a, v, j) => a + v * wt[j * classes + c], 0));
    const sorted = [...sc].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 0.5) continue;
    data.set(x.map((v) => v * 3 + 1), i * dim); // scaled and shifted: the probe standardises
    labels[i++] = sc.indexOf(sorted[0]);
  }
  return { data, labels, n, dim, classes };
}

Deno.test("linear probe: ≥ 95% on linearly separable data (AdamW and SGD)", async () => {
  const train = separable(603, 19, 4, 1000), test = separable(211, 19, 4, 50000);
  const a = await linearProbe(train, test, { epochs: 15, batch: 64, lr: 0.02 });
  if (!(a.top1 >= 0.95)) throw new Error(`AdamW probe top-1 ${a.top1} (losses ${a.losses.map((l) => l.toFixed(3))})`);
  if (!(a.losses[a.losses.length - 1] < a.losses[0])) throw new Error(`loss did not decrease: ${a.losses}`);
  assertEquals(a.epochs, 15);
  const s = await linearProbe(train, test, { epochs: 15, batch: 64, lr: 0.5, optimizer: "sgd", weightDecay: 0 });
  if (!(s.top1 >= 0.95)) throw new Error(`SGD probe top-1 ${s.top1} (losses ${s.losses.map((l) => l.toFixed(3))})`);
});

Deno.test("evaluation's probe: eval.linearLr reaches the optimizer, and a small split still gets 500 steps", async () => {
  const e = presets.barlowTwins({ data: "synthetic" }).eval;
  assertEquals(e.linearLr, 1e-3); // the lr the probe always used: the default run's figures stay
  assertEquals(probeOptions({ ...e, linearLr: 0.05 }, 60_000), { epochs: 10, batch: 256, lr: 0.05, minSteps: 500 });
  // 120 images = one batch per epoch: 10 epochs were 10 steps, which left the probe at its random init
  const train = separable(120, 19, 4, 1000), test = separable(211, 19, 4, 50000);
  const slow = await linearProbe(train, test, probeOptions(e, train.n));
  assertEquals(slow.epochs, 500);
  // 10 steps gave 23% here, below chance (25%); 500 give 76%
  if (!(slow.top1 >= 0.6)) throw new Error(`probe top-1 ${slow.top1} after ${slow.epochs} epochs`);
  const fast = await linearProbe(train, test, probeOptions({ ...e, linearLr: 0.1 }, train.n));
  // one step per epoch: losses[2] is the loss after two steps
  if (!(fast.losses[2] < slow.losses[2] - 0.05)) {
    throw new Error(
      `lr 0.1 vs 1e-3 losses after 2 steps ${fast.losses[2]} / ${slow.losses[2]}: the lr did not reach the probe`,
    );
  }
});

// ---- feature extraction and the pixel baseline ------------------------------------------------

Deno.test("extractFeatures: batches with a padded last batch give the host-computed rows", async () => {
  const [n, c, h, w, F] = [23, 2, 3, 5, 7], per = c * h * w;
  const ds = {
    name: "tiny",
    images: Float32Array.from(rand(n * per, 61, 0, 1)),
    labels: Int32Array.from(rand(n, 62, 0, 3), Math.floor),
    n,
    c,
    h,
    w,
    classes: 3,
  };
  const wts = Float32Array.from(rand(per * F, 63));
  // a stand-in encoder: features = relu(flatten(images) · W)
  const model = {
    forward: (x: Tensor) => x.reshape([x.shape[0], per]).matmul(x.g.state("W", [per, F], { kind: "zeros" })).relu(),
    load: (ex: Executable) => ex.write("W", wts),
  };
  const want = new Float64Array(n * F);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) {
      let s = 0;
      for (let j = 0; j < per; j++) s += ds.images[i * per + j] * wts[j * F + f];
      want[i * F + f] = Math.max(s, 0);
    }
  }
  const gpu = await getGpu();
  // resident in one group, resident over several groups, and streamed through a window of 2 batches
  for (
    const [what, maxBytes, groupBatches] of [["resident", undefined, undefined], ["groups of 1", undefined, 1], [
      "streamed",
      20 * per * 4,
      2,
    ]] as const
  ) {
    const images = DeviceImages.create(gpu, ds, { maxBytes });
    try {
      if ((what === "streamed") === images.resident) throw new Error(`${what}: resident = ${images.resident}`);
      const got = await extractFeatures(gpu, model, images, { batch: 10, groupBatches });
      assertEquals([got.n, got.dim, got.classes], [n, F, 3]);
      assertEquals(Array.from(got.labels), Array.from(ds.labels));
      assertClose(got.data, want, { rtol: 1e-5, atol: 1e-5 }, `features (${what})`);
    } finally {
      images.destroy();
    }
  }
  const images = DeviceImages.create(gpu, ds);
  await assertRejects(
    () =>
      extractFeatures(gpu, { ...model, forward: (x: Tensor) => x.reshape([x.shape[0] * per]) }, images, { batch: 10 }),
    Error,
    "expected [10, F]",
  );
  images.destroy();
});

Deno.test("pixelKnn is kNN on flattened pixels", async () => {
  const centers = Float64Array.from(rand(3 * 12, 71, 0, 1));
  const tr = features(90, 12, 3, 72, centers, 0.4), te = features(31, 12, 3, 73, centers, 0.4);
  // non-negative "pixels" in [0, 1] shaped [n, 3, 2, 2]
  const img = (f: FeatureSet, name: string) => ({
    name,
    images: f.data.map((v) => Math.min(1, Math.abs(v))),
    labels: f.labels,
    n: f.n,
    c: 3,
    h: 2,
    w: 2,
    classes: 3,
  });
  const a = img(tr, "train"), b = img(te, "test");
  const got = await pixelKnn(a, b, { k: 15 });
  const want = knnHost(pixelFeatures(a), pixelFeatures(b), 15, 0.1);
  assertEquals(Array.from(got.predictions), Array.from(want));
});

// Weighted kNN classifier on frozen features (InstDisc; docs/recipes.md, "Evaluation protocols"):
// cosine similarity of each test feature to every train feature, the k most similar vote for
// their class with weight exp(sim / T), top-1 of the summed votes.
//
// GPU side (one compiled program, the project's kernels): the L2-normalised train features
// ("bank") stay on the GPU as persistent tensors, split into parts that each fit one storage
// binding (60000×1024 f32 is 245 MB, the binding limit 128 MiB); per chunk of test rows the
// program computes sims = query · partᵀ (matmul with transB) and topk(sims) for every part.
// Host side: the chunk's per-part top-k lists (k values + k indices per row, tiny) are merged
// and the O(k) vote is summed in float64.
import { compileFor } from "../runtime/compile_for.ts";
import { Graph } from "../ir/graph.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { Executable } from "../runtime/executable.ts";
import { checkFeatures, type FeatureSet } from "./features.ts";
import { Pacer } from "./pace.ts";

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

/** Rows scaled to unit L2 norm (norms accumulated in float64; zero rows stay zero). */
export function l2NormalizeRows(x: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) out[i * dim + j] = x[i * dim + j] * inv;
  }
  return out;
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
  const k = opts.k ?? 200, T = opts.T ?? 0.1, dim = train.dim;
  if (!Number.isInteger(k) || k < 1 || k > train.n) {
    throw new Error(`knn: k = ${k} must be an integer in [1, ${train.n}] (train rows)`);
  }
  if (!(T > 0)) throw new Error(`knn: temperature T = ${T} must be positive`);
  const classes = Math.max(train.classes, test.classes);
  const gpu = opts.gpu ?? await getGpu();
  const limitElems = Math.floor(gpu.device.limits.maxStorageBufferBindingSize / 4);

  // bank parts of (nearly) equal size, each within one binding
  const maxPart = Math.min(opts.partRows ?? Infinity, Math.floor(limitElems / dim));
  if (maxPart < 1) throw new Error(`knn: one feature row of dim ${dim} exceeds the storage binding limit`);
  const nParts = Math.ceil(train.n / maxPart), partRows = Math.ceil(train.n / nParts);
  const parts = Array.from(
    { length: nParts },
    (_, p) => ({ start: p * partRows, rows: Math.min(partRows, train.n - p * partRows) }),
  );
  // the chunk's [chunk, partRows] similarities must fit one binding too
  const chunk = Math.max(
    1,
    Math.min(opts.chunk ?? 256, test.n, Math.floor(limitElems / partRows), Math.floor(limitElems / dim)),
  );

  const g = new Graph();
  const query = g.input("query", [chunk, dim]);
  parts.forEach((p, i) => {
    const bank = g.state(`knn.bank${i}`, [p.rows, dim], { kind: "zeros" });
    g.output(`top${i}`, query.matmul(bank, false, true).op("topk", [], { k: Math.min(k, p.rows) }));
  });
  const program = await compileFor(gpu, g);
  const ex = await awaitGpu(Executable.create(gpu, program));
  try {
    const bank = l2NormalizeRows(train.data, train.n, dim);
    parts.forEach((p, i) => ex.write(`knn.bank${i}`, bank.subarray(p.start * dim, (p.start + p.rows) * dim)));
    const queries = l2NormalizeRows(test.data, test.n, dim);
    const outs = parts.map((p, i) =>
      [program.outputs.get(`top${i}`)!.storage, chunk * 2 * Math.min(k, p.rows)] as [number, number]
    );

    const pad = new Float32Array(chunk * dim);
    const pacer = new Pacer();
    const submit = (c: number) => {
      const rows = Math.min(chunk, test.n - c * chunk);
      const src = queries.subarray(c * chunk * dim, (c * chunk + rows) * dim);
      if (rows === chunk) ex.write("query", src);
      else {
        pad.fill(0).set(src);
        ex.write("query", pad);
      }
      ex.run();
      pacer.submitted();
    };

    const predictions = new Int32Array(test.n);
    const nChunks = Math.ceil(test.n / chunk);
    const cand = new Float64Array(nParts * k), candIdx = new Float64Array(nParts * k);
    let correct = 0;
    submit(0);
    for (let c = 0; c < nChunks; c++) {
      await pacer.beforeRead();
      const pending = ex.readMany(outs); // queued before the next chunk overwrites the outputs
      if (c + 1 < nChunks) submit(c + 1);
      const tops = await awaitGpu(pending);
      pacer.read();
      const rows = Math.min(chunk, test.n - c * chunk);
      for (let r = 0; r < rows; r++) {
        let m = 0;
        parts.forEach((p, i) => {
          const kp = Math.min(k, p.rows), row = tops[i].subarray(r * 2 * kp, (r + 1) * 2 * kp);
          for (let j = 0; j < kp; j++) {
            cand[m] = row[j];
            candIdx[m++] = p.start + row[kp + j];
          }
        });
        const q = c * chunk + r;
        predictions[q] = weightedVote(cand.subarray(0, m), candIdx.subarray(0, m), train.labels, classes, k, T);
        if (predictions[q] === test.labels[q]) correct++;
      }
    }
    return { top1: correct / test.n, k, T, seconds: (performance.now() - t0) / 1000, predictions };
  } finally {
    ex.destroy();
  }
}

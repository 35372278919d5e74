// Nearest neighbours by cosine similarity on the GPU, returned as ranked lists (indices and
// similarities) rather than a vote: the retrieval, anomaly and change tools rank with it.
// Same machinery as the kNN classifier (eval/knn.ts): the L2-normalised bank stays on the GPU
// split into parts that each fit one storage binding; per chunk of queries one program computes
// sims = query · partᵀ and topk(sims) per part; the host merges the parts' short lists.
// `nearestReference` is the float64 host version the tests hold the GPU to.
import { compileFor } from "../runtime/compile_for.ts";
import { Graph } from "../ir/graph.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { Executable } from "../runtime/executable.ts";
import { Pacer } from "./pace.ts";

/** n rows of `dim` values, row-major. */
export interface Rows {
  data: Float32Array;
  n: number;
  dim: number;
}

export interface Neighbours {
  k: number;
  /** query q's neighbours are [q·k, (q+1)·k): bank row indices, most similar first (ties: lower index) */
  indices: Int32Array;
  /** their cosine similarities */
  sims: Float32Array;
}

export interface NearestOptions {
  gpu?: Gpu;
  /** queries per dispatch (default 256; lowered to fit the storage binding limit) */
  chunk?: number;
  /** bank rows per part (default: as many as fit one storage binding) */
  partRows?: number;
}

function checkRows(r: Rows, what: string): void {
  if (!Number.isInteger(r.n) || r.n < 1 || !Number.isInteger(r.dim) || r.dim < 1 || r.data.length !== r.n * r.dim) {
    throw new Error(`${what}: ${r.data.length} values for n = ${r.n} rows of dim ${r.dim}`);
  }
}

function checkArgs(bank: Rows, queries: Rows, k: number, fn: string): void {
  checkRows(bank, `${fn}: the bank`);
  checkRows(queries, `${fn}: the queries`);
  if (bank.dim !== queries.dim) throw new Error(`${fn}: bank rows have dim ${bank.dim}, queries ${queries.dim}`);
  if (!Number.isInteger(k) || k < 1 || k > bank.n) {
    throw new Error(`${fn}: k = ${k} must be an integer in [1, ${bank.n}] (the bank's rows)`);
  }
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

/** Candidates (sim, index) → the k best, most similar first, ties by lower index. */
function keepBest(sims: ArrayLike<number>, idx: ArrayLike<number>, m: number, k: number, q: number, out: Neighbours) {
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => sims[b] - sims[a] || idx[a] - idx[b]);
  for (let j = 0; j < k; j++) {
    out.indices[q * k + j] = idx[order[j]];
    out.sims[q * k + j] = sims[order[j]];
  }
}

/** The k bank rows most similar (cosine) to each query, on the GPU. */
export async function nearest(bank: Rows, queries: Rows, k: number, opts: NearestOptions = {}): Promise<Neighbours> {
  checkArgs(bank, queries, k, "nearest");
  const dim = bank.dim;
  const gpu = opts.gpu ?? await getGpu();
  const limitElems = Math.floor(gpu.device.limits.maxStorageBufferBindingSize / 4);
  const maxPart = Math.min(opts.partRows ?? Infinity, Math.floor(limitElems / dim));
  if (maxPart < 1) throw new Error(`nearest: one feature row of dim ${dim} exceeds the storage binding limit`);
  const nParts = Math.ceil(bank.n / maxPart), partRows = Math.ceil(bank.n / nParts);
  const parts = Array.from(
    { length: nParts },
    (_, p) => ({ start: p * partRows, rows: Math.min(partRows, bank.n - p * partRows) }),
  );
  const kOf = (rows: number) => Math.min(k, rows);
  const chunk = Math.max(
    1,
    Math.min(
      opts.chunk ?? 256,
      queries.n,
      Math.floor(limitElems / partRows),
      Math.floor(limitElems / dim),
      Math.floor(limitElems / (2 * k)),
    ),
  );
  const g = new Graph();
  const query = g.input("query", [chunk, dim]);
  parts.forEach((p, i) => {
    const part = g.state(`nearest.bank${i}`, [p.rows, dim], { kind: "zeros" });
    g.output(`top${i}`, query.matmul(part, false, true).op("topk", [], { k: kOf(p.rows) }));
  });
  const program = await compileFor(gpu, g);
  const ex = await awaitGpu(Executable.create(gpu, program));
  try {
    const normed = l2NormalizeRows(bank.data, bank.n, dim);
    parts.forEach((p, i) => ex.write(`nearest.bank${i}`, normed.subarray(p.start * dim, (p.start + p.rows) * dim)));
    const q = l2NormalizeRows(queries.data, queries.n, dim);
    const outs = parts.map((p, i) =>
      [program.outputs.get(`top${i}`)!.storage, chunk * 2 * kOf(p.rows)] as [number, number]
    );
    const out: Neighbours = { k, indices: new Int32Array(queries.n * k), sims: new Float32Array(queries.n * k) };
    const pad = new Float32Array(chunk * dim);
    // sleep through most of a chunk's expected time before reading: awaiting dawn.node busy-polls a core
    const pacer = new Pacer();
    const submit = (c: number) => {
      const rows = Math.min(chunk, queries.n - c * chunk);
      const src = q.subarray(c * chunk * dim, (c * chunk + rows) * dim);
      if (rows === chunk) ex.write("query", src);
      else {
        pad.fill(0).set(src);
        ex.write("query", pad);
      }
      ex.run();
      pacer.submitted();
    };
    const cand = new Float64Array(nParts * k), candIdx = new Float64Array(nParts * k);
    const nChunks = Math.ceil(queries.n / chunk);
    submit(0);
    for (let c = 0; c < nChunks; c++) {
      // the reads are queued before the next chunk overwrites the outputs, so the GPU works on
      // chunk c + 1 while the host merges chunk c
      await pacer.beforeRead();
      const pending = ex.readMany(outs);
      if (c + 1 < nChunks) submit(c + 1);
      const tops = await awaitGpu(pending);
      pacer.read();
      const rows = Math.min(chunk, queries.n - c * chunk);
      for (let r = 0; r < rows; r++) {
        const at = (c * chunk + r) * k;
        if (nParts === 1) {
          // topk's list is already in keepBest's order (descending, ties by lower index)
          const row = tops[0].subarray(r * 2 * k, (r + 1) * 2 * k);
          for (let j = 0; j < k; j++) {
            out.sims[at + j] = row[j];
            out.indices[at + j] = row[k + j];
          }
          continue;
        }
        let m = 0;
        parts.forEach((p, i) => {
          const kp = kOf(p.rows), row = tops[i].subarray(r * 2 * kp, (r + 1) * 2 * kp);
          for (let j = 0; j < kp; j++) {
            cand[m] = row[j];
            candIdx[m++] = p.start + row[kp + j];
          }
        });
        keepBest(cand, candIdx, m, k, c * chunk + r, out);
      }
    }
    return out;
  } finally {
    ex.destroy();
  }
}

/** `nearest` in float64 on the host (every similarity, full sort): the tests' reference. */
export function nearestReference(bank: Rows, queries: Rows, k: number): Neighbours & { sims64: Float64Array } {
  checkArgs(bank, queries, k, "nearestReference");
  const { dim } = bank;
  const norm = (r: Rows, i: number) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += r.data[i * dim + j] ** 2;
    return Math.max(Math.sqrt(s), 1e-12);
  };
  const bankNorms = Array.from({ length: bank.n }, (_, i) => norm(bank, i));
  const out: Neighbours = { k, indices: new Int32Array(queries.n * k), sims: new Float32Array(queries.n * k) };
  const sims64 = new Float64Array(queries.n * k);
  const sims = new Float64Array(bank.n), idx = Array.from({ length: bank.n }, (_, i) => i);
  for (let q = 0; q < queries.n; q++) {
    const qn = norm(queries, q);
    for (let b = 0; b < bank.n; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += queries.data[q * dim + j] * bank.data[b * dim + j];
      sims[b] = s / (qn * bankNorms[b]);
    }
    keepBest(sims, idx, bank.n, k, q, out);
    for (let j = 0; j < k; j++) sims64[q * k + j] = sims[out.indices[q * k + j]];
  }
  return { ...out, sims64 };
}

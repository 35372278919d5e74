// k-means with its assignment passes on the GPU. Lloyd's loop itself — k-means++ seeding, empty
// clusters, stopping, the pick of the restart — is eval/metrics/kmeans.ts's `lloyd`, shared with the
// float64 host reference, so the two differ only in the pass that is O(n·k·d) per iteration.
//
// The points stay on the device for all restarts, each row extended by a 1 (and zeros up to a
// multiple of 4 columns, for the kernels' vec4 loads): x' = [x, 1, 0…]. The host sends the centres
// as c' = [2c, −‖c‖², 0…] (‖c‖² in float64). Then, per part of the points (each fits one storage
// binding):
//
//   score  = x'·c'ᵀ = 2x·c − ‖c‖²        one matmul [rows, k]; ‖x‖² − score is the squared distance
//   top    = topk(score, 1)               nearest centre and its score (ties: the lower index)
//   onehot = (top's index == 0..k−1)      [rows, k]
//   sums   = onehotᵀ·x'                   [k, d'] : the clusters' coordinate sums, then their sizes
//
// So the coordinate sums run on the GPU too (a matmul of the same size as the scores') and no O(n·d)
// work is left on the host per iteration. The host divides sums by sizes in float64 (k·d values),
// relocates empty clusters (a data-dependent branch over rare events; it needs the points, which the
// host keeps) and tests convergence on the read-back labels: per iteration it writes k·d' floats
// and reads 2n + k·d'.
import { compileFor } from "../runtime/compile_for.ts";
import { Graph } from "../ir/graph.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { Executable } from "../runtime/executable.ts";
import type { Program } from "../compiler/compile.ts";
import { type AssignPass, type KmeansOptions, type KmeansResult, lloyd, type Matrix } from "./metrics/mod.ts";
import { Pacer } from "./pace.ts";

export interface KmeansGpuOptions extends KmeansOptions {
  gpu?: Gpu;
  /** points per part (default: as many as fit one storage binding) */
  partRows?: number;
}

/** Columns of a stored point: its d coordinates, a 1, then zeros to a multiple of 4. */
const paddedWidth = (d: number) => Math.ceil((d + 1) / 4) * 4;

interface Part {
  start: number;
  rows: number;
}

/** The device side of the assignment pass: the points' parts as state, the centres as the input. */
class GpuAssigner {
  private readonly pacer = new Pacer();
  private readonly reads: [number, number][];
  private readonly norms: Float64Array;
  private readonly width: number;

  private constructor(
    private readonly ex: Executable,
    program: Program,
    private readonly parts: Part[],
    private readonly n: number,
    private readonly d: number,
    private readonly k: number,
    x: Matrix,
  ) {
    this.width = paddedWidth(d);
    this.reads = parts.flatMap((p, i) =>
      [
        [program.outputs.get(`top${i}`)!.storage, p.rows * 2],
        [program.outputs.get(`sums${i}`)!.storage, k * this.width],
      ] as [number, number][]
    );
    // ‖x‖² in float64, once: the inertia is Σ (‖x‖² − best score)
    this.norms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += x[i * d + t] ** 2;
      this.norms[i] = s;
    }
  }

  static async create(gpu: Gpu, x: Matrix, n: number, d: number, k: number, partRows?: number) {
    const width = paddedWidth(d);
    const limitElems = Math.floor(gpu.device.limits.maxStorageBufferBindingSize / 4);
    const maxPart = Math.min(partRows ?? Infinity, Math.floor(limitElems / Math.max(width, k)));
    if (maxPart < 1) throw new Error(`kmeansGpu: one point of dim ${d} exceeds the storage binding limit`);
    if (k * width > limitElems) {
      throw new Error(`kmeansGpu: ${k} centres of dim ${d} exceed the storage binding limit`);
    }
    const nParts = Math.ceil(n / maxPart), rowsPer = Math.ceil(n / nParts);
    const parts = Array.from(
      { length: nParts },
      (_, p) => ({ start: p * rowsPer, rows: Math.min(rowsPer, n - p * rowsPer) }),
    );
    const g = new Graph();
    const centres = g.input("centres", [k, width]);
    const iota = g.state("kmeans.iota", [1, k], { kind: "zeros" });
    parts.forEach((p, i) => {
      const xs = g.state(`kmeans.points${i}`, [p.rows, width], { kind: "zeros" });
      const top = xs.matmul(centres, false, true).op("topk", [], { k: 1 });
      const onehot = top.slice(1, 1, 2).eq(iota);
      g.output(`top${i}`, top);
      g.output(`sums${i}`, onehot.matmul(xs, true, false));
    });
    const program = await compileFor(gpu, g);
    const ex = await awaitGpu(Executable.create(gpu, program));
    try {
      ex.write("kmeans.iota", Float32Array.from({ length: k }, (_, j) => j));
      for (const [i, p] of parts.entries()) {
        const rows = new Float32Array(p.rows * width);
        for (let r = 0; r < p.rows; r++) {
          const at = (p.start + r) * d;
          rows.set(x.subarray(at, at + d), r * width);
          rows[r * width + d] = 1;
        }
        ex.write(`kmeans.points${i}`, rows);
      }
    } catch (e) {
      ex.destroy();
      throw e;
    }
    return new GpuAssigner(ex, program, parts, n, d, k, x);
  }

  async assign(centres: Float64Array): Promise<AssignPass> {
    const { n, d, k, width } = this;
    const c = new Float32Array(k * width);
    for (let j = 0; j < k; j++) {
      let norm = 0;
      for (let t = 0; t < d; t++) {
        const v = centres[j * d + t];
        c[j * width + t] = 2 * v;
        norm += v * v;
      }
      c[j * width + d] = -norm;
    }
    this.ex.write("centres", c);
    this.ex.run();
    this.pacer.submitted();
    // sleep through most of the pass before reading: awaiting dawn.node busy-polls a core
    await this.pacer.beforeRead();
    const got = await awaitGpu(this.ex.readMany(this.reads));
    this.pacer.read();
    const labels = new Int32Array(n), sums = new Float64Array(k * d), sizes = new Float64Array(k);
    let inertia = 0;
    this.parts.forEach((p, i) => {
      const [top, s] = [got[2 * i], got[2 * i + 1]];
      for (let r = 0; r < p.rows; r++) {
        labels[p.start + r] = top[2 * r + 1];
        // rounding can leave a point on its centre a hair below zero
        inertia += Math.max(0, this.norms[p.start + r] - top[2 * r]);
      }
      for (let j = 0; j < k; j++) {
        for (let t = 0; t < d; t++) sums[j * d + t] += s[j * width + t];
        sizes[j] += s[j * width + d];
      }
    });
    return { labels, inertia, sums, sizes };
  }

  destroy(): void {
    this.ex.destroy();
  }
}

/**
 * Lloyd's k-means with k-means++ restarts (eval/metrics/kmeans.ts's options and result), the
 * assignment passes on the GPU in f32. Same seed → same starting centres as the host `kmeans`.
 */
export async function kmeansGpu(
  x: Matrix,
  n: number,
  d: number,
  k: number,
  opts: KmeansGpuOptions = {},
): Promise<KmeansResult> {
  const steps = lloyd(x, n, d, k, opts, "kmeansGpu");
  // the first step checks the arguments and seeds restart 0, before any GPU work
  let s = steps.next();
  if (s.done) return s.value;
  const assigner = await GpuAssigner.create(opts.gpu ?? await getGpu(), x, n, d, k, opts.partRows);
  try {
    while (!s.done) s = steps.next(await assigner.assign(s.value));
    return s.value;
  } finally {
    assigner.destroy();
  }
}

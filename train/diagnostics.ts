// Collapse diagnostics as their own small compiled program whose inputs are bound to the training
// step's two embeddings ('pair.a', 'pair.b'): at a diagnostics step it is recorded into the same
// command buffer right after the step, and its scalars (per-dimension std, C's diagonal and
// off-diagonal summaries) plus the embeddings z_a go to the readback ring with the loss, so
// measuring never stalls the queue. The effective rank of z_a is computed on the host. With
// `matrix`, the record also holds C itself (d² floats), for a caller that draws it live (the page).
import { compileFor } from "../runtime/compile_for.ts";
import { Graph } from "../ir/graph.ts";
import { collapseDiagnostics, crossCorrelation } from "../losses/mod.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { effectiveRank } from "./effective_rank.ts";

export const DIAG_KEYS = ["std_mean", "std_min", "nstd_mean", "corr_diag_mean", "corr_offdiag_abs_mean"] as const;

export class Diagnostics {
  private constructor(
    private ex: Executable,
    private step: Executable,
    readonly n: number,
    readonly d: number,
    readonly matrix: boolean,
  ) {}

  /** Diagnostics of a step program that exposes 'pair.a' and 'pair.b' [n, d]; undefined when it does not. */
  static async create(gpu: Gpu, step: Executable, opts: { matrix?: boolean } = {}): Promise<Diagnostics | undefined> {
    const a = step.program.outputs.get("pair.a"), b = step.program.outputs.get("pair.b");
    if (!a || !b) return undefined;
    const [n, d] = a.shape;
    const g = new Graph();
    const ia = g.input("a", [n, d]), ib = g.input("b", [n, d]);
    collapseDiagnostics(ia, ib, "diag");
    g.output("C", crossCorrelation(ia, ib));
    const program = await compileFor(gpu, g);
    const ex = await Executable.create(gpu, program, {
      bind: { a: step.buffers[a.storage], b: step.buffers[b.storage] },
    });
    return new Diagnostics(ex, step, n, d, !!opts.matrix);
  }

  /** bytes one measurement takes in a readback buffer: the scalars, then z_a, then C (with `matrix`) */
  get recordBytes(): number {
    return DIAG_KEYS.length * 4 + this.n * this.d * 4 + (this.matrix ? this.d * this.d * 4 : 0);
  }

  /** Records the measurement of the step just recorded, and its copy to `staging` at `offset`. */
  encode(enc: GPUCommandEncoder, staging: GPUBuffer, offset: number): void {
    this.ex.encode(enc);
    DIAG_KEYS.forEach((k, i) =>
      this.ex.encodeCopy(enc, this.ex.program.outputs.get(`diag.${k}`)!.storage, staging, offset + 4 * i, 4)
    );
    const a = this.step.program.outputs.get("pair.a")!.storage;
    this.step.encodeCopy(enc, a, staging, offset + DIAG_KEYS.length * 4, this.n * this.d * 4);
    if (!this.matrix) return;
    const c = this.ex.program.outputs.get("C")!.storage;
    this.ex.encodeCopy(enc, c, staging, offset + (DIAG_KEYS.length + this.n * this.d) * 4, this.d * this.d * 4);
  }

  /** C (row-major d×d) from a record read back, when the records hold it. */
  matrixOf(record: ArrayBuffer): Float32Array | undefined {
    if (!this.matrix) return undefined;
    return new Float32Array(record, (DIAG_KEYS.length + this.n * this.d) * 4, this.d * this.d);
  }

  /** The values of a record read back from a mapped range. */
  decode(record: ArrayBuffer): Record<string, number> {
    const scalars = new Float32Array(record, 0, DIAG_KEYS.length);
    const values: Record<string, number> = {};
    DIAG_KEYS.forEach((k, i) => (values[k] = scalars[i]));
    values.effective_rank = effectiveRank(
      new Float32Array(record, DIAG_KEYS.length * 4, this.n * this.d),
      this.n,
      this.d,
    );
    return values;
  }

  /** C and the diagnostics of the embeddings the step holds now (one round trip; after the loop). */
  async final(): Promise<{ values: Record<string, number>; C: Float32Array }> {
    this.ex.run();
    const o = (name: string) => this.ex.program.outputs.get(name)!;
    const a = this.step.program.outputs.get("pair.a")!;
    const reads = await this.ex.readMany([
      ...DIAG_KEYS.map((k) => [o(`diag.${k}`).storage, 1] as [number, number]),
      [o("C").storage, this.d * this.d],
    ]);
    const [za] = await this.step.readMany([[a.storage, this.n * this.d]]);
    const values: Record<string, number> = {};
    DIAG_KEYS.forEach((k, i) => (values[k] = reads[i][0]));
    values.effective_rank = effectiveRank(za, this.n, this.d);
    return { values, C: reads[DIAG_KEYS.length] };
  }

  destroy(): void {
    this.ex.destroy();
  }
}

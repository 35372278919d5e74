// Collapse diagnostics as their own small compiled program: the training step exposes the two
// embeddings of its main loss term ('pair.a', 'pair.b'); every few steps they are read back
// and this program computes per-dimension std, the cross-correlation C and its diagonal /
// off-diagonal summaries on the GPU, and the effective rank on the host.
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import { collapseDiagnostics, crossCorrelation } from "../losses/mod.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { effectiveRank } from "./effective_rank.ts";

export const DIAG_KEYS = ["std_mean", "std_min", "nstd_mean", "corr_diag_mean", "corr_offdiag_abs_mean"] as const;

export class Diagnostics {
  private constructor(private ex: Executable, readonly n: number, readonly d: number) {}

  static async create(gpu: Gpu, n: number, d: number): Promise<Diagnostics> {
    const g = new Graph();
    const a = g.input("a", [n, d]), b = g.input("b", [n, d]);
    collapseDiagnostics(a, b, "diag");
    g.output("C", crossCorrelation(a, b));
    const ex = await Executable.create(gpu, compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }));
    return new Diagnostics(ex, n, d);
  }

  /** scalar diagnostics of (a, b); with `withC`, also the D×D matrix C and the effective rank of a */
  async measure(a: Float32Array, b: Float32Array, withC = false): Promise<{ values: Record<string, number>; C?: Float32Array }> {
    this.ex.write("a", a);
    this.ex.write("b", b);
    this.ex.run();
    const values: Record<string, number> = {};
    for (const k of DIAG_KEYS) values[k] = (await this.ex.read(`diag.${k}`))[0];
    values.effective_rank = effectiveRank(a, this.n, this.d);
    if (!withC) return { values };
    return { values, C: await this.ex.read("C") };
  }

  destroy(): void {
    this.ex.destroy();
  }
}

// Matmul throughput through the real compiler and runtime (the kernel variant the trainer would
// pick for the adapter: runtime/compile_for.ts), `reps` independent products per submit to
// amortise submission.
import { Graph } from "../ir/graph.ts";
import { compileFor } from "../runtime/compile_for.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

export interface MatmulCase {
  name: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

export const MATMUL_CASES: MatmulCase[] = [
  { name: "1024³", M: 1024, N: 1024, K: 1024 },
  { name: "256×784×1024 (first encoder layer)", M: 256, N: 1024, K: 784, transB: true },
  { name: "256×2048×2048 (projector layer)", M: 256, N: 2048, K: 2048, transB: true },
  { name: "2048×256×2048 (BT zᵀz, D×D)", M: 2048, N: 2048, K: 256, transA: true },
];

export async function matmulBench(gpu: Gpu, c: MatmulCase, reps = 4) {
  const g = new Graph();
  const a = g.input("a", c.transA ? [c.K, c.M] : [c.M, c.K]);
  const b = g.input("b", c.transB ? [c.N, c.K] : [c.K, c.N]);
  for (let r = 0; r < reps; r++) g.output(`c${r}`, a.matmul(b, c.transA ?? false, c.transB ?? false));
  // the kernel the trainer would use here: the autotuner's cached pick, else the adapter default
  const p = await compileFor(gpu, g);
  const ex = await Executable.create(gpu, p);
  ex.write("a", new Float32Array(c.M * c.K).fill(0.5));
  ex.write("b", new Float32Array(c.K * c.N).fill(0.25));
  const label = p.steps.find((s) => s.kind === "dispatch")?.label ?? "";
  return {
    gflop: (2 * c.M * c.N * c.K * reps) / 1e9,
    kernel: label,
    async run() {
      ex.run();
      await ex.read("c0");
    },
    destroy: () => ex.destroy(),
  };
}

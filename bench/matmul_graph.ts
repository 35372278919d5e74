// Matmul throughput through the real compiler and runtime (the kernel variant the trainer would
// pick for the adapter: runtime/compile_for.ts), `reps` independent products per submit to
// amortise submission. Each product has inputs of its own: a variant that transposes an operand
// first pays for it in every product (the compiler would share one transpose of a common input).
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
  const first: number[] = [];
  for (let r = 0; r < reps; r++) {
    const a = g.input(`a${r}`, c.transA ? [c.K, c.M] : [c.M, c.K]);
    const b = g.input(`b${r}`, c.transB ? [c.N, c.K] : [c.K, c.N]);
    const y = a.matmul(b, c.transA ?? false, c.transB ?? false);
    g.output(`c${r}`, y);
    first.push(y.id);
  }
  // the kernel the trainer would use here: the autotuner's cached pick, else the adapter default
  const p = await compileFor(gpu, g);
  const ex = await Executable.create(gpu, p);
  for (let r = 0; r < reps; r++) {
    ex.write(`a${r}`, new Float32Array(c.M * c.K).fill(0.5));
    ex.write(`b${r}`, new Float32Array(c.K * c.N).fill(0.25));
  }
  // the product's own pass (after any transposes of its operands), and how many passes it takes
  const passes = p.steps.filter((s) => s.kind === "dispatch" && s.node === first[0]);
  const label = `${passes.at(-1)?.label ?? ""}${passes.length > 1 ? `, ${passes.length} passes` : ""}`;
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

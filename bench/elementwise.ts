// Bandwidth of a fused elementwise chain, and the fixed cost of a dispatch.
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

/** y = relu(a·b + 1)·exp(−a²)·s over n elements: 2 reads + 1 write of f32 per element, one kernel. */
export async function fusedChain(gpu: Gpu, n = 1 << 22, reps = 4) {
  const g = new Graph();
  const a = g.input("a", [n]), b = g.input("b", [n]), s = g.scalar("s");
  let y = a.mul(b).add(1).relu().mul(a.square().neg().exp()).mul(s);
  // `reps` chained kernels: each reads y and b and writes a new y (pinned outputs stop fusion)
  for (let r = 1; r < reps; r++) {
    g.output(`y${r}`, y);
    y = y.mul(b).add(1).relu().mul(s);
  }
  g.output("y", y);
  const p = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, p);
  ex.write("a", new Float32Array(n).fill(0.5));
  ex.write("b", new Float32Array(n).fill(0.25));
  ex.setScalars({ s: 1 });
  return {
    dispatches: p.stats.dispatches,
    bytes: reps * 3 * 4 * n,
    async run() {
      ex.run();
      await gpu.device.queue.onSubmittedWorkDone();
    },
    destroy: () => ex.destroy(),
  };
}

/** `count` tiny dependent dispatches in one submit: (wall time) / count ≈ per-dispatch cost. */
export async function dispatchChain(gpu: Gpu, count = 200) {
  const g = new Graph();
  let x = g.input("x", [64]);
  for (let i = 0; i < count; i++) {
    x = x.add(1);
    g.output(`x${i}`, x);
  }
  const p = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, p);
  ex.write("x", new Float32Array(64));
  return {
    dispatches: p.stats.dispatches,
    async run() {
      ex.run();
      await gpu.device.queue.onSubmittedWorkDone();
    },
    destroy: () => ex.destroy(),
  };
}

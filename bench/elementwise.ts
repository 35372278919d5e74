// Bandwidth of stand-alone fused elementwise kernels, and the fixed cost of a dispatch.
// `deno run -A bench/elementwise.ts` prints GB/s for a few layouts on its own (contiguous
// chain, BatchNorm-like row/column broadcasts, a size that is not a multiple of 4).
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { compileFor } from "../runtime/compile_for.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";

export interface EwBench {
  dispatches: number;
  /** bytes the kernels must move (f32 reads of full-size inputs + writes) per run */
  bytes: number;
  run(): Promise<void>;
  destroy(): void;
}

async function instantiate(gpu: Gpu, g: Graph, fill: Record<string, number>, bytes: number): Promise<EwBench> {
  const p = await compileFor(gpu, g);
  const ex = await Executable.create(gpu, p);
  for (const [name, id] of p.inputs) {
    ex.write(name, new Float32Array(bytesOf(p.storages[id].shape!)).fill(fill[name] ?? 0.5));
  }
  if (p.scalarIndex.size) ex.setScalars({ s: 1 });
  return {
    dispatches: p.stats.dispatches,
    bytes,
    async run() {
      ex.run();
      await awaitGpu(gpu.device.queue.onSubmittedWorkDone());
    },
    destroy: () => ex.destroy(),
  };
}
const bytesOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** y = relu(a·b + 1)·exp(−a²)·s over n elements: 2 reads + 1 write of f32 per element, one kernel. */
export function fusedChain(gpu: Gpu, n = 1 << 22, reps = 4): Promise<EwBench> {
  const g = new Graph();
  const a = g.input("a", [n]), b = g.input("b", [n]), s = g.scalar("s");
  let y = a.mul(b).add(1).relu().mul(a.square().neg().exp()).mul(s);
  // `reps` chained kernels: each reads y and b and writes a new y (pinned outputs stop fusion)
  for (let r = 1; r < reps; r++) {
    g.output(`y${r}`, y);
    y = y.mul(b).add(1).relu().mul(s);
  }
  g.output("y", y);
  return instantiate(gpu, g, { a: 0.5, b: 0.25 }, reps * 3 * 4 * n);
}

/**
 * BatchNorm-shaped broadcasts over a [rows, cols] batch, `reps` kernels: x̂ = (x − m)·r with
 * per-column m, r [1, cols], then x̂·w + b with per-row w, b [rows, 1]. Per element each kernel
 * reads one full-size value and writes one (the broadcast vectors stay in cache).
 */
function broadcastChain(gpu: Gpu, rows = 256, cols = 2048 * 8, reps = 4): Promise<EwBench> {
  const g = new Graph();
  const x = g.input("x", [rows, cols]);
  const m = g.input("m", [1, cols]), r = g.input("r", [1, cols]);
  const w = g.input("w", [rows, 1]), b = g.input("b", [rows, 1]);
  let y: Tensor = x;
  for (let k = 0; k < reps; k++) {
    y = k % 2 === 0 ? y.sub(m).mul(r) : y.mul(w).add(b);
    g.output(`y${k}`, y);
  }
  return instantiate(gpu, g, { x: 0.5, m: 0.1, r: 2, w: 0.5, b: 0.25 }, reps * 2 * 4 * rows * cols);
}

/** `count` tiny dependent dispatches in one submit: (wall time) / count ≈ per-dispatch cost. */
export async function dispatchChain(gpu: Gpu, count = 200) {
  const g = new Graph();
  let x = g.input("x", [64]);
  for (let i = 0; i < count; i++) {
    x = x.add(1);
    g.output(`x${i}`, x);
  }
  const p = await compileFor(gpu, g);
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

if (import.meta.main) {
  const gpu = await getGpu();
  const repeats = Number(Deno.args[0] ?? 15);
  const cases: [string, () => Promise<EwBench>][] = [
    ["contiguous chain, 4M elements", () => fusedChain(gpu)],
    ["contiguous chain, 4M + 3 elements (not a multiple of 4)", () => fusedChain(gpu, (1 << 22) + 3)],
    ["BN broadcasts [256, 16384] with [1, C] and [N, 1]", () => broadcastChain(gpu)],
    ["BN broadcasts [255, 16383] (odd)", () => broadcastChain(gpu, 255, 16383)],
  ];
  for (const [name, make] of cases) {
    const b = await make();
    await b.run();
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      await b.run();
      ms.push(performance.now() - t);
    }
    ms.sort((x, y) => x - y);
    const med = ms[ms.length >> 1];
    console.log(
      `${name.padEnd(58)} ${
        (b.bytes / (med / 1000) / 1e9).toFixed(2).padStart(6)
      } GB/s  (${b.dispatches} kernels, median ${med.toFixed(1)} ms)`,
    );
    b.destroy();
  }
}

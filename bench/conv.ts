// Convolution throughput (GFLOP/s) on a CIFAR ResNet layer — default batch 32, 64→64 channels,
// 32×32, 3×3, stride 1, pad 1 — for conv2d forward and for the backward pair
// conv2dGradInput + conv2dGradWeight. Each is a one-op graph compiled by the real compiler and
// runtime (so the weight / cotangent re-layout passes are included). A sample is one submit of
// `reps` steps timed by wall clock (dawn.node has no timestamps inside Executable.run); we
// sleep through most of the expected time before awaiting, because awaiting busy-polls a core.
// tinybench collects the samples; the median per-step time gives the figure. The kernels are
// each op's untuned pick for this adapter and shape (the ones a step runs): on lavapipe that is
// the Winograd convolution for this layer, whose figure is then an effective one (the direct
// convolution's FLOPs over the time taken).
import { Bench } from "tinybench";
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import { type Attrs, DEFAULT_VARIANT, type Shape, size } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { adapterKey } from "../runtime/autotune.ts";
import { awaitGpu } from "../runtime/wait.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

export interface ConvBenchOptions {
  N?: number;
  C?: number;
  O?: number;
  H?: number;
  W?: number;
  k?: number;
  stride?: number;
  pad?: number;
  /** kernel variant for the three conv ops (kernels/conv/variants.ts); default: each op's untuned pick for the shape */
  variant?: string;
  /** target duration of one sample (one submit), ms */
  sampleMs?: number;
  /** samples per case (tinybench iterations) */
  iterations?: number;
}

export interface ConvBenchRow {
  name: string;
  variant: string;
  /** FLOPs of one step (2 per multiply-add; the backward pair counts two convolutions) */
  gflop: number;
  reps: number;
  /** median ms per step */
  ms: number;
  gflops: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GFLOP/s of conv2d forward and backward on `device` for one layer shape. */
export async function benchConv(device: GPUDevice, o: ConvBenchOptions = {}): Promise<ConvBenchRow[]> {
  const { N = 32, C = 64, O = 64, H = 32, W = 32, k = 3, stride = 1, pad = 1, sampleMs = 1000, iterations = 3 } = o;
  const features = { subgroups: device.features.has("subgroups"), f16: device.features.has("shader-f16") };
  // default: each op's untuned pick for this adapter and shape (the autotuner's fallback)
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const target = { adapter: info ? adapterKey(info) : "unknown", features };
  const picked = new Set<string>();
  const variant = (op: string, inShapes: Shape[], attrs: Attrs) => {
    const choice = OPS[op].variants;
    if (!choice) return undefined;
    const name = o.variant ?? choice.fallback(target, inShapes, attrs);
    picked.add(name);
    return name === DEFAULT_VARIANT ? undefined : name;
  };
  const gpu: Gpu = {
    device,
    adapter: undefined as unknown as GPUAdapter,
    description: "",
    features: { ...features, timestamps: false },
    lastLabel: { value: "" },
  };
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1, Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const macs = N * O * Ho * Wo * C * k * k;
  const attrs = { stride, pad };
  const tag = `N${N} ${C}→${O} ${H}×${W} k${k} s${stride} p${pad}`;
  const cases: { name: string; convs: number; make(g: Graph): void }[] = [
    {
      name: `conv2d forward (${tag})`,
      convs: 1,
      make: (g) => g.output("y", g.add("conv2d", [g.input("x", [N, C, H, W]), g.input("w", [O, C, k, k])], attrs)),
    },
    {
      name: `conv2d backward, dx + dw (${tag})`,
      convs: 2,
      make: (g) => {
        const x = g.input("x", [N, C, H, W]), w = g.input("w", [O, C, k, k]), dy = g.input("g", [N, O, Ho, Wo]);
        g.output("dx", g.add("conv2dGradInput", [dy, w], { ...attrs, inShape: [N, C, H, W] }));
        g.output("dw", g.add("conv2dGradWeight", [x, dy], { ...attrs, wShape: [O, C, k, k] }));
      },
    },
  ];
  const rows: ConvBenchRow[] = [];
  for (const c of cases) {
    const g = new Graph();
    c.make(g);
    picked.clear();
    const program = compile(g, { features, variant });
    const ex = await Executable.create(gpu, program);
    try {
      for (const [leaf, id] of program.inputs) {
        ex.write(leaf, Float32Array.from({ length: size(program.storages[id].shape!) }, (_, i) => Math.sin(i * 0.37)));
      }
      const step = async (reps: number, expectMs: number) => {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) ex.run();
        await sleep(expectMs * 0.8);
        await awaitGpu(device.queue.onSubmittedWorkDone());
        return performance.now() - t0;
      };
      await step(1, 0); // compiles the shaders (llvmpipe compiles at the first dispatch)
      const first = await step(1, 0);
      const reps = Math.max(1, Math.min(64, Math.round(sampleMs / first)));
      const bench = new Bench({ iterations, time: 0, warmup: false, throws: true });
      bench.add(c.name, async () => ({ overriddenDuration: await step(reps, first * reps) }));
      await bench.run();
      const r = bench.tasks[0].result;
      if (r.state !== "completed") throw new Error(`bench conv ${c.name}: ${r.state}`);
      const ms = r.latency.p50 / reps, flop = 2 * macs * c.convs;
      rows.push({
        name: c.name,
        variant: [...picked].join(" + "),
        gflop: flop / 1e9,
        reps,
        ms,
        gflops: flop / (ms * 1e6),
      });
    } finally {
      ex.destroy();
    }
  }
  return rows;
}

if (import.meta.main) {
  // standalone: deno run -A bench/conv.ts [variant] [N,C,O,H,k,stride,pad]
  const { getGpu } = await import("../runtime/device.ts");
  const gpu = await getGpu();
  const [N, C, O, H, k, stride, pad] = (Deno.args[1] ?? "32,64,64,32,3,1,1").split(",").map(Number);
  console.log(`adapter: ${gpu.description}`);
  for (
    const r of await benchConv(gpu.device, { variant: Deno.args[0] || undefined, N, C, O, H, W: H, k, stride, pad })
  ) {
    console.log(
      `${r.name.padEnd(48)} ${r.variant.padEnd(8)} ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  (${
        r.ms.toFixed(1)
      } ms/step, ${r.reps} per submit)`,
    );
  }
}

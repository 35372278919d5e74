// Convolution throughput on a CIFAR ResNet layer (default: batch 32, 64→64 channels, 32×32,
// 3×3, stride 1, pad 1): conv2d forward, and the backward pair conv2dGradInput +
// conv2dGradWeight, each compiled through the real compiler and runtime (so the weight / g
// re-layout passes are included), timed by wall clock over several submits of `reps` steps.
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { size } from "../kernels/op.ts";

export interface ConvBenchOptions {
  N?: number;
  C?: number;
  O?: number;
  H?: number;
  W?: number;
  k?: number;
  stride?: number;
  pad?: number;
  /** steps per timed submit */
  reps?: number;
  /** timed submits (the median is reported) */
  rounds?: number;
  /** kernel variant for all three ops (see convVariant in kernels/conv.ts) */
  variant?: string;
}

export interface ConvBenchResult {
  name: string;
  gflop: number;
  ms: number;
  gflops: number;
}

/** A prepared benchmark case: `run()` submits `reps` steps and waits for them. */
export interface ConvCase {
  name: string;
  /** FLOPs of one step (2·MACs) */
  flop: number;
  reps: number;
  run(): Promise<void>;
  destroy(): void;
}

/** Compiles forward and backward programs for the layer and returns them ready to time. */
export async function convCases(device: GPUDevice, o: ConvBenchOptions = {}): Promise<ConvCase[]> {
  const { N = 32, C = 64, O = 64, H = 32, W = 32, k = 3, stride = 1, pad = 1, reps = 3 } = o;
  const gpu: Gpu = {
    device,
    adapter: undefined as unknown as GPUAdapter,
    description: "",
    features: { subgroups: device.features.has("subgroups"), f16: device.features.has("shader-f16"), timestamps: false },
    lastLabel: { value: "" },
  };
  const attrs = { stride, pad };
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1, Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const build = async (name: string, make: (g: Graph) => void): Promise<ConvCase> => {
    const g = new Graph();
    make(g);
    const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 }, variant: () => o.variant });
    const ex = await Executable.create(gpu, program);
    for (const [leaf, id] of program.inputs) {
      const s = program.storages[id];
      ex.write(leaf, Float32Array.from({ length: size(s.shape!) }, (_, i) => Math.sin(i * 0.37)));
    }
    // each output (y, dx, dw) is one full convolution's worth of multiply-adds
    const flop = 2 * N * O * Ho * Wo * C * k * k * g.outputs.size;
    // the first run compiles the shaders (llvmpipe compiles lazily at first dispatch)
    ex.run();
    await device.queue.onSubmittedWorkDone();
    return {
      name,
      flop,
      reps,
      run: async () => {
        for (let r = 0; r < reps; r++) ex.run();
        await device.queue.onSubmittedWorkDone();
      },
      destroy: () => ex.destroy(),
    };
  };
  const tag = `N${N} ${C}→${O} ${H}×${W} k${k} s${stride}`;
  return [
    await build(`conv2d forward (${tag})`, (g) => {
      g.output("y", g.add("conv2d", [g.input("x", [N, C, H, W]), g.input("w", [O, C, k, k])], attrs));
    }),
    await build(`conv2d backward: gradInput + gradWeight (${tag})`, (g) => {
      const x = g.input("x", [N, C, H, W]), w = g.input("w", [O, C, k, k]), dy = g.input("g", [N, O, Ho, Wo]);
      g.output("dx", g.add("conv2dGradInput", [dy, w], { ...attrs, inShape: [N, C, H, W] }));
      g.output("dw", g.add("conv2dGradWeight", [x, dy], { ...attrs, wShape: [O, C, k, k] }));
    }),
  ];
}

/** Times each case: median over `rounds` submits of `reps` steps; GFLOP/s of one step. */
export async function benchConv(device: GPUDevice, o: ConvBenchOptions = {}): Promise<ConvBenchResult[]> {
  const rounds = o.rounds ?? 3;
  const out: ConvBenchResult[] = [];
  for (const c of await convCases(device, o)) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t = performance.now();
      await c.run();
      times.push((performance.now() - t) / c.reps);
    }
    c.destroy();
    const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    out.push({ name: c.name, gflop: c.flop / 1e9, ms, gflops: c.flop / 1e6 / ms });
  }
  return out;
}

if (import.meta.main) {
  const { getGpu } = await import("../runtime/device.ts");
  const gpu = await getGpu();
  const variant = Deno.args[0];
  for (const r of await benchConv(gpu.device, { variant })) {
    console.log(`${r.name}${variant ? ` [${variant}]` : ""}: ${r.ms.toFixed(1)} ms, ${r.gflops.toFixed(2)} GFLOP/s`);
  }
}

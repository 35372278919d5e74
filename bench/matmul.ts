// Matmul throughput (GFLOP/s) for the shapes of a Barlow Twins MLP step: 1024³, the first
// encoder layer 256×784×1024, the projector 256×2048×2048, and the D×D cross-correlation
// zᵀz (M = N = 2048 from z [256, 2048], K = 256: transA). Shapes read M×K×N. Each sample is
// one submit of `reps` back-to-back dispatches of one kernel variant (standalone, through
// runtime/autotune.ts's runner); its duration is the GPU timestamp span of the pass when the
// device has 'timestamp-query', else wall clock. tinybench collects the samples.
import { Bench } from "tinybench";
import { describe, type MatmulProblem, matmulProblem } from "../kernels/matmul/common.ts";
import { defaultVariant, matmulVariant } from "../kernels/matmul/variants.ts";
import { adapterKey, deviceFeatures } from "../runtime/autotune.ts";
import {
  encodeMatmul,
  operandSizes,
  type PreparedMatmul,
  prepareMatmul,
  timeMatmul,
} from "../runtime/matmul_runner.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { noise } from "../runtime/spot_check.ts";
import { PassTimer } from "../runtime/timestamps.ts";
import type { MatmulCase } from "./matmul_graph.ts";

const MATMUL_BENCH_SHAPES: MatmulCase[] = [
  { name: "1024x1024x1024", M: 1024, K: 1024, N: 1024 },
  { name: "256x784x1024 (encoder layer 1)", M: 256, K: 784, N: 1024 },
  { name: "256x2048x2048 (projector)", M: 256, K: 2048, N: 2048 },
  { name: "2048x256x2048 Aᵀ (BT zᵀz)", M: 2048, K: 256, N: 2048, transA: true },
];

export interface MatmulBenchOptions {
  /** variants to time per shape (default: the adapter's untuned default) */
  variants?: string[];
  /** target duration of one sample (one submit), ms */
  sampleMs?: number;
  /** samples per case (tinybench iterations) */
  iterations?: number;
}

export interface MatmulBenchRow {
  name: string;
  variant: string;
  problem: string;
  reps: number;
  /** median ms per dispatch */
  ms: number;
  gflops: number;
  source: "gpu" | "wall";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One submit of `reps` dispatches; returns the pass's GPU span (timestamps) or wall time, in ms. */
function sampler(device: GPUDevice, m: PreparedMatmul, reps: number, expectMs: number) {
  const timer = PassTimer.create(device, 1);
  return {
    source: (timer ? "gpu" : "wall") as "gpu" | "wall",
    async sample(): Promise<number> {
      const enc = device.createCommandEncoder();
      encodeMatmul(enc, m, reps, timer?.writes(0));
      timer?.resolve(enc, 1);
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      // sleep through most of the expected time: awaiting dawn.node busy-polls a core
      await sleep(expectMs * 0.8);
      await awaitGpu(device.queue.onSubmittedWorkDone());
      const wall = performance.now() - t0;
      const gpu = timer ? (await timer.read(1))[0] * 1000 : NaN;
      return gpu > 0 ? gpu : wall;
    },
    destroy: () => timer?.destroy(),
  };
}

/**
 * GFLOP/s of each shape × variant on `device`. The first dispatch of each case compiles its
 * shader and sizes `reps` so one sample lasts about `sampleMs`; tinybench then takes
 * `iterations` samples and the median per-dispatch time gives the figure.
 */
async function benchMatmul(
  device: GPUDevice,
  shapes: MatmulCase[] = MATMUL_BENCH_SHAPES,
  o: MatmulBenchOptions = {},
): Promise<MatmulBenchRow[]> {
  const features = deviceFeatures(device);
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const adapter = info ? adapterKey(info) : undefined;
  const { sampleMs = 300, iterations = 5 } = o;
  const rows: MatmulBenchRow[] = [];
  for (const s of shapes) {
    const p: MatmulProblem = matmulProblem([s.transA ? [s.K, s.M] : [s.M, s.K], s.transB ? [s.N, s.K] : [s.K, s.N]], {
      transA: !!s.transA,
      transB: !!s.transB,
    });
    // default: the adapter's untuned pick for this shape
    for (const variant of o.variants ?? [defaultVariant(features, adapter, p)]) {
      const v = matmulVariant(variant);
      if (!v?.supports(features)) continue;
      // random operands: zeros can run faster than real data
      const [na, nb] = operandSizes(p);
      const m = await prepareMatmul(device, p, variant, { a: noise(na, 1), b: noise(nb, 2) });
      await timeMatmul(device, m, { rounds: 1 }); // compiles the shader (lazily, at first dispatch)
      const first = await timeMatmul(device, m, { rounds: 1 });
      const reps = Math.max(1, Math.min(256, Math.round(sampleMs / (first.seconds * 1000))));
      const smp = sampler(device, m, reps, first.seconds * 1000 * reps);
      const bench = new Bench({ iterations, time: 0, warmup: false, throws: true });
      bench.add(`${s.name} ${variant}`, async () => ({ overriddenDuration: await smp.sample() }));
      await bench.run();
      const r = bench.tasks[0].result;
      smp.destroy();
      m.destroy();
      if (r.state !== "completed") throw new Error(`bench matmul ${describe(p)} ${variant}: ${r.state}`);
      const ms = r.latency.p50 / reps;
      rows.push({
        name: s.name,
        variant,
        problem: describe(p),
        reps,
        ms,
        gflops: (2 * s.M * s.N * s.K) / (ms * 1e6),
        source: smp.source,
      });
    }
  }
  return rows;
}

if (import.meta.main) {
  // standalone: deno run -A bench/matmul.ts [variant,variant…] (any name, e.g. gemm128x128x8t8x8 or
  // gemm64x64x16t4x4-f16s; default: the adapter's pick per shape)
  const { getGpu } = await import("../runtime/device.ts");
  const gpu = await getGpu();
  const variants = Deno.args[0]?.split(",");
  console.log(`adapter: ${gpu.description}`);
  for (const r of await benchMatmul(gpu.device, MATMUL_BENCH_SHAPES, { variants })) {
    console.log(
      `${r.name.padEnd(34)} ${r.variant.padEnd(9)} ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  (${
        r.ms.toFixed(2)
      } ms/dispatch, ${r.reps} per submit, ${r.source})`,
    );
  }
}

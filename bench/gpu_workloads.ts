// The workloads bench/gpu.sh times in the project and in PyTorch: one list (also handed to
// bench/torch_gpu.py as JSON), and the project's side of each. Full sizes are the GPU run's;
// `small` ones let the whole script run end to end on llvmpipe and PyTorch's CPU.
import { resnet18 } from "../dsl/builders.ts";
import { defaultEncoder, presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { describe, matmulProblem } from "../kernels/matmul/common.ts";
import { defaultVariant } from "../kernels/matmul/variants.ts";
import { adapterKey, pickVariants } from "../runtime/autotune.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { matmulTrial, prepareMatmul, timeMatmul } from "../runtime/matmul_runner.ts";
import { noise } from "../runtime/spot_check.ts";
import { timeCandidates } from "../runtime/trials.ts";
import { compileStep, trainingGraph } from "../step/build.ts";

export interface Workload {
  id: string;
  title: string;
  kind: "matmul" | "bt_mlp" | "bt_resnet" | "pipeline";
  /** matmul: n×n×n in this element type */
  n?: number;
  dtype?: "f32" | "f16";
  batch?: number;
  image?: [number, number, number];
  encoder?: number[];
  proj?: number[];
  /** ResNet-18 base width (64 = the real network) */
  width?: number;
  /** "f16": PyTorch autocast; the project's f16-input kernels */
  precision?: "f32" | "f16";
  /** pipeline: training-set size, PyTorch steps timed, the project's pipelines/barlow.ts flags */
  train?: number;
  steps?: number;
  flags?: string[];
  iters?: number;
}

/**
 * The workloads in the order they run: the pipeline right after the default step, whose kernel
 * picks it reuses, and before the ResNet-18 rows, whose tuning takes longest.
 */
export function workloads(small: boolean): Workload[] {
  const s = small;
  return [
    {
      id: "matmul_f32",
      title: `matmul ${s ? 256 : 4096}³ f32 (PyTorch: TF32 off)`,
      kind: "matmul",
      n: s ? 256 : 4096,
      dtype: "f32",
      iters: 10,
    },
    {
      id: "matmul_f16",
      title: `matmul ${s ? 256 : 4096}³ f16`,
      kind: "matmul",
      n: s ? 256 : 4096,
      dtype: "f16",
      iters: 10,
    },
    {
      id: "bt_default",
      title: s
        ? "BT step, small (batch 32, 64-64, 128-128)"
        : "BT step, default run (batch 256, 784→512→512, projector 1024-1024)",
      kind: "bt_mlp",
      batch: s ? 32 : 256,
      image: [1, 28, 28],
      encoder: s ? [64, 64] : [512, 512],
      proj: s ? [128, 128] : [1024, 1024],
      iters: s ? 3 : 20,
    },
    {
      id: "barlow_pipeline",
      title: s
        ? "pipelines/barlow.ts, small run: training images/s"
        : "pipelines/barlow.ts default run: training images/s",
      kind: "pipeline",
      batch: s ? 64 : 256,
      image: [1, 28, 28],
      encoder: s ? [64, 64] : [512, 512],
      proj: s ? [128, 128] : [1024, 1024],
      train: s ? 2048 : 60000,
      steps: s ? 10 : 200,
      flags: s
        ? [
          "--train-limit",
          "2048",
          "--test-limit",
          "256",
          "--epochs",
          "1",
          "--batch",
          "64",
          "--encoder",
          "mlp:64,64",
          "--proj",
          "128,128",
        ]
        : [],
    },
    {
      id: "bt_reference",
      title: s
        ? "BT step, small reference (batch 32, 128-128, 256-256)"
        : "BT step, reference (batch 256, 1024-1024, 2048-2048)",
      kind: "bt_mlp",
      batch: s ? 32 : 256,
      image: [1, 28, 28],
      encoder: s ? [128, 128] : [1024, 1024],
      proj: s ? [256, 256] : [2048, 2048],
      iters: s ? 3 : 20,
    },
    {
      id: "resnet18_f32",
      title: s
        ? "ResNet-18 BT step, small (width 4, batch 4)"
        : "ResNet-18 (CIFAR stem) BT step, batch 256, 3×32×32, f32",
      kind: "bt_resnet",
      batch: s ? 4 : 256,
      image: [3, 32, 32],
      width: s ? 4 : 64,
      proj: s ? [64, 64] : [2048, 2048],
      precision: "f32",
      iters: s ? 2 : 5,
    },
    {
      id: "resnet18_f16",
      title: s ? "ResNet-18 BT step, small, f16" : "ResNet-18 (CIFAR stem) BT step, batch 256, f16-mixed",
      kind: "bt_resnet",
      batch: s ? 4 : 256,
      image: [3, 32, 32],
      width: s ? 4 : 64,
      proj: s ? [64, 64] : [2048, 2048],
      precision: "f16",
      iters: s ? 2 : 5,
    },
  ];
}

/** One workload's project result: seconds per run (per step, per product) and what ran. */
export interface ProjectResult {
  seconds?: number;
  tflops?: number;
  images_per_sec?: number;
  variant?: string;
  /** ms per run of each variant tried */
  tried?: Record<string, number>;
  source?: "gpu" | "wall";
  note?: string;
  skipped?: string;
  error?: string;
}

/**
 * Matmul n³: every candidate that passed the checks is tuned at this size, then the winner is
 * timed again with enough repetitions to last ~0.3 s per round (GPU timestamps when available).
 */
export async function projectMatmul(gpu: Gpu, w: Workload, candidates: string[]): Promise<ProjectResult> {
  const n = w.n!;
  const p = matmulProblem([[n, n], [n, n]], {});
  if (!candidates.length) return { skipped: `no ${w.dtype} matmul variant passed its checks on this adapter` };
  const features = { subgroups: gpu.features.subgroups, f16: gpu.features.f16 };
  // f16-storage candidates among them: timed as standalone matmuls, not through the op's lowering
  const first = w.dtype === "f32" ? defaultVariant(features, adapterKey(gpu.adapter.info), p) : undefined;
  const order = first && candidates.includes(first) ? [first, ...candidates.filter((n) => n !== first)] : candidates;
  const data = { a: noise(n * n, 1), b: noise(n * n, 2) };
  const r = await timeCandidates(`matmul ${describe(p)}`, order, (name) => matmulTrial(gpu.device, p, name, data), 300);
  const m = await prepareMatmul(gpu.device, p, r.variant, { a: rnd(n * n, 1), b: rnd(n * n, 2) });
  try {
    const est = r.ms[r.variant] / 1000;
    const reps = Math.max(1, Math.min(200, Math.round(0.3 / est)));
    const t = await timeMatmul(gpu.device, m, { reps, rounds: 5, expectS: est });
    return {
      seconds: t.seconds,
      tflops: (2 * n ** 3) / t.seconds / 1e12,
      variant: r.variant,
      tried: r.ms,
      source: t.source,
    };
  } finally {
    m.destroy();
  }
}

/** data in [-0.5, 0.5) (never zeros: they can run faster than real data) */
const rnd = (n: number, seed: number): Float32Array => noise(n, seed).map((v) => v / 2);

/**
 * The spec of a BT step workload: the preset with the default encoder at the workload's widths
 * (Linear without bias + BN + ReLU per layer: at 512-512 and batch 256, exactly the spec of
 * pipelines/barlow.ts's default run), or ResNet-18 with the CIFAR stem.
 */
export function stepSpec(w: Workload): PipelineSpec {
  const encoder = w.kind === "bt_resnet" ? resnet18({ width: w.width, stem: "cifar" }) : defaultEncoder(w.encoder);
  return presets.barlowTwins({ batch: w.batch, imageSize: w.image![1], proj: w.proj, encoder });
}

/**
 * One training step of `spec` as the trainer builds it (step/build.ts), with kernel variants
 * picked — and with `tune`, timed — by the autotuner at the step's real shapes. Seconds per
 * step: `iters` steps submitted back to back, one loss readback at the end.
 */
export async function projectStep(
  gpu: Gpu,
  spec: PipelineSpec,
  w: Workload,
  o: { tune: boolean; cachePath?: string },
): Promise<ProjectResult> {
  const [c, h, wd] = w.image!;
  // f16 rows: the compiler's f16-mixed step (matmul/conv operands rounded to f16 outside the loss,
  // f32 storage and sums, dynamic loss scaling); the tuner may then take f16-input kernels
  // (tensor cores where the adapter has them) for the nodes whose operands are f16-exact
  const precision = w.precision === "f16" ? "f16-mixed" : "f32";
  const t = trainingGraph({ ...spec, precision }, { c, h, w: wd }, { precision });
  const features = { subgroups: gpu.features.subgroups, f16: gpu.features.f16 };
  const variant = await pickVariants(gpu.device, t.graph, {
    adapter: adapterKey(gpu.adapter.info),
    features,
    tune: o.tune,
    cachePath: o.cachePath,
    budgetMs: 60,
  });
  // the device's binding limit, as the trainer's step (runtime/compile_for.ts): it decides what fuses
  const step = compileStep(t, {
    features,
    variant,
    maxStorageBuffers: gpu.device.limits.maxStorageBuffersPerShaderStage,
  });
  const ex = await Executable.create(gpu, step.program);
  try {
    ex.initPersistent(0);
    ex.write("images", rnd(w.batch! * c * h * wd, 3).map((v) => v + 0.5));
    const geometry = { stepsPerEpoch: 200, totalSteps: 1000 };
    let k = 0;
    const steps = async (n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        ex.setScalars(step.plan.values(k++, geometry));
        ex.run();
      }
      const loss = await ex.read("loss");
      if (!Number.isFinite(loss[0])) throw new Error(`loss is ${loss[0]} at step ${k}`);
      return (performance.now() - t0) / 1000 / n;
    };
    await steps(2); // compiles pipelines lazily on some adapters
    const iters = w.iters ?? 10;
    const times = [await steps(iters), await steps(iters), await steps(iters)].sort((a, b) => a - b);
    const used = new Set<string>();
    for (const s of step.program.steps) {
      const m = s.kind === "dispatch"
        ? /^(matmul|conv2d\w*) (gemm\S+|sgmat\S+|subgroup|blocked|tiled|naive)/.exec(s.label)
        : null;
      if (m) used.add(m[2]);
    }
    return {
      seconds: times[1],
      variant: [...used].sort().join(", "),
      source: "wall",
      note: `${
        step.program.steps.filter((s) => s.kind === "dispatch").length
      } dispatches; median of 3 rounds of ${iters} steps`,
    };
  } finally {
    ex.destroy();
  }
}

/** IDX files of random pixels and labels with Fashion-MNIST's shapes (60 000 + 10 000 of 28×28), in `dir`. */
export function standInFashionMnist(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true });
  const idx = (dims: number[]) => {
    const head = new Uint8Array(4 + 4 * dims.length);
    head[2] = 8;
    head[3] = dims.length;
    const dv = new DataView(head.buffer);
    dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
    const body = new Uint8Array(dims.reduce((a, b) => a * b, 1));
    let s = dims[0] >>> 0;
    for (let i = 0; i < body.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      body[i] = dims.length === 1 ? (s >>> 24) % 10 : s >>> 24;
    }
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  };
  for (const [split, n] of [["train", 60000], ["t10k", 10000]] as const) {
    Deno.writeFileSync(`${dir}/${split}-images-idx3-ubyte`, idx([n, 28, 28]));
    Deno.writeFileSync(`${dir}/${split}-labels-idx1-ubyte`, idx([n]));
  }
}

/**
 * The default run of pipelines/barlow.ts (plus the workload's flags) in a child process, with the
 * autotuner on when `tune` (SSL_TUNE=1; the picks of the step workloads are in the same cache);
 * its report's training images/s.
 */
export async function projectPipeline(
  w: Workload,
  o: { data?: string; timeoutS: number; log: (s: string) => void; tune: boolean },
): Promise<ProjectResult> {
  const out = Deno.makeTempDirSync({ prefix: "ssl-gpu-bench-" });
  const args = ["run", "-A", "--no-check", "pipelines/barlow.ts", "--out", out, "--overwrite", ...(w.flags ?? [])];
  if (o.data) args.push("--data", o.data);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { SSL_TUNE: o.tune ? "1" : "0" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(o.timeoutS * 1000),
  }).spawn();
  try {
    const r = await child.output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    const wall = (performance.now() - t0) / 1000;
    if (!r.success) {
      return {
        error: `exit ${r.code}${r.signal ? ` (${r.signal})` : ""} after ${wall.toFixed(0)} s: ${text.slice(-600)}`,
      };
    }
    const report = JSON.parse(Deno.readTextFileSync(`${out}/report.json`));
    o.log(text.split("\n").filter((l) => /images\/s|kNN|linear|adapter/.test(l)).slice(-6).join("\n"));
    return {
      images_per_sec: report.images_per_sec,
      seconds: 1 / report.images_per_sec,
      note: `${report.steps} steps; whole run ${wall.toFixed(0)} s (tuning, training, evaluation); kNN ${
        (report.knn_top1 * 100).toFixed(2)
      }%, linear ${(report.linear_top1 * 100).toFixed(2)}%${o.data ? `; data ${o.data}` : ""}`,
    };
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
}

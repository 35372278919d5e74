// Time of one whole Barlow Twins training step (the reference shape): batch 256, two
// views, encoder 784→1024→1024 (Linear+BN+ReLU), projector 1024→2048→2048, BT loss, LARS.
// Augmentations are included (they are part of the compiled step). The step is built by the
// same entry point as the trainer's (step/build.ts), with the images written once.
import { describe } from "../compiler/compile.ts";
import { mlp } from "../dsl/builders.ts";
import { presets } from "../dsl/presets.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { DEFAULT_VARIANT } from "../kernels/op.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import type { Graph } from "../ir/graph.ts";
import { programFlop } from "./profile_families.ts";
import { CONV_OPS } from "./profile_convs.ts";

export interface StepBench {
  run(): Promise<void>;
  description: string;
  gflop: number;
  /** the compiled step, for per-dispatch profiling */
  executable: Executable;
  /** the training graph it was compiled from (for grouping a profile by kernel family) */
  graph: Graph;
  dispatches: number;
  destroy(): void;
}

/**
 * A training step of `spec` on `image`-shaped synthetic pixels, built as the trainer builds it
 * (the adapter's cached autotuner picks or its defaults), with the images written once; `run`
 * advances the scalar plan and waits for the loss. Pass `gflop` as NaN to have the FLOPs of the
 * step's convolutions and matmuls counted off the graph. `probe`: with the online linear probe;
 * `stackViews: false`: one forward per view (bench/stacked_views.ts).
 */
export async function benchStep(
  gpu: Gpu,
  spec: PipelineSpec,
  image: { c: number; h: number; w: number },
  gflop: number,
  opts: { probe?: { classes: number }; convVariant?: string; stackViews?: boolean } = {},
): Promise<StepBench> {
  const t = trainingGraph(spec, image, opts);
  const device = await deviceCompileOptions(gpu, t.graph);
  // convVariant: every convolution forced to that kernel variant (bench/conv_tiles.ts --steps;
  // "default": the ops' own lowering, the implicit GEMMs)
  const forced = opts.convVariant;
  const variant: typeof device.variant = forced
    ? (op, shapes, attrs) =>
      CONV_OPS.has(op) ? (forced === DEFAULT_VARIANT ? undefined : forced) : device.variant(op, shapes, attrs)
    : device.variant;
  const step = compileStep(t, { ...device, variant });
  const ex = await Executable.create(gpu, step.program);
  ex.initPersistent(0);
  const img = new Float32Array(spec.batch * image.c * image.h * image.w);
  for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761 % 1000) / 1000;
  ex.write("images", img);
  // the online probe's labels (step/online_probe.ts), written once like the images
  if (opts.probe) ex.write("labels", Float32Array.from({ length: spec.batch }, (_, i) => i % opts.probe!.classes));
  const geometry = { stepsPerEpoch: 200, totalSteps: 1000 };
  let k = 0;
  return {
    description: describe(step.program),
    gflop: Number.isNaN(gflop) ? programFlop(t.graph, step.program) / 1e9 : gflop,
    executable: ex,
    graph: t.graph,
    dispatches: step.program.stats.dispatches,
    async run() {
      ex.setScalars(step.plan.values(k++, geometry));
      ex.run();
      await ex.read("loss");
    },
    destroy: () => ex.destroy(),
  };
}

/** Seconds of one step: the loss read back, so the step has finished. */
async function stepSeconds(st: StepBench): Promise<number> {
  const t0 = performance.now();
  await st.run();
  return (performance.now() - t0) / 1000;
}

/**
 * Two steps timed one after the other, `rounds` times, after one untimed run of each (shader
 * compiles, first uploads): their seconds per round, so both share whatever else the machine is
 * doing.
 */
export async function alternateSteps(a: StepBench, b: StepBench, rounds: number): Promise<[number[], number[]]> {
  await stepSeconds(a), await stepSeconds(b);
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < rounds; r++) ta.push(await stepSeconds(a)), tb.push(await stepSeconds(b));
  return [ta, tb];
}

/** The bench's MLP Barlow Twins step (the reference shape): its spec and image shape. */
export function btSpec(o: { batch?: number; encoder?: number[]; proj?: number[] } = {}) {
  const batch = o.batch ?? 256, encoder = o.encoder ?? [1024, 1024], proj = o.proj ?? [2048, 2048];
  const spec = presets.barlowTwins({
    batch,
    proj,
    encoder: mlp(encoder, { bias: true, lastBn: true, lastRelu: true }),
  });
  return { spec, image: { c: 1, h: 28, w: 28 } };
}

export function btStep(gpu: Gpu, o: { batch?: number; encoder?: number[]; proj?: number[] } = {}): Promise<StepBench> {
  const batch = o.batch ?? 256, encoder = o.encoder ?? [1024, 1024], proj = o.proj ?? [2048, 2048];
  const { spec, image } = btSpec(o);
  // matmul FLOPs of forward + backward for the two views (2·M·N·K each, backward twice)
  const dims = [784, ...encoder, ...proj];
  let layer = 0;
  for (let i = 0; i + 1 < dims.length; i++) layer += dims[i] * dims[i + 1];
  const d = proj[proj.length - 1];
  const gflop = (2 * 3 * 2 * batch * layer + 3 * 2 * batch * d * d) / 1e9;
  return benchStep(gpu, spec, image, gflop);
}

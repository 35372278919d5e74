// Method-level checks: every reference recipe (dsl/presets.ts) at tiny sizes is lowered
// (compiler/from_spec.ts), given its training step (train/step.ts), compiled, and run on the
// GPU; the float64 CPU reference runs the same graph from the same initial values, images and
// per-step scalars. Then the method-specific state: MoCo's FIFO queue and EMA key encoder,
// BYOL's EMA with the cosine τ, that EMA targets and stopGrad'd branches get no gradient, and
// that every dispatch of every pipeline comes from the shared op table (DESIGN decision 3).
import { evaluate, step as cpuStep } from "../cpu/reference.ts";
import { grad } from "../compiler/autodiff.ts";
import { compile, type Program } from "../compiler/compile.ts";
import { planFusion } from "../compiler/fuse.ts";
import { type LoweredSpec, lowerSpec } from "../compiler/from_spec.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { parseFlags } from "../dsl/cli.ts";
import { defaultEncoder, presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { size } from "../kernels/op.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { addTrainingStep } from "../train/step.ts";
import { lrScalarOf, optimizerConfig, stepScalars } from "../train/trainer.ts";

// Odd, non-power-of-two sizes throughout: batch 10, 1×8×8 images, encoder 64 → 19,
// projector 19 → 17 → 11, predictors 11 → 13 (BYOL) / 7 (SimSiam bottleneck) → 11.
const B = 10, IMG = 8, STEPS = 4;
const SHAPE = { c: 1, h: IMG, w: IMG };
const common = { data: "synthetic", imageSize: IMG, encoder: defaultEncoder([19]), proj: [17, 11], batch: B, epochs: 1, steps: STEPS, warmupEpochs: 0, seed: 5 };
const TINY: Record<string, () => PipelineSpec> = {
  barlowTwins: () => presets.barlowTwins(common),
  barlowMean: () => presets.barlowMean(common),
  simclr: () => presets.simclr(common),
  mocoV2: () => presets.mocoV2({ ...common, queue: 3 * B }),
  byol: () => presets.byol({ ...common, pred: [13, 11], tau: 0.9 }),
  simsiam: () => presets.simsiam({ ...common, pred: [7, 11] }),
  vicreg: () => presets.vicreg(common),
};
const data = makeSynthetic({ train: STEPS * B, test: 0, size: IMG, classes: 4, seed: 2 });
const batchAt = (s: number) => data.train.images.slice(s * B * IMG * IMG, (s + 1) * B * IMG * IMG);

interface Built {
  spec: PipelineSpec;
  lowered: LoweredSpec;
  g: Graph;
  program: Program;
  views: string[];
}

/** spec → lowered graph (+ views exposed as outputs) → training step → compiled program */
function build(spec: PipelineSpec): Built {
  const lowered = lowerSpec(spec, SHAPE);
  const g = lowered.graph;
  const views = g.nodes.filter((n) => n.op === "augment").map((n, i) => {
    g.output(`view${i}`, g.t(n.id));
    return `view${i}`;
  });
  const lrOf = lrScalarOf(spec);
  addTrainingStep(g, lowered.loss, {
    optimizer: optimizerConfig(spec),
    lrScalar: (name, group) => lrOf(name, group, g.find(name)!.rank),
    ema: lowered.ema,
  });
  return { spec, lowered, g, views, program: compile(g, { features: { subgroups: true, f16: false } }) };
}

const l2 = (x: ArrayLike<number>) => diffNorm(x, new Float64Array(x.length));
function diffNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** GPU + CPU reference side by side, from the same initial values */
async function pair(b: Built) {
  const gpu = await getGpu();
  const program = compile(b.g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  const init = ex.initPersistent(b.spec.seed);
  const leaves = new Map<string, Float64Array>([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const persistent = [...program.persistent.keys()];
  const readAll = async () => {
    const vals = await ex.readMany(persistent.map((n) => [program.persistent.get(n)!, size(program.storages[program.persistent.get(n)!].shape!)]));
    return new Map(persistent.map((n, i) => [n, vals[i]]));
  };
  /** one step on both; returns the GPU outputs and the CPU reference outputs */
  const stepBoth = async (s: number) => {
    const images = batchAt(s);
    const scalars = stepScalars(b.spec, b.lowered, s, STEPS, STEPS);
    ex.write("images", images);
    ex.setScalars(scalars);
    ex.run();
    const gpuOut = new Map<string, Float32Array>();
    for (const name of b.g.outputs.keys()) gpuOut.set(name, await ex.read(name));
    leaves.set("images", Float64Array.from(images));
    const cpuOut = cpuStep(b.g, { leaves, scalars });
    return { gpuOut, cpuOut, scalars };
  };
  return { ex, init, leaves, readAll, stepBoth, program };
}

// ---------------------------------------------------------------------------------- tests

for (const [method, make] of Object.entries(TINY)) {
  Deno.test(`${method}: one step on the GPU equals the float64 reference (views, loss, every update)`, async () => {
    const b = build(make());
    const p = await pair(b);
    try {
      const { gpuOut, cpuOut } = await p.stepBoth(0);
      // augmentation is a pure function of (images, seed, step, view): identical on both sides
      if (b.views.length !== 2) throw new Error(`expected two augment views, got ${b.views.length}`);
      for (const v of b.views) {
        const d = diffNorm(gpuOut.get(v)!, cpuOut.get(v)!);
        if (d > 1e-5 * Math.sqrt(gpuOut.get(v)!.length)) throw new Error(`${v}: GPU vs reference differ by ${d}`);
      }
      if (!(diffNorm(cpuOut.get("view0")!, cpuOut.get("view1")!) > 0.1)) throw new Error("the two views should differ");
      const lg = gpuOut.get("loss")![0], lc = cpuOut.get("loss")![0];
      if (!Number.isFinite(lc) || Math.abs(lg - lc) > 2e-4 * Math.max(1, Math.abs(lc))) throw new Error(`loss: GPU ${lg} vs float64 ${lc}`);

      // every persistent tensor (params, momentum, BN running stats, EMA copies, queues): the
      // change made by the step agrees with the reference's to 1e-3 of its size
      const after = await p.readAll();
      const params = new Set(b.g.params().map((n) => n.attrs.name as string));
      const report: string[] = [];
      for (const [name, got] of after) {
        const want = p.leaves.get(name)!, before = p.init.get(name)!;
        const moved = diffNorm(want, before);
        if (params.has(name) && !(moved > 0)) throw new Error(`parameter '${name}' did not move in the reference step`);
        const err = diffNorm(got, want);
        if (err > 1e-3 * moved + 1e-6 * l2(want)) {
          throw new Error(`'${name}': GPU update differs from the reference by ${err.toExponential(2)} (update size ${moved.toExponential(2)})`);
        }
        report.push(name);
      }
      if (report.length < params.size) throw new Error("some parameters were not compared");
    } finally {
      p.ex.destroy();
    }
  });
}

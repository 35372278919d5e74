// The one way a training step is made: spec → forward graph (step/forward_graph.ts) → training
// graph (gradients, optimizer, EMA and queue updates; step/training.ts) → compiled program, with
// the scalar plan that feeds it. The trainer, the bench, the examples and the tests all build
// their step here.
import { compile, type CompileOptions, type Program } from "../compiler/compile.ts";
import { SpecError } from "../dsl/error.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import type { Graph } from "../ir/graph.ts";
import { type ForwardGraph, forwardGraph, type ImageShape, type StepData } from "./forward_graph.ts";
import { DEFAULT_LOSS_SCALING } from "./loss_scale.ts";
import { optimizerConfig, type RunGeometry, TrainingScalars } from "./scalars.ts";
import type { ScalarPlan } from "./scalar_plan.ts";
import { addOnlineProbe, type OnlineProbe } from "./online_probe.ts";
import { addTrainingStep } from "./training.ts";
import { graphIssues } from "./validate.ts";

export interface TrainingGraph {
  spec: PipelineSpec;
  /** the forward graph (loss, EMA pairs, queues, the encoder) the training step was built on */
  forward: ForwardGraph;
  graph: Graph;
  /** names of the trained parameters (the SSL step's; the online probe's are its own) */
  params: string[];
  /** the online linear probe, when asked for (step/online_probe.ts) */
  probe?: OnlineProbe;
}

export interface CompiledStep extends TrainingGraph {
  program: Program;
  plan: ScalarPlan<RunGeometry>;
}

export interface StepOptions {
  /** the data set on the device and the gather into the step; default: an 'images' input written per step */
  data?: StepData;
  /** "f16-mixed": f16 matmul/conv operands with f32 accumulation, f32 master weights, dynamic loss scaling */
  precision?: "f32" | "f16-mixed";
  /** an online linear probe over this many classes (step/online_probe.ts), trained from the batch's labels */
  probe?: { classes: number };
  /** false: one forward per view, as before views were stacked (for comparisons; default true) */
  stackViews?: boolean;
}

export interface CompileStepOptions {
  features: { subgroups: boolean; f16: boolean };
  /** kernel variant per op and shape (the autotuner's picks); op defaults otherwise */
  variant?: CompileOptions["variant"];
  /** the device's storage buffers per kernel (fusion keeps every kernel within it) */
  maxStorageBuffers?: number;
}

/** The whole training step as a graph, before compilation (the autotuner looks at its shapes). */
export function trainingGraph(spec: PipelineSpec, image: ImageShape, opts: StepOptions = {}): TrainingGraph {
  // a spec typed by the builders passed the spec layer's checks, not the graph stage's
  const issues = graphIssues(spec);
  if (issues.length) throw new SpecError(issues);
  const scalars = new TrainingScalars(spec);
  const mixed = (opts.precision ?? "f32") === "f16-mixed";
  const forward = forwardGraph(spec, image, {
    scalars,
    data: opts.data,
    mixedPrecision: mixed,
    stackViews: opts.stackViews,
  });
  const optimizer = optimizerConfig(spec);
  if (optimizer.kind === "adamw") optimizer.adamCorrections = scalars.adamCorrections();
  const { params } = addTrainingStep(forward.graph, forward.loss, {
    optimizer,
    lrScalar: (name, rank) => scalars.lr(name, rank),
    ema: forward.ema,
    lossScaling: mixed ? DEFAULT_LOSS_SCALING : undefined,
  });
  scalars.mainLr(); // logged every step even when no parameter reads it
  // after the SSL step is complete, so that step's nodes and updates are exactly as without it
  const probe = opts.probe
    ? addOnlineProbe(forward.graph, forward.features, forward.labels(), opts.probe.classes, scalars)
    : undefined;
  return { spec, forward, graph: forward.graph, params, ...(probe ? { probe } : {}) };
}

/** Compiles a training graph; every scalar the program reads must come from the plan. */
export function compileStep(t: TrainingGraph, opts: CompileStepOptions): CompiledStep {
  const program = compile(t.graph, {
    features: opts.features,
    variant: opts.variant,
    maxStorageBuffers: opts.maxStorageBuffers,
  });
  const plan = t.forward.scalars.plan;
  plan.check(program, `the step of '${t.spec.name}'`);
  return { ...t, program, plan };
}

/** spec → compiled step in one call (bench, examples, tests). */
export function buildStep(spec: PipelineSpec, image: ImageShape, opts: StepOptions & CompileStepOptions): CompiledStep {
  return compileStep(trainingGraph(spec, image, opts), opts);
}

// spec → forward graph: the first stage of the step. Turns a validated PipelineSpec into a graph
// of primitives: augmentations per view, modules per branch (shared weights by module name,
// EMA shadows for `ema` branches), queues, the loss expression, and diagnostics outputs.
// The training step (gradients, optimizer, EMA updates) is added by step/training.ts.
import { viewAugmentAttrs } from "../dsl/aug_recipes.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { concat, type Tensor } from "../ir/tensor.ts";
import { fmtShape } from "../kernels/op.ts";
import { lossGraph, lossPair } from "./loss_expr.ts";
import { normalize } from "../losses/normalize.ts";
import { applyModule } from "./apply_module.ts";
import { StepRules } from "./graph_rules.ts";
import { TrainingScalars } from "./scalars.ts";

export interface ImageShape {
  c: number;
  h: number;
  w: number;
}

/**
 * Where the step's images come from: by default an input 'images' [batch, C, H, W] the host
 * writes; with `data`, an input 'dataset' [rows, C, H, W] that stays on the device (u8 bytes or
 * f32) and a gather inside the step that takes the batch from it, in the epoch's shuffled order
 * or (for data the host streams in pre-shuffled chunks) in stored order.
 */
export interface StepData {
  rows: number;
  dtype: "u8" | "f32";
  order: "shuffle" | "stored";
  /** stored order: the device holds the rows of this many steps at a time */
  chunkSteps?: number;
}

export interface ForwardGraphOptions {
  /** the step's scalars this graph declares its per-step scalars in (a fresh one by default) */
  scalars?: TrainingScalars;
  data?: StepData;
  /** f16-mixed: matmul and conv operands rounded to f16 outside the loss (see graph_rules.ts) */
  mixedPrecision?: boolean;
  /** false: one forward per view even where views share a path (default: stacked) */
  stackViews?: boolean;
}

export interface ForwardGraph {
  graph: Graph;
  loss: Tensor;
  /** the per-step scalars this graph reads and how each follows the step index */
  scalars: TrainingScalars;
  /** EMA pairs: shadow state name → online param name, with the scalar carrying its τ */
  ema: { target: string; online: string; tau: string }[];
  /** queues: state name, rows, and the u32 scalar holding the FIFO write position */
  queues: { name: string; size: number; pointer: string }[];
  /** the module whose output is the representation evaluated by kNN / linear probe */
  encoder: string;
  /** branches of the main two-branch loss term, exposed as outputs 'pair.a' / 'pair.b' */
  pair?: { a: string; b: string };
  /** the encoder's output under its online (trained) weights, for every view that has one, in view order */
  features: Tensor[];
  /**
   * The batch's class labels [batch, 1] (f32 values 0..classes-1), row for row with its images:
   * an input 'labels' written with them, or a gather from a device-resident 'labels' input
   * [rows, 1] with the images' own rows. Added to the graph on the first call only, so a step
   * that does not ask for labels is unchanged.
   */
  labels(): Tensor;
}

/** Prefix of EMA shadow tensors of branch `of`. */
const emaPrefix = (of: string) => `ema_${of}/`;

/** Builds the forward graph of a training step for `batch` images of shape `img`. */
export function forwardGraph(spec: PipelineSpec, img: ImageShape, opts: ForwardGraphOptions = {}): ForwardGraph {
  const g = new Graph();
  // the loss, its statistics (BT's C, VICReg's covariance) and their gradients stay f32
  const rules = new StepRules(opts.mixedPrecision ? { keepF32: (scope) => !!scope && scope.startsWith("loss") } : {});
  g.rules = rules;
  const scalars = opts.scalars ?? new TrainingScalars(spec);
  const images = opts.data
    ? gatherRows(g, "dataset", [img.c, img.h, img.w], opts.data.dtype, spec.batch, opts.data, scalars)
    : g.input("images", [spec.batch, img.c, img.h, img.w]);

  const views = new Map<string, Tensor>();
  spec.views.forEach((v, i) => {
    g.scope = `views[${i}]`;
    views.set(v.name, images.op("augment", [], viewAugmentAttrs(v.aug, i)));
  });

  // one forward per (view, parameter set, path prefix); the views that take the same path
  // prefix with the same weights and have the same shape run it once, stacked along the batch
  // (half the dispatches for two views, each twice as wide; BatchNorm keeps per-view statistics)
  const byName = new Map(spec.branches.map((b) => [b.name, b]));
  const shadowOf = (branch: string): string | undefined => {
    const b = byName.get(branch)!;
    return b.ema ? emaPrefix(b.ema.of) : undefined;
  };
  const prefixKey = (shadow: string | undefined, path: string[], k: number) =>
    `${shadow ?? ""}|${path.slice(0, k + 1).join(">")}`;
  const users = new Map<string, Set<string>>();
  for (const b of spec.branches) {
    b.path.forEach((_, k) => {
      const key = prefixKey(shadowOf(b.name), b.path, k);
      users.set(key, (users.get(key) ?? new Set()).add(b.view));
    });
  }
  const shapeOf = (view: string) => views.get(view)!.shape.join();
  const stackOf = (key: string, view: string): string[] =>
    opts.stackViews === false
      ? [view]
      : spec.views.map((v) => v.name).filter((u) => users.get(key)!.has(u) && shapeOf(u) === shapeOf(view));
  const memo = new Map<string, Tensor>(); // `${view}|${prefix key}` → that view's output
  const stackedImages = new Map<string, Tensor>(); // views → their images stacked, for every parameter set
  /** the input of prefix k for the views `stack`, whose own inputs are `parts` */
  const stackedInput = (stack: string[], parts: Tensor[], k: number): Tensor => {
    if (parts.length === 1) return parts[0];
    // the previous prefix's slices of one stack rejoin into its output (ir/tensor.ts concat)
    if (k > 0) return concat(parts, 0);
    const stackKey = stack.join();
    let x = stackedImages.get(stackKey);
    if (!x) stackedImages.set(stackKey, x = concat(parts, 0));
    return x;
  };
  const forward = (view: string, path: string[], k: number, shadow: string | undefined, scope: string): Tensor => {
    if (k < 0) return views.get(view)!;
    const key = prefixKey(shadow, path, k);
    const hit = memo.get(`${view}|${key}`);
    if (hit) return hit;
    const stack = stackOf(key, view);
    const parts = stack.map((u) => forward(u, path, k - 1, shadow, scope));
    g.scope = `${scope}.path[${k}] (${path[k]})`;
    const x = stackedInput(stack, parts, k);
    rules.shadowPrefix = shadow;
    let h: Tensor;
    try {
      h = applyModule(x, path[k], spec.modules, true, stack.length);
    } finally {
      rules.shadowPrefix = undefined;
    }
    const rows = h.shape[0] / stack.length;
    stack.forEach((u, i) => memo.set(`${u}|${key}`, stack.length === 1 ? h : h.slice(0, i * rows, (i + 1) * rows)));
    return memo.get(`${view}|${key}`)!;
  };

  const outputs = new Map<string, Tensor>();
  spec.branches.forEach((b, i) => {
    let z = forward(b.view, b.path, b.path.length - 1, shadowOf(b.name), `branches[${i}]`);
    if (b.stopGrad || b.ema) z = z.stopGrad();
    outputs.set(b.name, z);
  });

  // queues hold detached rows of a branch from earlier steps
  const queues: ForwardGraph["queues"] = [];
  const queueTensors = new Map<string, Tensor>();
  (spec.queues ?? []).forEach((q, i) => {
    g.scope = `queues[${i}]`;
    const rows = outputs.get(q.of)!;
    const d = rows.shape[1];
    const state = g.state(`queue_${q.name}`, [q.size, d], { kind: "unitRows", width: d });
    const pointer = scalars.queuePointer(q.name, q.size);
    g.assign(state, state.op("writeRows", [normalize(rows.stopGrad())], { start: pointer }));
    queues.push({ name: `queue_${q.name}`, size: q.size, pointer });
    queueTensors.set(q.name, state);
  });

  g.scope = "loss";
  const ref = (name: string): Tensor => {
    const t = outputs.get(name) ?? queueTensors.get(name);
    if (!t) throw new Error(`loss: '${name}' is neither a branch nor a queue`);
    return t;
  };
  const loss = lossGraph(spec.loss, ref, g, "loss");
  if (loss.shape.length !== 0) {
    throw new Error(
      `loss: the expression must reduce to a scalar, got shape ${fmtShape(loss.shape)} (wrap it in {op: 'mean'})`,
    );
  }
  // the two embeddings of the main loss term are read back every few steps for diagnostics
  // (a loss written from primitives has no such term: fall back to the first two branches)
  const pair = lossPair(spec.loss) ??
    (spec.branches.length >= 2 ? { a: spec.branches[0].name, b: spec.branches[1].name } : undefined);
  if (pair) {
    const [za, zb] = [ref(pair.a), ref(pair.b)];
    if (za.rank === 2 && zb.rank === 2 && za.shape.join() === zb.shape.join()) {
      g.output("pair.a", za);
      g.output("pair.b", zb);
    }
  }
  g.scope = undefined;

  // every shadow tensor follows its online parameter with the τ of the branch that owns it
  const tauOf = new Map<string, string>();
  for (const b of spec.branches) if (b.ema) tauOf.set(emaPrefix(b.ema.of), scalars.tau(b.ema.of, b.ema.tau));
  const ema: ForwardGraph["ema"] = [];
  for (const [shadow, online] of rules.shadows) {
    const prefix = [...tauOf.keys()].find((p) => shadow.startsWith(p))!;
    ema.push({ target: shadow, online, tau: tauOf.get(prefix)! });
  }
  const first = spec.branches.find((b) => !b.ema) ?? spec.branches[0];
  const encoder = first.path[0];
  let labels: Tensor | undefined;
  return {
    graph: g,
    loss,
    scalars,
    ema,
    queues,
    encoder,
    pair: g.outputs.has("pair.a") ? pair : undefined,
    features: spec.views.map((v) => memo.get(`${v.name}||${encoder}`)).filter((t) => t !== undefined),
    labels: () =>
      labels ??= opts.data
        ? gatherRows(g, "labels", [1], "f32", spec.batch, opts.data, scalars)
        : g.input("labels", [spec.batch, 1]),
  };
}

/**
 * The step's batch of rows gathered on the device from the data set input `name` [rows, ...row]
 * (see StepData): the images, and the labels with the same scalars, hence the same rows.
 */
function gatherRows(
  g: Graph,
  name: string,
  row: number[],
  dtype: "u8" | "f32",
  batch: number,
  data: StepData,
  scalars: TrainingScalars,
): Tensor {
  const prev = g.scope;
  g.scope = "data";
  const set = g.input(name, [data.rows, ...row], dtype);
  const rows = set.op("gatherBatch", [], {
    batch,
    order: data.order,
    dtype,
    first: scalars.dataFirst(data.order === "stored" ? data.chunkSteps : undefined),
    ...(data.order === "shuffle" ? { seed: scalars.seed, epoch: scalars.dataEpoch } : {}),
  });
  g.scope = prev;
  return rows;
}

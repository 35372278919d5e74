// Typed builders for pipeline specs. Each returns a plain JSON-serializable object that the
// schema accepts, with the schema's defaults filled in (so a built spec, its JSON file and the
// spec loaded back are equal field for field). Bad arguments throw a SpecError naming the
// builder and the field: `mlp.widths[1]: expected a positive integer, got -3`.
//
//   const spec = pipeline({
//     name: "bt", data: "fashion-mnist", batch: 256, epochs: 20,
//     views: views(aug({ crop: crop(28), flip: 0.5 })),            // v1 and v2, same recipe
//     modules: { encoder: mlp([1024, 1024], { lastBn: true, lastRelu: true }), projector: mlp([2048, 2048]) },
//     branches: [branch("z1", "v1", ["encoder", "projector"]), branch("z2", "v2", ["encoder", "projector"])],
//     loss: barlowTwins("z1", "z2", "mean"),
//     optimizer: lars({ lr: 0.2 }),
//   });
import * as v from "valibot";
import { joinPath, SpecError } from "./error.ts";
import * as S from "./schema.ts";
import type {
  Aug,
  Blur,
  Branch,
  ColorJitter,
  Crop,
  Ema,
  Eval,
  Expr,
  LossNode,
  Module,
  Optimizer,
  PipelineSpec,
  Queue,
  Schedule,
  View,
} from "./schema.ts";
import { validateSpecStructure } from "./validate.ts";

/** Deep copy without undefined-valued fields: what JSON would keep, so round trips compare equal. */
export function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefined) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) if (x !== undefined) out[k] = stripUndefined(x);
    return out as T;
  }
  return value;
}

/** Parses a builder's result with its schema; errors name the builder as the path root. */
function build<T extends v.GenericSchema>(schema: T, value: unknown, label: string): v.InferOutput<T> {
  const r = v.safeParse(schema, stripUndefined(value));
  if (r.success) return r.output;
  throw new SpecError(r.issues.map((i) => ({
    path: (i.path ?? []).reduce((p, item) => joinPath(p, (item as { key: string | number }).key), label),
    message: i.message,
  })));
}

// ------------------------------------------------------------------------- augmentation

/** RandomResizedCrop to size×size, area fraction in `scale`, aspect ratio in `ratio`. */
export function crop(
  size: number,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): Crop {
  return build(S.CropSchema, { size, scale, ratio }, "crop");
}

export function colorJitter(
  brightness: number,
  contrast: number,
  saturation: number,
  hue: number,
  p = 0.8,
): ColorJitter {
  return build(S.ColorJitterSchema, { brightness, contrast, saturation, hue, p }, "colorJitter");
}

/** Gaussian blur with probability p, σ drawn from `sigma`, an odd kernel side. */
export function blur(p: number, sigma: [number, number] = [0.1, 2], kernel = 3): Blur {
  return build(S.BlurSchema, { p, sigma, kernel }, "blur");
}

/** An augmentation recipe; leave an op out to not apply it. */
export function aug(recipe: Aug): Aug {
  return build(S.AugSchema, recipe, "aug");
}

export function view(name: string, recipe: Aug): View {
  return build(S.ViewSchema, { name, aug: recipe }, "view");
}

/** Views named v1, v2, … from recipes; with one recipe, two views that share it. */
export function views(...recipes: Aug[]): View[] {
  const list = recipes.length === 1 ? [recipes[0], recipes[0]] : recipes;
  return list.map((r, i) => view(`v${i + 1}`, r));
}

// ------------------------------------------------------------------------------ modules

type MlpOptions = Partial<Omit<S.Mlp, "kind" | "widths">>;
/** Linear layers of these output widths; hidden layers get BN + ReLU unless told otherwise. */
export function mlp(widths: number[], opts: MlpOptions = {}): S.Mlp {
  return build(S.MlpSchema, { kind: "mlp", widths, ...opts }, "mlp");
}

/** Conv stages (k×k conv → BN → ReLU → 2×2 max-pool) then global average pooling. */
export function cnn(channels: number[], opts: Partial<Omit<S.Cnn, "kind" | "channels">> = {}): S.Cnn {
  return build(S.CnnSchema, { kind: "cnn", channels, ...opts }, "cnn");
}

export function resnet18(opts: Partial<Omit<S.ResNet18, "kind">> = {}): S.ResNet18 {
  return build(S.ResNet18Schema, { kind: "resnet18", ...opts }, "resnet18");
}

/** A name for a common sub-path, e.g. backbone = seq("encoder", "projector"). */
export function seq(...path: string[]): S.Seq {
  return build(S.SeqSchema, { kind: "seq", path }, "seq");
}

// ----------------------------------------------------------------------------- branches

/** τ schedule of an EMA copy of branch `of`: cosine from `base` to `final` (1) unless 'const'. */
export function ema(of: string, base = 0.996, opts: { final?: number; schedule?: "cosine" | "const" } = {}): Ema {
  return build(S.EmaSchema, { of, tau: { base, ...opts } }, "ema");
}

/** The view `view` pushed through the modules of `path`, in order. */
export function branch(
  name: string,
  view: string,
  path: string[],
  opts: { stopGrad?: boolean; ema?: Ema } = {},
): Branch {
  return build(S.BranchSchema, { name, view, path, ...opts }, "branch");
}

export function queue(name: string, of: string, size: number): Queue {
  return build(S.QueueSchema, { name, of, size }, "queue");
}

/**
 * stopGrad on a branch marks the branch (no gradient through its output); on a loss
 * expression it wraps it in the stopGrad primitive.
 */
export function stopGrad(b: Branch): Branch;
export function stopGrad(x: Expr): LossNode;
export function stopGrad(x: Branch | Expr): Branch | LossNode {
  if (typeof x === "object" && "view" in x) return { ...x, stopGrad: true };
  return node({ op: "stopGrad", args: [x] });
}

// --------------------------------------------------------------------------------- loss

function node(n: LossNode): LossNode {
  return build(S.ExprSchema, n, "loss") as LossNode;
}

/** Barlow Twins; lambda 'mean' is the λ-free variant λ = 1/(D−1) (docs/lambda_free.md). */
export const barlowTwins = (a: Expr, b: Expr, lambda: number | "mean" = 0.0051): LossNode =>
  node({ op: "barlowTwins", a, b, lambda });
export const ntXent = (a: Expr, b: Expr, temperature = 0.5): LossNode => node({ op: "ntXent", a, b, temperature });
/** InfoNCE of a against positives b and `negatives` (a queue name; default: the other rows of b). */
export const infoNCE = (a: Expr, b: Expr, opts: { temperature?: number; negatives?: Expr } = {}): LossNode =>
  node({ op: "infoNCE", a, b, temperature: opts.temperature ?? 0.2, negatives: opts.negatives });
export const byol = (prediction: Expr, target: Expr): LossNode => node({ op: "byol", a: prediction, b: target });
export const simsiam = (prediction: Expr, target: Expr): LossNode => node({ op: "simsiam", a: prediction, b: target });
export const vicreg = (a: Expr, b: Expr, w: { sim?: number; var?: number; cov?: number } = {}): LossNode =>
  node({ op: "vicreg", a, b, sim: w.sim ?? 25, var: w.var ?? 25, cov: w.cov ?? 1 });
export const featureSimMSE = (a: Expr, b: Expr): LossNode => node({ op: "featureSimMSE", a, b });

export const add = (...args: Expr[]): LossNode => node({ op: "add", args });
export const mul = (...args: Expr[]): LossNode => node({ op: "mul", args });
export const sub = (a: Expr, b: Expr): LossNode => node({ op: "sub", args: [a, b] });
export const div = (a: Expr, b: Expr): LossNode => node({ op: "div", args: [a, b] });
export const neg = (x: Expr): LossNode => node({ op: "neg", args: [x] });
export const exp = (x: Expr): LossNode => node({ op: "exp", args: [x] });
export const log = (x: Expr): LossNode => node({ op: "log", args: [x] });
export const sqrt = (x: Expr): LossNode => node({ op: "sqrt", args: [x] });
export const square = (x: Expr): LossNode => node({ op: "square", args: [x] });
export const abs = (x: Expr): LossNode => node({ op: "abs", args: [x] });
export const relu = (x: Expr): LossNode => node({ op: "relu", args: [x] });
export const transpose = (x: Expr): LossNode => node({ op: "transpose", args: [x] });
/** Reductions keep the reduced axis as size 1; without an axis they reduce to a scalar. */
export const sum = (x: Expr, axis?: 0 | 1): LossNode => node({ op: "sum", args: [x], axis });
export const mean = (x: Expr, axis?: 0 | 1): LossNode => node({ op: "mean", args: [x], axis });
export const logsumexp = (x: Expr, axis?: 0 | 1): LossNode => node({ op: "logsumexp", args: [x], axis });
export const matmul = (a: Expr, b: Expr, t: { ta?: boolean; tb?: boolean } = {}): LossNode =>
  node({ op: "matmul", args: [a, b], ...t });
/** L2-normalize each row (axis 1) or each column (axis 0). */
export const normalize = (x: Expr, axis: 0 | 1 = 1): LossNode => node({ op: "normalize", args: [x], axis });
/** Softmax along each row (axis 1: per-sample distributions, e.g. cluster assignments) or each column (axis 0). */
export const softmax = (x: Expr, axis: 0 | 1 = 1): LossNode => node({ op: "softmax", args: [x], axis });
/** Per column: subtract the batch mean, divide by the batch std. */
export const standardize = (x: Expr): LossNode => node({ op: "standardize", args: [x] });
export const eye = (n: number): LossNode => node({ op: "eye", n });
export const concat = (args: Expr[], axis: 0 | 1 = 0): LossNode => node({ op: "concat", args, axis });

/** Σ wᵢ·lossᵢ: weighted([1, barlowTwins("z1", "z2")], [0.5, ntXent("z1", "z2")]). */
export function weighted(...terms: [number, Expr][]): Expr {
  const parts = terms.map(([w, x]) => (w === 1 ? x : mul(w, x)));
  return parts.length === 1 ? parts[0] : add(...parts);
}

// ---------------------------------------------------------------------------- optimizer

type OptOptions<K extends Optimizer["kind"]> = Partial<Omit<Extract<Optimizer, { kind: K }>, "kind">> & { lr: number };
export const lars = (o: OptOptions<"lars">): Optimizer => build(S.OptimizerSchema, { kind: "lars", ...o }, "lars");
export const sgd = (o: OptOptions<"sgd">): Optimizer => build(S.OptimizerSchema, { kind: "sgd", ...o }, "sgd");
export const adamw = (o: OptOptions<"adamw">): Optimizer => build(S.OptimizerSchema, { kind: "adamw", ...o }, "adamw");

/** Linear warmup then cosine decay to finalFactor·lr. */
export const cosine = (warmupEpochs = 0, finalFactor = 0.001): Schedule =>
  build(S.ScheduleSchema, { kind: "cosine", warmupEpochs, finalFactor }, "schedule");
/** Linear warmup then a constant lr. */
export const constant = (warmupEpochs = 0): Schedule =>
  build(S.ScheduleSchema, { kind: "const", warmupEpochs }, "schedule");

export const evaluation = (o: Partial<Eval> = {}): Eval => build(S.EvalSchema, o, "eval");

// --------------------------------------------------------------------------------- spec

export interface PipelineParts {
  name: string;
  /** defaults to name */
  method?: string;
  /** a dataset name or path, or the full data object */
  data: string | S.Data;
  views: View[];
  modules: Record<string, Module>;
  branches: Branch[];
  queues?: Queue[];
  loss: Expr;
  optimizer: Optimizer;
  /** default: cosine without warmup */
  schedule?: Schedule;
  batch: number;
  epochs: number;
  steps?: number;
  /** default 0 */
  seed?: number;
  eval?: Partial<Eval>;
}

/** Assembles and validates a whole spec (throws SpecError with paths on any problem). */
export function pipeline(p: PipelineParts): PipelineSpec {
  return validateSpecStructure(stripUndefined({
    version: S.SPEC_VERSION,
    name: p.name,
    method: p.method ?? p.name,
    data: typeof p.data === "string" ? { name: p.data } : p.data,
    views: p.views,
    modules: p.modules,
    branches: p.branches,
    queues: p.queues ?? [],
    loss: p.loss,
    optimizer: p.optimizer,
    schedule: p.schedule ?? cosine(),
    batch: p.batch,
    epochs: p.epochs,
    steps: p.steps,
    seed: p.seed ?? 0,
    eval: p.eval ?? {},
  }));
}

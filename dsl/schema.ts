// The pipeline-spec language (docs/architecture.md: a spec is data). A PipelineSpec is a plain,
// JSON-serializable, versioned object: builders (dsl/builders.ts) produce it, this valibot
// schema checks its form, dsl/validate.ts checks its meaning, dsl/io.ts hashes and stores it.
//
// How each field lowers to the graph (ir/graph.ts) — the lowering lives elsewhere; this is
// its contract:
//
//   data      The dataset to stream (name from a known table or a path) and optional caps on
//             the number of train/test images. Images enter as [batch, C, H, W] in [0, 1].
//   views     One augmentation pipeline per view, run on the GPU from the same batch of
//             images with the RNG keyed by (seed, step, sample, view index). Ops run in this
//             fixed order: crop → flip → colorJitter (its four ops in random order) →
//             grayscale → blur → solarize. A missing op is not applied. Each view is a
//             [batch, C, S, S] tensor, S = crop.size (or the dataset's image size).
//   modules   Named parameterized sub-graphs. One parameter set per module name: every
//             branch that lists a module uses the SAME weights (unless the branch is `ema`).
//             `mlp` = Linear layers (+BN, +ReLU), `cnn` = conv stages + global average pool,
//             `resnet18` = the ResNet-18 trunk, `seq` = a named list of other modules. Output
//             widths are static: mlp → last of `widths`, cnn → last of `channels`,
//             resnet18 → 8·width, seq → its last module's output.
//   branches  Each branch = one view pushed through a module path: the tensor
//             path[n-1](…path[0](view)) of shape [batch, D]. Lowering memoizes by
//             (view, parameter set, path prefix), so `p1 = [encoder, projector, predictor]`
//             and `z1 = [encoder, projector]` on the same view share one forward pass.
//             `stopGrad` wraps the branch output in the identity-with-zero-VJP op.
//             `ema: {of}` evaluates the path with a second parameter set: EMA copies of the
//             path's modules that track the weights branch `of` trains (no gradient flows
//             into them; implies stopGrad). After the optimizer step a non-differentiated
//             update writes ema ← τ·ema + (1−τ)·online, with τ from `ema.tau` per step. All
//             ema branches of the same `of` share one copy (resolve.ts emaSets lists them).
//   queues    Persistent [size, D] state. The loss reads the contents from BEFORE this step;
//             after the step the `of` branch's [batch, D] output, detached and L2-normalized
//             per row (MoCo keeps normalized keys), is written at the FIFO pointer, which
//             advances by batch (size must be a multiple of batch). Initial contents: random unit
//             vectors (exactly norm 1, as MoCo's reference) drawn from the seed.
//   loss      An expression tree evaluated to a scalar: numbers are constants, strings name a
//             branch or a queue, objects are nodes. Library nodes (barlowTwins, ntXent, …)
//             expand to graphs of primitives from losses/; primitive nodes map one-to-one to
//             Tensor ops (add → +, matmul with transposes, mean over an axis keeping dims, …).
//             Hybrids are `add` of weighted (`mul`) library nodes.
//   optimizer Per-parameter update graph after backward. lr is the base lr at batch 256:
//             effective lr = lr · batch / 256, times the schedule factor of the step.
//             excludeBiasAndNorm: 1-D parameters (biases, BN γ/β) get no weight decay and,
//             for LARS, no trust-ratio adaptation. fixedLr: modules whose lr skips the
//             schedule (SimSiam's predictor).
//   schedule  Per-step lr factor: linear warmup over warmupEpochs, then cosine (or constant)
//             down to finalFactor at the last step. Written into the step's uniform buffer.
//   batch, epochs, steps, seed   Static batch size (shapes are baked into kernels), length of
//             the run (steps, when given, caps the total number of steps), RNG seed.
//   eval      Weighted kNN (cosine, k, temperature) on encoder features every `every`
//             epochs (0: only at the end) and a linear probe trained at the end.
//
// Helpers the lowering can share with the checks, so both read a spec the same way:
// resolve.ts (expandPath: seq modules → leaf modules; moduleOutDim / branchDim: widths;
// viewImageShape; emaSets: the EMA parameter copies; trainedModules; lossNodes),
// validate.ts lossRefs (shape of every name the loss may use) and loss_check.ts checkExpr
// (the loss lowered shapes-only through the op table).
//
// Field names are short; every field is documented next to its schema below. Fields with a
// default may be left out of a JSON file; the validated spec always has them filled in, so
// the spec stored in a checkpoint (and its hash) is fully explicit.
import * as v from "valibot";
import { show } from "./error.ts";

/** The spec format version this build reads and writes. */
export const SPEC_VERSION = 1;

// ---------------------------------------------------------------- helpers with clear messages

type AnyIssue = v.BaseIssue<unknown>;
const expected = (what: string) => (i: AnyIssue) => `expected ${what}, got ${show(i.input)}`;

/** A finite number, optionally an integer, passing `ok`; errors read "expected <what>, got …". */
function num(what: string, ok: (n: number) => boolean = () => true, integer = false) {
  const m = expected(what);
  return v.pipe(v.number(m), v.finite(m), v.check((n) => (!integer || Number.isInteger(n)) && ok(n), m));
}

const PosInt = num("a positive integer", (n) => n >= 1, true);
const NonNegInt = num("an integer ≥ 0", (n) => n >= 0, true);
const PosNum = num("a number > 0", (n) => n > 0);
const NonNegNum = num("a number ≥ 0", (n) => n >= 0);
const Prob = num("a probability in [0, 1]", (n) => n >= 0 && n <= 1);
const Bool = v.boolean(expected("true or false"));
const Text = v.pipe(v.string(expected("a string")), v.minLength(1, "expected a non-empty string"));

/**
 * Run names choose the run folder (runs/<name>): one path segment of letters, digits, '.', '_'
 * and '-', not starting with '.' or '-', so no spec can point the run outside runs/.
 */
export const RUN_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const runNameMsg = expected(
  "a run name of at most 64 letters, digits, '.', '_' and '-', not starting with '.' or '-' (it names the folder runs/<name>)",
);
const RunName = v.pipe(v.string(runNameMsg), v.regex(RUN_NAME_RE, runNameMsg));

/** Names of views, modules, branches and queues: identifiers, so paths and references stay unambiguous. */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const nameMsg = expected("a name (letters, digits and _, not starting with a digit)");
const Name = v.pipe(v.string(nameMsg), v.regex(NAME_RE, nameMsg));

/** Message for fixed-length arrays: says when there are too many items, not just "wrong". */
const tupleMsg = (what: string) => (i: AnyIssue) =>
  i.expected === "never" ? `too many items: expected ${what}` : expected(what)(i);

/** [min, max] with min ≤ max, both passing `ok`. */
function range(what: string, ok: (n: number) => boolean) {
  const item = num(what, ok);
  return v.pipe(
    v.strictTuple([item, item], tupleMsg(`[min, max] of ${what}`)),
    v.check(([a, b]) => a <= b, expected("[min, max] with min ≤ max")),
  );
}

/** A closed object: unknown fields are errors (typos must not be silently ignored). */
function obj<E extends v.ObjectEntries>(entries: E) {
  const keys = Object.keys(entries).join(", ");
  return v.strictObject(entries, (i) => {
    if (i.expected === "never") return `unknown field ${show(i.input)} (fields here: ${keys})`;
    if (i.expected?.startsWith('"')) return "required field is missing";
    return `expected an object with fields ${keys}; got ${show(i.input)}`;
  });
}

/** A discriminated union on `key`, with a message listing the accepted tags. */
function tagged<const O extends v.VariantOptions<string>>(key: string, options: O, tags: readonly string[]) {
  return v.variant(
    key,
    options,
    (i) =>
      i.path
        ? `unknown ${key} ${show(i.input)}; expected one of ${tags.join(", ")}`
        : expected(`an object with ${key}: ${tags.join(" | ")}`)(i),
  );
}

// ---------------------------------------------------------------------------------- data

export const DataSchema = obj({
  /**
   * the data set: 'fashion-mnist', 'synthetic', a kind with its folder ('mnist:<dir>',
   * 'cifar10:<dir>', 'cifar100:<dir>', 'fashion-mnist:<dir>') or an image folder. A spec read
   * from a file names the kind only; the folder comes from the command line (--data).
   */
  name: Text,
  /** use only the first N training images (quick runs) */
  trainLimit: v.optional(PosInt),
  /** use only the first N test images */
  testLimit: v.optional(PosInt),
});

// ------------------------------------------------------------------------- augmentation

export const CropSchema = obj({
  /** output side S in pixels: the view is S×S */
  size: PosInt,
  /** [min, max] fraction of the image area kept (RandomResizedCrop scale), in (0, 1] */
  scale: range("an area fraction in (0, 1]", (n) => n > 0 && n <= 1),
  /** [min, max] aspect ratio w/h of the crop, e.g. [3/4, 4/3] */
  ratio: range("an aspect ratio > 0", (n) => n > 0),
});

export const ColorJitterSchema = obj({
  /** max relative change of brightness, contrast, saturation: factor drawn from [1−x, 1+x] */
  brightness: NonNegNum,
  contrast: NonNegNum,
  saturation: NonNegNum,
  /** max hue shift, a fraction of the color wheel in [0, 0.5] */
  hue: num("a hue shift in [0, 0.5]", (n) => n >= 0 && n <= 0.5),
  /** probability of applying the jitter at all */
  p: Prob,
});

export const BlurSchema = obj({
  /** probability of blurring */
  p: Prob,
  /** [min, max] of the Gaussian σ in pixels, drawn per image */
  sigma: range("a σ > 0", (n) => n > 0),
  /** kernel side in pixels (odd), ≈ image size / 10 */
  kernel: num("an odd positive integer", (n) => n >= 1 && n % 2 === 1, true),
});

/** One view's augmentation recipe. A missing op is not applied. */
export const AugSchema = obj({
  /** random resized crop; without it the view keeps the dataset's image size */
  crop: v.optional(CropSchema),
  /** probability of a horizontal flip */
  flip: v.optional(Prob),
  colorJitter: v.optional(ColorJitterSchema),
  /** probability of converting to grayscale */
  grayscale: v.optional(Prob),
  blur: v.optional(BlurSchema),
  /** probability of solarizing (pixels ≥ 0.5 become 1 − x) */
  solarize: v.optional(Prob),
});

export const ViewSchema = obj({
  name: Name,
  aug: AugSchema,
});

// ------------------------------------------------------------------------------ modules

export const MlpSchema = obj({
  kind: v.literal("mlp"),
  /** expected input width; inferred from the previous module when absent, checked when given */
  in: v.optional(PosInt),
  /** output width of each Linear layer, in order; the last one is the module's output width */
  widths: v.pipe(v.array(PosInt, expected("an array of widths")), v.minLength(1, "expected at least one width")),
  /** Linear layers have a bias (redundant when a BN follows) */
  bias: v.optional(Bool, true),
  /** BatchNorm after every hidden Linear (all but the last) */
  bn: v.optional(Bool, true),
  /** ReLU after every hidden layer */
  relu: v.optional(Bool, true),
  /** BatchNorm after the last Linear too (SimSiam projector, encoders) */
  lastBn: v.optional(Bool, false),
  /** that last BatchNorm has learnable γ, β (SimSiam's has not) */
  lastBnAffine: v.optional(Bool, true),
  /** ReLU after the last layer too (encoders whose output is a feature vector) */
  lastRelu: v.optional(Bool, false),
});

export const CnnSchema = obj({
  kind: v.literal("cnn"),
  /** output channels of each stage: conv k×k (stride 1, same padding) → BN → ReLU → 2×2 max-pool */
  channels: v.pipe(
    v.array(PosInt, expected("an array of channel counts")),
    v.minLength(1, "expected at least one stage"),
  ),
  /** conv kernel side (odd) */
  kernel: v.optional(num("an odd positive integer", (n) => n >= 1 && n % 2 === 1, true), 3),
  /** BatchNorm after each conv */
  bn: v.optional(Bool, true),
  /** 2×2 max-pool after each stage (while the map is at least 2×2) */
  pool: v.optional(Bool, true),
});

export const ResNet18Schema = obj({
  kind: v.literal("resnet18"),
  /** channels of the first stage (64 in the paper); the output width is 8·width */
  width: v.optional(PosInt, 64),
  /** 'cifar': 3×3 stride-1 stem, no max-pool (small images); 'imagenet': 7×7 stride-2 + 3×3 stride-2 max-pool (views of 64 px and more) */
  stem: v.optional(v.picklist(["cifar", "imagenet"], expected("'cifar' or 'imagenet'")), "cifar"),
});

export const SeqSchema = obj({
  kind: v.literal("seq"),
  /** other modules applied in order; shares their weights (a name for a common sub-path) */
  path: v.pipe(v.array(Name, expected("an array of module names")), v.minLength(1, "expected at least one module")),
});

export const MODULE_KINDS = ["mlp", "cnn", "resnet18", "seq"] as const;
export const ModuleSchema = tagged("kind", [MlpSchema, CnnSchema, ResNet18Schema, SeqSchema], MODULE_KINDS);

// ----------------------------------------------------------------------------- branches

export const TauSchema = obj({
  /** τ at step 0 (0.99 short runs … 0.996 BYOL … 0.999 MoCo) */
  base: Prob,
  /** τ at the last step, reached by the cosine schedule (ignored when 'const') */
  final: v.optional(Prob, 1),
  /** 'cosine': τ = final − (final − base)(cos(π·step/total) + 1)/2 (base at step 0, final at the end); 'const': τ = base */
  schedule: v.optional(v.picklist(["cosine", "const"], expected("'cosine' or 'const'")), "cosine"),
});

export const EmaSchema = obj({
  /** the branch whose modules' parameters are averaged */
  of: Name,
  tau: TauSchema,
});

export const BranchSchema = obj({
  /** how the loss refers to this branch's output */
  name: Name,
  /** the view fed in */
  view: Name,
  /** module names applied in order */
  path: v.pipe(v.array(Name, expected("an array of module names")), v.minLength(1, "expected at least one module")),
  /** no gradient flows back through this branch's output */
  stopGrad: v.optional(Bool, false),
  /** evaluate with an EMA copy of branch `of`'s parameters (the momentum / target network) */
  ema: v.optional(EmaSchema),
});

export const QueueSchema = obj({
  /** how the loss refers to the queue's contents, a [size, D] matrix */
  name: Name,
  /** the branch whose (detached) outputs are enqueued after each step */
  of: Name,
  /** number of stored rows: a multiple of the batch */
  size: PosInt,
});

// --------------------------------------------------------------------------------- loss

/**
 * A loss expression: a number (constant), a string (a branch or queue name: its output, a
 * [rows, D] matrix), or a node. Written out by hand because it is recursive.
 *
 * Numerical constants are part of the language (not fields) so a spec means one thing:
 * standardize divides by sqrt(biased variance + 1e-5) (BatchNorm1d without affine, as in the
 * Barlow Twins code); normalize divides by max(‖x‖₂, 1e-12) (F.normalize); cosine
 * similarities use normalize; VICReg uses std = sqrt(unbiased var + 1e-4), hinge max(0, 1 − std)
 * averaged over features, covariance with 1/(N−1) and Σ_{i≠j} cov_ij² / D per branch.
 */
export type Expr = number | string | LossNode;
type AB = { a: Expr; b: Expr };
export type LossNode =
  /** Σ(1−C_ii)² + λ Σ_{i≠j} C_ij², C = standardized(a)ᵀ standardized(b) / N; lambda 'mean' = 1/(D−1) */
  | { op: "barlowTwins"; lambda: number | "mean" } & AB
  /** NT-Xent (SimCLR): over the 2N rows of a and b, −log softmax of cos/temperature at each row's partner, self excluded; mean */
  | { op: "ntXent"; temperature: number } & AB
  /** InfoNCE (MoCo): row i of a, cos/temperature, against its positive b_i and the negatives' rows (default: the other rows of b); mean of −log softmax */
  | { op: "infoNCE"; temperature: number; negatives?: Expr } & AB
  /** BYOL regression: mean over rows of 2 − 2·cos(a_i, b_i) */
  | { op: "byol" } & AB
  /** SimSiam: mean over rows of −cos(a_i, b_i) */
  | { op: "simsiam" } & AB
  /** VICReg: sim·MSE(a, b) + var·(hinge(a) + hinge(b))/2 + cov·(offcov(a) + offcov(b)) (official code) */
  | { op: "vicreg"; sim: number; var: number; cov: number } & AB
  /** mean((âᵀ b̂ − I)²) over the D×D entries, â, b̂ = columns L2-normalized along the batch (docs/lambda-free.md, "Samples or features") */
  | { op: "featureSimMSE" } & AB
  /** n-ary sum / product with numpy broadcasting */
  | { op: "add" | "mul"; args: Expr[] }
  | { op: "sub" | "div"; args: [Expr, Expr] }
  | { op: "neg" | "exp" | "log" | "sqrt" | "square" | "abs" | "relu" | "transpose" | "stopGrad"; args: [Expr] }
  /** reduce over `axis` keeping it as size 1, or over everything to a scalar when absent */
  | { op: "sum" | "mean" | "logsumexp"; args: [Expr]; axis?: 0 | 1 }
  /** a·b with optional transposes: ta → aᵀ, tb → bᵀ */
  | { op: "matmul"; args: [Expr, Expr]; ta?: boolean; tb?: boolean }
  /** x / ‖x‖₂ along `axis` (1: each row, 0: each column) */
  | { op: "normalize"; args: [Expr]; axis: 0 | 1 }
  /** per column: (x − mean over rows) / std over rows (batch-norm without affine) */
  | { op: "standardize"; args: [Expr] }
  /** the n×n identity */
  | { op: "eye"; n: number }
  | { op: "concat"; args: Expr[]; axis: 0 | 1 };

export const LIBRARY_LOSSES = [
  "barlowTwins",
  "ntXent",
  "infoNCE",
  "byol",
  "simsiam",
  "vicreg",
  "featureSimMSE",
] as const;
const NARY = ["add", "mul"] as const;
const BINARY = ["sub", "div"] as const;
const UNARY = ["neg", "exp", "log", "sqrt", "square", "abs", "relu", "transpose", "stopGrad"] as const;
const REDUCE = ["sum", "mean", "logsumexp"] as const;
export const PRIMITIVE_OPS = [
  ...NARY,
  ...BINARY,
  ...UNARY,
  ...REDUCE,
  "matmul",
  "normalize",
  "standardize",
  "eye",
  "concat",
] as const;

const exprMsg = expected("a number, a branch or queue name, or a loss node {op, …}");
export const ExprSchema: v.GenericSchema<Expr> = v.lazy((input) =>
  typeof input === "number" ? num("a finite number") : typeof input === "string" ? Name : LossNodeSchema
);
const Axis = v.picklist([0, 1], expected("axis 0 (rows) or 1 (columns)"));
const Temperature = num("a temperature > 0", (n) => n > 0);
const args1 = v.strictTuple([ExprSchema], tupleMsg("args: [x]"));
const args2 = v.strictTuple([ExprSchema, ExprSchema], tupleMsg("args: [x, y]"));
const argsN = v.pipe(
  v.array(ExprSchema, expected("an array of expressions")),
  v.minLength(2, "expected at least 2 args"),
);
const ab = { a: ExprSchema, b: ExprSchema };

const LossNodeSchema: v.GenericSchema<LossNode> = v.variant(
  "op",
  [
    obj({
      op: v.literal("barlowTwins"),
      ...ab,
      lambda: v.union([NonNegNum, v.literal("mean")], expected("λ ≥ 0 or 'mean' (λ = 1/(D−1))")),
    }),
    obj({ op: v.literal("ntXent"), ...ab, temperature: Temperature }),
    obj({ op: v.literal("infoNCE"), ...ab, temperature: Temperature, negatives: v.optional(ExprSchema) }),
    obj({ op: v.literal("byol"), ...ab }),
    obj({ op: v.literal("simsiam"), ...ab }),
    obj({ op: v.literal("vicreg"), ...ab, sim: NonNegNum, var: NonNegNum, cov: NonNegNum }),
    obj({ op: v.literal("featureSimMSE"), ...ab }),
    obj({ op: v.picklist(NARY), args: argsN }),
    obj({ op: v.picklist(BINARY), args: args2 }),
    obj({ op: v.picklist(UNARY), args: args1 }),
    obj({ op: v.picklist(REDUCE), args: args1, axis: v.optional(Axis) }),
    obj({ op: v.literal("matmul"), args: args2, ta: v.optional(Bool), tb: v.optional(Bool) }),
    obj({ op: v.literal("normalize"), args: args1, axis: Axis }),
    obj({ op: v.literal("standardize"), args: args1 }),
    obj({ op: v.literal("eye"), n: PosInt }),
    obj({ op: v.literal("concat"), args: argsN, axis: Axis }),
  ],
  (i) =>
    i.path
      ? `unknown op ${show(i.input)}; library losses: ${LIBRARY_LOSSES.join(", ")}; primitives: ${
        PRIMITIVE_OPS.join(", ")
      }`
      : exprMsg(i),
);

// ---------------------------------------------------------------------------- optimizer

const optCommon = {
  /** base learning rate at batch 256; effective lr = lr · batch / 256 */
  lr: PosNum,
  weightDecay: v.optional(NonNegNum, 0),
  /** biases and BN parameters (1-D) get no weight decay (and no LARS adaptation) */
  excludeBiasAndNorm: v.optional(Bool, true),
  /** modules whose lr ignores the schedule (stays at lr · batch/256): SimSiam's predictor */
  fixedLr: v.optional(v.array(Name, expected("an array of module names")), () => []),
};

export const LarsSchema = obj({
  kind: v.literal("lars"),
  ...optCommon,
  /** base lr of the 1-D parameters when it differs (Barlow Twins: 0.0048 vs 0.2) */
  biasLr: v.optional(PosNum),
  momentum: v.optional(Prob, 0.9),
  /** trust coefficient η in η‖w‖/‖g + wd·w‖ */
  eta: v.optional(PosNum, 1e-3),
  /** clip the adaptive lr at the base lr (solo-learn) */
  clip: v.optional(Bool, false),
});

export const SgdSchema = obj({
  kind: v.literal("sgd"),
  ...optCommon,
  momentum: v.optional(Prob, 0.9),
  nesterov: v.optional(Bool, false),
});

export const AdamWSchema = obj({
  kind: v.literal("adamw"),
  ...optCommon,
  beta1: v.optional(Prob, 0.9),
  beta2: v.optional(Prob, 0.999),
  eps: v.optional(PosNum, 1e-8),
});

export const OPTIMIZER_KINDS = ["lars", "sgd", "adamw"] as const;
export const OptimizerSchema = tagged("kind", [LarsSchema, SgdSchema, AdamWSchema], OPTIMIZER_KINDS);

export const ScheduleSchema = obj({
  /** 'cosine': decay to finalFactor·lr at the last step; 'const': stay at lr after warmup */
  kind: v.picklist(["cosine", "const"], expected("'cosine' or 'const'")),
  /** linear warmup from 0, in epochs (fractions allowed) */
  warmupEpochs: v.optional(NonNegNum, 0),
  /** lr factor at the last step of a cosine schedule */
  finalFactor: v.optional(Prob, 0.001),
});

// --------------------------------------------------------------------------------- eval

export const EvalSchema = obj({
  /** weighted kNN on L2-normalized encoder features: neighbours, vote temperature */
  knnK: v.optional(PosInt, 200),
  knnT: v.optional(PosNum, 0.1),
  /** kNN monitor every N epochs during training; 0 = only at the end */
  every: v.optional(NonNegInt, 0),
  /** linear probe on frozen encoder features: epochs (0 = no probe), base lr, batch */
  linearEpochs: v.optional(NonNegInt, 10),
  linearLr: v.optional(PosNum, 0.1),
  linearBatch: v.optional(PosInt, 256),
});

// --------------------------------------------------------------------------------- spec

export const PipelineSpecSchema = obj({
  /** format version; this build reads SPEC_VERSION */
  version: v.literal(
    SPEC_VERSION,
    (i) => `unsupported spec version ${show(i.input)}; this build reads version ${SPEC_VERSION}`,
  ),
  /** run name: the default run folder is runs/<name> (see RUN_NAME_RE) */
  name: RunName,
  /** the method family, for reports ('barlowTwins', 'byol', a hybrid's own label) */
  method: Text,
  data: DataSchema,
  views: v.pipe(v.array(ViewSchema, expected("an array of views")), v.minLength(1, "expected at least one view")),
  modules: v.record(Name, ModuleSchema, expected("an object of named modules")),
  branches: v.pipe(
    v.array(BranchSchema, expected("an array of branches")),
    v.minLength(1, "expected at least one branch"),
  ),
  queues: v.optional(v.array(QueueSchema, expected("an array of queues")), () => []),
  loss: ExprSchema,
  optimizer: OptimizerSchema,
  schedule: ScheduleSchema,
  /** samples per step (per view); ≥ 2 because batch statistics and in-batch negatives need two */
  batch: num("an integer ≥ 2 (batch statistics need at least two samples)", (n) => n >= 2, true),
  epochs: PosInt,
  /** cap on the total number of optimizer steps */
  steps: v.optional(PosInt),
  seed: NonNegInt,
  /**
   * arithmetic of the step: "f32" (the default when absent) or "f16-mixed": matmul and conv
   * operands rounded to f16 with f32 accumulation, f32 weights and optimizer state, the loss and
   * its statistics in f32, dynamic loss scaling; needs the adapter's shader-f16 feature
   */
  precision: v.optional(v.picklist(["f32", "f16-mixed"], expected("'f32' or 'f16-mixed'"))),
  eval: v.optional(EvalSchema, () => ({})),
});

export type PipelineSpec = v.InferOutput<typeof PipelineSpecSchema>;
/** What a JSON file may contain: fields with defaults may be left out. */
export type PipelineSpecInput = v.InferInput<typeof PipelineSpecSchema>;
export type Data = v.InferOutput<typeof DataSchema>;
export type Aug = v.InferOutput<typeof AugSchema>;
export type Crop = v.InferOutput<typeof CropSchema>;
export type ColorJitter = v.InferOutput<typeof ColorJitterSchema>;
export type Blur = v.InferOutput<typeof BlurSchema>;
export type View = v.InferOutput<typeof ViewSchema>;
export type Module = v.InferOutput<typeof ModuleSchema>;
export type Mlp = v.InferOutput<typeof MlpSchema>;
export type Cnn = v.InferOutput<typeof CnnSchema>;
export type ResNet18 = v.InferOutput<typeof ResNet18Schema>;
export type Seq = v.InferOutput<typeof SeqSchema>;
export type Tau = v.InferOutput<typeof TauSchema>;
export type Ema = v.InferOutput<typeof EmaSchema>;
export type Branch = v.InferOutput<typeof BranchSchema>;
export type Queue = v.InferOutput<typeof QueueSchema>;
export type Optimizer = v.InferOutput<typeof OptimizerSchema>;
export type Schedule = v.InferOutput<typeof ScheduleSchema>;
export type Eval = v.InferOutput<typeof EvalSchema>;

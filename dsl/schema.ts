// The pipeline-spec language (docs/architecture.md: a spec is data). A PipelineSpec is a plain,
// JSON-serializable, versioned object: builders (dsl/builders.ts) produce it, this valibot
// schema checks its form, dsl/validate.ts checks its meaning, dsl/io.ts hashes and stores it.
//
// What each field becomes in the graph (step/forward_graph.ts builds it); this is its
// contract:
//
//   data      The dataset to stream (name from a known table or a path), optional caps on
//             the number of train/test images, and optionally one class to train on (the
//             training split cut to it, data/one_class.ts). Images enter as [batch, C, H, W]
//             in [0, 1].
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
//             epochs (0: only at the end) and a linear probe trained at the end; with
//             onlineProbe, a linear classifier on the detached encoder features of the views
//             trained inside the step from the batch's labels (step/online_probe.ts), its test
//             accuracy measured at every epoch's end.
//
// Helpers the forward graph shares with the checks, so both read a spec the same way:
// resolve.ts (expandPath: seq modules → leaf modules; moduleOutDim / branchDim: widths;
// viewImageShape; emaSets: the EMA parameter copies; trainedModules; lossNodes),
// and, in the graph stage, step/loss_check.ts (lossRefs: the shape of every name the loss may
// use; checkExpr: the loss lowered shapes-only through the op table).
//
// Field names are short; every field is documented on its type in dsl/spec_types.ts (what an
// editor shows). Fields with a default may be left out of a JSON file; the validated spec always
// has them filled in, so the spec stored in a checkpoint (and its hash) is fully explicit.
//
// Each schema is built as a private constant whose type valibot infers, then exported under an
// explicit `v.GenericSchema<Input, Output>` naming the written-out types: the published package
// then has no inferred ("slow") types, and the assertions at the end of this file make the
// type-check fail if a written-out type and its schema ever disagree.
import * as v from "valibot";
import { show } from "./error.ts";
import type {
  AdamW,
  AdamWInput,
  Aug,
  Blur,
  Branch,
  BranchInput,
  Cnn,
  CnnInput,
  ColorJitter,
  Crop,
  Data,
  Ema,
  EmaInput,
  Eval,
  EvalInput,
  Expr,
  Lars,
  LarsInput,
  LossNode,
  Mlp,
  MlpInput,
  Module,
  ModuleInput,
  Optimizer,
  OptimizerInput,
  PipelineSpec,
  PipelineSpecInput,
  Queue,
  ResNet18,
  ResNet18Input,
  Schedule,
  ScheduleInput,
  Seq,
  Sgd,
  SgdInput,
  Tau,
  TauInput,
  View,
} from "./spec_types.ts";

export type * from "./spec_types.ts";

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
const Names = (what: string) =>
  v.pipe(v.array(Name, expected(`an array of ${what} names`)), v.minLength(1, `expected at least one ${what}`));

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

// The private schemas below are lower-case; the exported, annotated ones follow each group.
// Field meanings: dsl/spec_types.ts.

// ---------------------------------------------------------------------------------- data

const data = obj({
  name: Text,
  trainLimit: v.optional(PosInt),
  testLimit: v.optional(PosInt),
  oneClass: v.optional(
    v.union([NonNegInt, Text], expected("a class index (an integer ≥ 0) or a class name")),
  ),
});

/** Checks a {@link Data}: form only (dsl/validate.ts checks meaning). */
export const DataSchema: v.GenericSchema<Data> = data;

// ------------------------------------------------------------------------- augmentation

const crop = obj({
  size: PosInt,
  scale: range("an area fraction in (0, 1]", (n) => n > 0 && n <= 1),
  ratio: range("an aspect ratio > 0", (n) => n > 0),
});

const colorJitter = obj({
  brightness: NonNegNum,
  contrast: NonNegNum,
  saturation: NonNegNum,
  hue: num("a hue shift in [0, 0.5]", (n) => n >= 0 && n <= 0.5),
  p: Prob,
});

const blur = obj({
  p: Prob,
  sigma: range("a σ > 0", (n) => n > 0),
  kernel: num("an odd positive integer", (n) => n >= 1 && n % 2 === 1, true),
});

const aug = obj({
  crop: v.optional(crop),
  flip: v.optional(Prob),
  colorJitter: v.optional(colorJitter),
  grayscale: v.optional(Prob),
  blur: v.optional(blur),
  solarize: v.optional(Prob),
});

const view = obj({ name: Name, aug });

/** Checks a {@link Crop}: form only (dsl/validate.ts checks meaning). */
export const CropSchema: v.GenericSchema<Crop> = crop;
/** Checks a {@link ColorJitter}: form only (dsl/validate.ts checks meaning). */
export const ColorJitterSchema: v.GenericSchema<ColorJitter> = colorJitter;
/** Checks a {@link Blur}: form only (dsl/validate.ts checks meaning). */
export const BlurSchema: v.GenericSchema<Blur> = blur;
/** One view's augmentation recipe. A missing op is not applied. */
export const AugSchema: v.GenericSchema<Aug> = aug;
/** Checks a {@link View}: form only (dsl/validate.ts checks meaning). */
export const ViewSchema: v.GenericSchema<View> = view;

// ------------------------------------------------------------------------------ modules

const mlp = obj({
  kind: v.literal("mlp"),
  in: v.optional(PosInt),
  widths: v.pipe(v.array(PosInt, expected("an array of widths")), v.minLength(1, "expected at least one width")),
  bias: v.optional(Bool, true),
  bn: v.optional(Bool, true),
  relu: v.optional(Bool, true),
  lastBn: v.optional(Bool, false),
  lastBnAffine: v.optional(Bool, true),
  lastRelu: v.optional(Bool, false),
});

const cnn = obj({
  kind: v.literal("cnn"),
  channels: v.pipe(
    v.array(PosInt, expected("an array of channel counts")),
    v.minLength(1, "expected at least one stage"),
  ),
  kernel: v.optional(num("an odd positive integer", (n) => n >= 1 && n % 2 === 1, true), 3),
  bn: v.optional(Bool, true),
  pool: v.optional(Bool, true),
});

const resnet18 = obj({
  kind: v.literal("resnet18"),
  width: v.optional(PosInt, 64),
  stem: v.optional(v.picklist(["cifar", "imagenet"], expected("'cifar' or 'imagenet'")), "cifar"),
});

const seq = obj({ kind: v.literal("seq"), path: Names("module") });

/** The `kind` tags of {@link Module}. */
export const MODULE_KINDS = ["mlp", "cnn", "resnet18", "seq"] as const;
const anyModule = tagged("kind", [mlp, cnn, resnet18, seq], MODULE_KINDS);

/** Checks a {@link Mlp}: form only (dsl/validate.ts checks meaning). */
export const MlpSchema: v.GenericSchema<MlpInput, Mlp> = mlp;
/** Checks a {@link Cnn}: form only (dsl/validate.ts checks meaning). */
export const CnnSchema: v.GenericSchema<CnnInput, Cnn> = cnn;
/** Checks a {@link ResNet18}: form only (dsl/validate.ts checks meaning). */
export const ResNet18Schema: v.GenericSchema<ResNet18Input, ResNet18> = resnet18;
/** Checks a {@link Seq}: form only (dsl/validate.ts checks meaning). */
export const SeqSchema: v.GenericSchema<Seq> = seq;
/** Checks a {@link Module}: form only (dsl/validate.ts checks meaning). */
export const ModuleSchema: v.GenericSchema<ModuleInput, Module> = anyModule;

// ----------------------------------------------------------------------------- branches

const tau = obj({
  base: Prob,
  final: v.optional(Prob, 1),
  schedule: v.optional(v.picklist(["cosine", "const"], expected("'cosine' or 'const'")), "cosine"),
});

const ema = obj({ of: Name, tau });

const branch = obj({
  name: Name,
  view: Name,
  path: Names("module"),
  stopGrad: v.optional(Bool, false),
  ema: v.optional(ema),
});

const queue = obj({ name: Name, of: Name, size: PosInt });

/** Checks a {@link Tau}: form only (dsl/validate.ts checks meaning). */
export const TauSchema: v.GenericSchema<TauInput, Tau> = tau;
/** Checks a {@link Ema}: form only (dsl/validate.ts checks meaning). */
export const EmaSchema: v.GenericSchema<EmaInput, Ema> = ema;
/** Checks a {@link Branch}: form only (dsl/validate.ts checks meaning). */
export const BranchSchema: v.GenericSchema<BranchInput, Branch> = branch;
/** Checks a {@link Queue}: form only (dsl/validate.ts checks meaning). */
export const QueueSchema: v.GenericSchema<Queue> = queue;

// --------------------------------------------------------------------------------- loss

/** Loss nodes that expand to graphs of primitives (losses/). */
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
/** Loss nodes that map one-to-one to Tensor ops. */
export const PRIMITIVE_OPS = [
  ...NARY,
  ...BINARY,
  ...UNARY,
  ...REDUCE,
  "matmul",
  "normalize",
  "softmax",
  "standardize",
  "eye",
  "concat",
] as const;

const exprMsg = expected("a number, a branch or queue name, or a loss node {op, …}");
/** A loss expression (recursive, so its type is written out: {@link Expr}). */
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

const lossNode = v.variant(
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
    obj({ op: v.literal("softmax"), args: args1, axis: Axis }),
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
// Annotated because ExprSchema refers to it: the recursion needs one written-out type.
const LossNodeSchema: v.GenericSchema<LossNode> = lossNode;

// ---------------------------------------------------------------------------- optimizer

const optCommon = {
  lr: PosNum,
  weightDecay: v.optional(NonNegNum, 0),
  excludeBiasAndNorm: v.optional(Bool, true),
  fixedLr: v.optional(v.array(Name, expected("an array of module names")), () => []),
};

const lars = obj({
  kind: v.literal("lars"),
  ...optCommon,
  biasLr: v.optional(PosNum),
  momentum: v.optional(Prob, 0.9),
  eta: v.optional(PosNum, 1e-3),
  clip: v.optional(Bool, false),
});

const sgd = obj({
  kind: v.literal("sgd"),
  ...optCommon,
  momentum: v.optional(Prob, 0.9),
  nesterov: v.optional(Bool, false),
});

const adamw = obj({
  kind: v.literal("adamw"),
  ...optCommon,
  beta1: v.optional(Prob, 0.9),
  beta2: v.optional(Prob, 0.999),
  eps: v.optional(PosNum, 1e-8),
});

/** The `kind` tags of {@link Optimizer}. */
export const OPTIMIZER_KINDS = ["lars", "sgd", "adamw"] as const;
const optimizer = tagged("kind", [lars, sgd, adamw], OPTIMIZER_KINDS);

const schedule = obj({
  kind: v.picklist(["cosine", "const"], expected("'cosine' or 'const'")),
  warmupEpochs: v.optional(NonNegNum, 0),
  finalFactor: v.optional(Prob, 0.001),
});

/** Checks a {@link Lars}: form only (dsl/validate.ts checks meaning). */
export const LarsSchema: v.GenericSchema<LarsInput, Lars> = lars;
/** Checks a {@link Sgd}: form only (dsl/validate.ts checks meaning). */
export const SgdSchema: v.GenericSchema<SgdInput, Sgd> = sgd;
/** Checks a {@link AdamW}: form only (dsl/validate.ts checks meaning). */
export const AdamWSchema: v.GenericSchema<AdamWInput, AdamW> = adamw;
/** Checks a {@link Optimizer}: form only (dsl/validate.ts checks meaning). */
export const OptimizerSchema: v.GenericSchema<OptimizerInput, Optimizer> = optimizer;
/** Checks a {@link Schedule}: form only (dsl/validate.ts checks meaning). */
export const ScheduleSchema: v.GenericSchema<ScheduleInput, Schedule> = schedule;

// --------------------------------------------------------------------------------- eval

const evaluation = obj({
  knnK: v.optional(PosInt, 200),
  knnT: v.optional(PosNum, 0.1),
  every: v.optional(NonNegInt, 0),
  linearEpochs: v.optional(NonNegInt, 10),
  linearLr: v.optional(PosNum, 1e-3),
  linearBatch: v.optional(PosInt, 256),
  onlineProbe: v.optional(Bool),
});

/** Checks a {@link Eval}: form only (dsl/validate.ts checks meaning). */
export const EvalSchema: v.GenericSchema<EvalInput, Eval> = evaluation;

// --------------------------------------------------------------------------------- spec

const pipelineSpec = obj({
  version: v.literal(
    SPEC_VERSION,
    (i) => `unsupported spec version ${show(i.input)}; this build reads version ${SPEC_VERSION}`,
  ),
  name: RunName,
  method: Text,
  data,
  views: v.pipe(v.array(view, expected("an array of views")), v.minLength(1, "expected at least one view")),
  modules: v.record(Name, anyModule, expected("an object of named modules")),
  branches: v.pipe(
    v.array(branch, expected("an array of branches")),
    v.minLength(1, "expected at least one branch"),
  ),
  queues: v.optional(v.array(queue, expected("an array of queues")), () => []),
  loss: ExprSchema,
  optimizer,
  schedule,
  batch: num("an integer ≥ 2 (batch statistics need at least two samples)", (n) => n >= 2, true),
  epochs: PosInt,
  steps: v.optional(PosInt),
  seed: NonNegInt,
  precision: v.optional(v.picklist(["f32", "f16-mixed"], expected("'f32' or 'f16-mixed'"))),
  eval: v.optional(evaluation, () => ({})),
});

/** The whole spec's form: a JSON file ({@link PipelineSpecInput}) in, a {@link PipelineSpec} out. */
export const PipelineSpecSchema: v.GenericSchema<PipelineSpecInput, PipelineSpec> = pipelineSpec;

// ------------------------------------------------------- written-out types = inferred types
//
// Compile-time only (nothing here is exported, so the published API does not see it). `Same`
// is the strict identity test: it tells `{ a?: number }` from `{ a: number | undefined }`,
// `readonly` from mutable and `any` from anything else, where mutual assignability would not.
// A mismatch fails `deno check` at the line that names the type.

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Holds<T extends true> = T;
/** true, or which side differs (the type-check error then says so). */
type Matches<S extends v.GenericSchema, Input, Output> = Same<v.InferInput<S>, Input> extends true
  ? Same<v.InferOutput<S>, Output> extends true ? true : "the output type differs from the schema's"
  : "the input type differs from the schema's";

type SchemasMatchTheirTypes = [
  Holds<Matches<typeof data, Data, Data>>,
  Holds<Matches<typeof crop, Crop, Crop>>,
  Holds<Matches<typeof colorJitter, ColorJitter, ColorJitter>>,
  Holds<Matches<typeof blur, Blur, Blur>>,
  Holds<Matches<typeof aug, Aug, Aug>>,
  Holds<Matches<typeof view, View, View>>,
  Holds<Matches<typeof mlp, MlpInput, Mlp>>,
  Holds<Matches<typeof cnn, CnnInput, Cnn>>,
  Holds<Matches<typeof resnet18, ResNet18Input, ResNet18>>,
  Holds<Matches<typeof seq, Seq, Seq>>,
  Holds<Matches<typeof anyModule, ModuleInput, Module>>,
  Holds<Matches<typeof tau, TauInput, Tau>>,
  Holds<Matches<typeof ema, EmaInput, Ema>>,
  Holds<Matches<typeof branch, BranchInput, Branch>>,
  Holds<Matches<typeof queue, Queue, Queue>>,
  Holds<Matches<typeof lossNode, LossNode, LossNode>>,
  Holds<Matches<typeof lars, LarsInput, Lars>>,
  Holds<Matches<typeof sgd, SgdInput, Sgd>>,
  Holds<Matches<typeof adamw, AdamWInput, AdamW>>,
  Holds<Matches<typeof optimizer, OptimizerInput, Optimizer>>,
  Holds<Matches<typeof schedule, ScheduleInput, Schedule>>,
  Holds<Matches<typeof evaluation, EvalInput, Eval>>,
  Holds<Matches<typeof pipelineSpec, PipelineSpecInput, PipelineSpec>>,
];

// The spec's types, written out. dsl/schema.ts checks a spec's form at run time; these are the
// same shapes for the compiler and the editor. They are spelled out (not inferred from the
// schema) so that the published package has explicit types (JSR's "no slow types") and so that
// each field's documentation sits where an editor shows it. schema.ts asserts, at type-check
// time, that every type here is exactly the one valibot infers from its schema: change one
// without the other and `deno check` fails.
//
// Two families: the validated spec (`PipelineSpec` and its parts; every field with a default is
// filled in) and what a JSON file or a hand-written object may contain (`PipelineSpecInput` and
// the `…Input` parts; fields with a default may be left out). Parts without defaults are the
// same in both and have one type.
import type { SPEC_VERSION } from "./schema.ts";

// ---------------------------------------------------------------------------------- data

/** The dataset to stream and optional caps on its size. */
export interface Data {
  /**
   * the data set: 'fashion-mnist', 'synthetic', a kind with its folder ('mnist:<dir>',
   * 'cifar10:<dir>', 'cifar100:<dir>', 'fashion-mnist:<dir>') or an image folder. A spec read
   * from a file names the kind only; the folder comes from the command line (--data).
   */
  name: string;
  /** use only the first N training images (quick runs) */
  trainLimit?: number;
  /** use only the first N test images */
  testLimit?: number;
  /**
   * train on the images of this class only (index, or name where the data set names its
   * classes), for the one-class anomaly protocol; the test split stays whole. Applied after
   * trainLimit. Such a run is evaluated by the class's anomaly AUROC, not by kNN or linear.
   */
  oneClass?: number | string;
}

// ------------------------------------------------------------------------- augmentation

/** Random resized crop to size×size. */
export interface Crop {
  /** output side S in pixels: the view is S×S */
  size: number;
  /** [min, max] fraction of the image area kept (RandomResizedCrop scale), in (0, 1] */
  scale: [number, number];
  /** [min, max] aspect ratio w/h of the crop, e.g. [3/4, 4/3] */
  ratio: [number, number];
}

/** Color jitter: brightness, contrast, saturation and hue, applied in random order. */
export interface ColorJitter {
  /** max relative change of brightness: factor drawn from [1−x, 1+x] */
  brightness: number;
  /** max relative change of contrast: factor drawn from [1−x, 1+x] */
  contrast: number;
  /** max relative change of saturation: factor drawn from [1−x, 1+x] */
  saturation: number;
  /** max hue shift, a fraction of the color wheel in [0, 0.5] */
  hue: number;
  /** probability of applying the jitter at all */
  p: number;
}

/** Gaussian blur. */
export interface Blur {
  /** probability of blurring */
  p: number;
  /** [min, max] of the Gaussian σ in pixels, drawn per image */
  sigma: [number, number];
  /** kernel side in pixels (odd), ≈ image size / 10 */
  kernel: number;
}

/** One view's augmentation recipe. A missing op is not applied. */
export interface Aug {
  /** random resized crop; without it the view keeps the dataset's image size */
  crop?: Crop;
  /** probability of a horizontal flip */
  flip?: number;
  /** color jitter */
  colorJitter?: ColorJitter;
  /** probability of converting to grayscale */
  grayscale?: number;
  /** Gaussian blur */
  blur?: Blur;
  /** probability of solarizing (pixels ≥ 0.5 become 1 − x) */
  solarize?: number;
}

/** A named view: one augmentation of the batch. */
export interface View {
  /** how branches refer to this view */
  name: string;
  /** its augmentation recipe */
  aug: Aug;
}

// ------------------------------------------------------------------------------ modules

/** Linear layers (+BN, +ReLU). Output width: the last of `widths`. */
export interface Mlp {
  /** the module kind (the tag of {@link Module}) */
  kind: "mlp";
  /** expected input width; inferred from the previous module when absent, checked when given */
  in?: number;
  /** output width of each Linear layer, in order; the last one is the module's output width */
  widths: number[];
  /** Linear layers have a bias (redundant when a BN follows); default true */
  bias: boolean;
  /** BatchNorm after every hidden Linear (all but the last); default true */
  bn: boolean;
  /** ReLU after every hidden layer; default true */
  relu: boolean;
  /** BatchNorm after the last Linear too (SimSiam projector, encoders); default false */
  lastBn: boolean;
  /** that last BatchNorm has learnable γ, β (SimSiam's has not); default true */
  lastBnAffine: boolean;
  /** ReLU after the last layer too (encoders whose output is a feature vector); default false */
  lastRelu: boolean;
}

/** Conv stages then global average pooling. Output width: the last of `channels`. */
export interface Cnn {
  /** the module kind (the tag of {@link Module}) */
  kind: "cnn";
  /** output channels of each stage: conv k×k (stride 1, same padding) → BN → ReLU → 2×2 max-pool */
  channels: number[];
  /** conv kernel side (odd); default 3 */
  kernel: number;
  /** BatchNorm after each conv; default true */
  bn: boolean;
  /** 2×2 max-pool after each stage (while the map is at least 2×2); default true */
  pool: boolean;
}

/** The ResNet-18 trunk. Output width: 8·width. */
export interface ResNet18 {
  /** the module kind (the tag of {@link Module}) */
  kind: "resnet18";
  /** channels of the first stage (64 in the paper); the output width is 8·width; default 64 */
  width: number;
  /**
   * 'cifar': 3×3 stride-1 stem, no max-pool (small images); 'imagenet': 7×7 stride-2 + 3×3
   * stride-2 max-pool (views of 64 px and more); default 'cifar'
   */
  stem: "cifar" | "imagenet";
}

/** A named list of other modules. Output width: its last module's. */
export interface Seq {
  /** the module kind (the tag of {@link Module}) */
  kind: "seq";
  /** other modules applied in order; shares their weights (a name for a common sub-path) */
  path: string[];
}

/** A named parameterized sub-graph; one parameter set per module name. */
export type Module = Mlp | Cnn | ResNet18 | Seq;

// ----------------------------------------------------------------------------- branches

/** The EMA coefficient τ over the run. */
export interface Tau {
  /** τ at step 0 (0.99 short runs … 0.996 BYOL … 0.999 MoCo) */
  base: number;
  /** τ at the last step, reached by the cosine schedule (ignored when 'const'); default 1 */
  final: number;
  /**
   * 'cosine': τ = final − (final − base)(cos(π·step/total) + 1)/2 (base at step 0, final at the
   * end); 'const': τ = base; default 'cosine'
   */
  schedule: "cosine" | "const";
}

/** Evaluate a branch with an EMA copy of another branch's parameters. */
export interface Ema {
  /** the branch whose modules' parameters are averaged */
  of: string;
  /** the EMA coefficient's schedule */
  tau: Tau;
}

/** One view pushed through a path of modules: a [batch, D] tensor the loss can name. */
export interface Branch {
  /** how the loss refers to this branch's output */
  name: string;
  /** the view fed in */
  view: string;
  /** module names applied in order */
  path: string[];
  /** no gradient flows back through this branch's output; default false */
  stopGrad: boolean;
  /** evaluate with an EMA copy of branch `of`'s parameters (the momentum / target network) */
  ema?: Ema;
}

/** A persistent FIFO of a branch's detached, L2-normalized outputs. */
export interface Queue {
  /** how the loss refers to the queue's contents, a [size, D] matrix */
  name: string;
  /** the branch whose (detached) outputs are enqueued after each step */
  of: string;
  /** number of stored rows: a multiple of the batch */
  size: number;
}

// --------------------------------------------------------------------------------- loss

/**
 * A loss expression: a number (constant), a string (a branch or queue name: its output, a
 * [rows, D] matrix), or a node.
 *
 * Numerical constants are part of the language (not fields) so a spec means one thing:
 * standardize divides by sqrt(biased variance + 1e-5) (BatchNorm1d without affine, as in the
 * Barlow Twins code); normalize divides by max(‖x‖₂, 1e-12) (F.normalize); cosine
 * similarities use normalize; VICReg uses std = sqrt(unbiased var + 1e-4), hinge max(0, 1 − std)
 * averaged over features, covariance with 1/(N−1) and Σ_{i≠j} cov_ij² / D per branch.
 */
export type Expr = number | string | LossNode;

/** A node of a loss expression: a library loss of two operands `a`, `b`, or a primitive. */
export type LossNode =
  /** Σ(1−C_ii)² + λ Σ_{i≠j} C_ij², C = standardized(a)ᵀ standardized(b) / N; lambda 'mean' = 1/(D−1) */
  | { op: "barlowTwins"; a: Expr; b: Expr; lambda: number | "mean" }
  /** NT-Xent (SimCLR): over the 2N rows of a and b, −log softmax of cos/temperature at each row's partner, self excluded; mean */
  | { op: "ntXent"; a: Expr; b: Expr; temperature: number }
  /** InfoNCE (MoCo): row i of a, cos/temperature, against its positive b_i and the negatives' rows (default: the other rows of b); mean of −log softmax */
  | { op: "infoNCE"; a: Expr; b: Expr; temperature: number; negatives?: Expr }
  /** BYOL regression: mean over rows of 2 − 2·cos(a_i, b_i) */
  | { op: "byol"; a: Expr; b: Expr }
  /** SimSiam: mean over rows of −cos(a_i, b_i) */
  | { op: "simsiam"; a: Expr; b: Expr }
  /** VICReg: sim·MSE(a, b) + var·(hinge(a) + hinge(b))/2 + cov·(offcov(a) + offcov(b)) (official code) */
  | { op: "vicreg"; a: Expr; b: Expr; sim: number; var: number; cov: number }
  /** mean((âᵀ b̂ − I)²) over the D×D entries, â, b̂ = columns L2-normalized along the batch (docs/lambda_free.md, "Samples or features") */
  | { op: "featureSimMSE"; a: Expr; b: Expr }
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
  /** exp(x) / Σ exp(x) along `axis` (1: each row becomes a distribution, as a cluster head's assignments) */
  | { op: "softmax"; args: [Expr]; axis: 0 | 1 }
  /** per column: (x − mean over rows) / std over rows (batch-norm without affine) */
  | { op: "standardize"; args: [Expr] }
  /** the n×n identity */
  | { op: "eye"; n: number }
  | { op: "concat"; args: Expr[]; axis: 0 | 1 };

// ---------------------------------------------------------------------------- optimizer

/** LARS: SGD with momentum and a per-layer trust ratio (Barlow Twins, BYOL). */
export interface Lars {
  /** the optimizer kind (the tag of {@link Optimizer}) */
  kind: "lars";
  /** base learning rate at batch 256; effective lr = lr · batch / 256 */
  lr: number;
  /** weight decay; default 0 */
  weightDecay: number;
  /** biases and BN parameters (1-D) get no weight decay (and no LARS adaptation); default true */
  excludeBiasAndNorm: boolean;
  /** modules whose lr ignores the schedule (stays at lr · batch/256): SimSiam's predictor; default [] */
  fixedLr: string[];
  /** base lr of the 1-D parameters when it differs (Barlow Twins: 0.0048 vs 0.2) */
  biasLr?: number;
  /** default 0.9 */
  momentum: number;
  /** trust coefficient η in η‖w‖/‖g + wd·w‖; default 1e-3 */
  eta: number;
  /** clip the adaptive lr at the base lr (solo-learn); default false */
  clip: boolean;
}

/** SGD with (optionally Nesterov) momentum. */
export interface Sgd {
  /** the optimizer kind (the tag of {@link Optimizer}) */
  kind: "sgd";
  /** base learning rate at batch 256; effective lr = lr · batch / 256 */
  lr: number;
  /** weight decay; default 0 */
  weightDecay: number;
  /** biases and BN parameters (1-D) get no weight decay; default true */
  excludeBiasAndNorm: boolean;
  /** modules whose lr ignores the schedule (stays at lr · batch/256): SimSiam's predictor; default [] */
  fixedLr: string[];
  /** default 0.9 */
  momentum: number;
  /** default false */
  nesterov: boolean;
}

/** AdamW: Adam with decoupled weight decay. */
export interface AdamW {
  /** the optimizer kind (the tag of {@link Optimizer}) */
  kind: "adamw";
  /** base learning rate at batch 256; effective lr = lr · batch / 256 */
  lr: number;
  /** decoupled weight decay; default 0 */
  weightDecay: number;
  /** biases and BN parameters (1-D) get no weight decay; default true */
  excludeBiasAndNorm: boolean;
  /** modules whose lr ignores the schedule (stays at lr · batch/256): SimSiam's predictor; default [] */
  fixedLr: string[];
  /** default 0.9 */
  beta1: number;
  /** default 0.999 */
  beta2: number;
  /** default 1e-8 */
  eps: number;
}

/** The per-parameter update rule applied after backward. */
export type Optimizer = Lars | Sgd | AdamW;

/** Per-step lr factor: linear warmup, then cosine (or constant). */
export interface Schedule {
  /** 'cosine': decay to finalFactor·lr at the last step; 'const': stay at lr after warmup */
  kind: "cosine" | "const";
  /** linear warmup from 0, in epochs (fractions allowed); default 0 */
  warmupEpochs: number;
  /** lr factor at the last step of a cosine schedule; default 0.001 */
  finalFactor: number;
}

// --------------------------------------------------------------------------------- eval

/** Evaluation: kNN monitor and linear probe on frozen encoder features. */
export interface Eval {
  /** weighted kNN on L2-normalized encoder features: number of neighbours; default 200 */
  knnK: number;
  /** kNN vote temperature; default 0.1 */
  knnT: number;
  /** kNN monitor every N epochs during training; 0 = only at the end; default 0 */
  every: number;
  /** linear probe epochs (0 = no probe); default 10 */
  linearEpochs: number;
  /** linear probe peak lr (AdamW, cosine to 0 over the probe's steps); default 1e-3 */
  linearLr: number;
  /** linear probe batch; default 256 */
  linearBatch: number;
  /**
   * online linear probe: a linear classifier on the detached encoder features of the training
   * views, trained inside the step from the batch's labels (SGD, lr 0.1), its test top-1 logged
   * at every epoch's end; it changes nothing in the SSL training; default off (absent)
   */
  onlineProbe?: boolean;
}

// --------------------------------------------------------------------------------- spec

/** A validated pipeline spec: every field with a default is filled in (see dsl/schema.ts). */
export interface PipelineSpec {
  /** format version; this build reads SPEC_VERSION */
  version: typeof SPEC_VERSION;
  /** run name: the default run folder is runs/<name> (see RUN_NAME_RE) */
  name: string;
  /** the method family, for reports ('barlowTwins', 'byol', a hybrid's own label) */
  method: string;
  /** the dataset */
  data: Data;
  /** one augmentation pipeline per view, all from the same batch of images */
  views: View[];
  /** named parameterized sub-graphs, shared by every branch that names them */
  modules: { [name: string]: Module };
  /** views pushed through module paths: what the loss names */
  branches: Branch[];
  /** persistent FIFOs of branch outputs (MoCo); default [] */
  queues: Queue[];
  /** the loss expression, evaluated to a scalar */
  loss: Expr;
  /** the update rule */
  optimizer: Optimizer;
  /** the lr schedule */
  schedule: Schedule;
  /** samples per step (per view); ≥ 2 because batch statistics and in-batch negatives need two */
  batch: number;
  /** length of the run in epochs */
  epochs: number;
  /** cap on the total number of optimizer steps */
  steps?: number;
  /** RNG seed */
  seed: number;
  /**
   * arithmetic of the step: "f32" (the default when absent) or "f16-mixed": matmul and conv
   * operands rounded to f16 with f32 accumulation, f32 weights and optimizer state, the loss and
   * its statistics in f32, dynamic loss scaling; needs the adapter's shader-f16 feature
   */
  precision?: "f32" | "f16-mixed";
  /** kNN monitor and linear probe settings; default: all their defaults */
  eval: Eval;
}

// ------------------------------------------------------------------- inputs (JSON files)
//
// Each `…Input` is its validated type with the defaulted fields optional. Written as
// `extends Omit<…>` so the field docs above carry over; the overridden fields repeat theirs.

/** An {@link Mlp} as written: fields with a default may be left out. */
export interface MlpInput extends Omit<Mlp, "bias" | "bn" | "relu" | "lastBn" | "lastBnAffine" | "lastRelu"> {
  /** Linear layers have a bias (redundant when a BN follows); default true */
  bias?: boolean;
  /** BatchNorm after every hidden Linear (all but the last); default true */
  bn?: boolean;
  /** ReLU after every hidden layer; default true */
  relu?: boolean;
  /** BatchNorm after the last Linear too (SimSiam projector, encoders); default false */
  lastBn?: boolean;
  /** that last BatchNorm has learnable γ, β (SimSiam's has not); default true */
  lastBnAffine?: boolean;
  /** ReLU after the last layer too (encoders whose output is a feature vector); default false */
  lastRelu?: boolean;
}

/** A {@link Cnn} as written: fields with a default may be left out. */
export interface CnnInput extends Omit<Cnn, "kernel" | "bn" | "pool"> {
  /** conv kernel side (odd); default 3 */
  kernel?: number;
  /** BatchNorm after each conv; default true */
  bn?: boolean;
  /** 2×2 max-pool after each stage (while the map is at least 2×2); default true */
  pool?: boolean;
}

/** A {@link ResNet18} as written: fields with a default may be left out. */
export interface ResNet18Input extends Omit<ResNet18, "width" | "stem"> {
  /** channels of the first stage (64 in the paper); the output width is 8·width; default 64 */
  width?: number;
  /** 'cifar' (small images) or 'imagenet' (views of 64 px and more); default 'cifar' */
  stem?: "cifar" | "imagenet";
}

/** A {@link Module} as written. */
export type ModuleInput = MlpInput | CnnInput | ResNet18Input | Seq;

/** A {@link Tau} as written: fields with a default may be left out. */
export interface TauInput extends Omit<Tau, "final" | "schedule"> {
  /** τ at the last step, reached by the cosine schedule (ignored when 'const'); default 1 */
  final?: number;
  /** 'cosine' or 'const' (τ = base); default 'cosine' */
  schedule?: "cosine" | "const";
}

/** An {@link Ema} as written. */
export interface EmaInput extends Omit<Ema, "tau"> {
  /** the EMA coefficient's schedule */
  tau: TauInput;
}

/** A {@link Branch} as written: fields with a default may be left out. */
export interface BranchInput extends Omit<Branch, "stopGrad" | "ema"> {
  /** no gradient flows back through this branch's output; default false */
  stopGrad?: boolean;
  /** evaluate with an EMA copy of branch `of`'s parameters (the momentum / target network) */
  ema?: EmaInput;
}

/** The defaulted fields every optimizer shares, as written. */
export interface OptimizerDefaultsInput {
  /** weight decay; default 0 */
  weightDecay?: number;
  /** biases and BN parameters (1-D) get no weight decay (and no LARS adaptation); default true */
  excludeBiasAndNorm?: boolean;
  /** modules whose lr ignores the schedule (stays at lr · batch/256): SimSiam's predictor; default [] */
  fixedLr?: string[];
}

/** A {@link Lars} as written: fields with a default may be left out. */
export interface LarsInput
  extends
    Omit<Lars, "weightDecay" | "excludeBiasAndNorm" | "fixedLr" | "momentum" | "eta" | "clip">,
    OptimizerDefaultsInput {
  /** default 0.9 */
  momentum?: number;
  /** trust coefficient η in η‖w‖/‖g + wd·w‖; default 1e-3 */
  eta?: number;
  /** clip the adaptive lr at the base lr (solo-learn); default false */
  clip?: boolean;
}

/** An {@link Sgd} as written: fields with a default may be left out. */
export interface SgdInput
  extends
    Omit<Sgd, "weightDecay" | "excludeBiasAndNorm" | "fixedLr" | "momentum" | "nesterov">,
    OptimizerDefaultsInput {
  /** default 0.9 */
  momentum?: number;
  /** default false */
  nesterov?: boolean;
}

/** An {@link AdamW} as written: fields with a default may be left out. */
export interface AdamWInput
  extends
    Omit<AdamW, "weightDecay" | "excludeBiasAndNorm" | "fixedLr" | "beta1" | "beta2" | "eps">,
    OptimizerDefaultsInput {
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  eps?: number;
}

/** An {@link Optimizer} as written. */
export type OptimizerInput = LarsInput | SgdInput | AdamWInput;

/** A {@link Schedule} as written: fields with a default may be left out. */
export interface ScheduleInput extends Omit<Schedule, "warmupEpochs" | "finalFactor"> {
  /** linear warmup from 0, in epochs (fractions allowed); default 0 */
  warmupEpochs?: number;
  /** lr factor at the last step of a cosine schedule; default 0.001 */
  finalFactor?: number;
}

/** An {@link Eval} as written: every field has a default. */
export type EvalInput = Partial<Eval>;

/** What a JSON file may contain: a {@link PipelineSpec} whose fields with defaults may be left out. */
export interface PipelineSpecInput
  extends Omit<PipelineSpec, "modules" | "branches" | "queues" | "optimizer" | "schedule" | "eval"> {
  /** named parameterized sub-graphs, shared by every branch that names them */
  modules: { [name: string]: ModuleInput };
  /** views pushed through module paths: what the loss names */
  branches: BranchInput[];
  /** persistent FIFOs of branch outputs (MoCo); default [] */
  queues?: Queue[];
  /** the update rule */
  optimizer: OptimizerInput;
  /** the lr schedule */
  schedule: ScheduleInput;
  /** kNN monitor and linear probe settings; default: all their defaults */
  eval?: EvalInput;
}

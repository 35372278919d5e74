// The methods' reference recipes (docs/recipes.md) as specs, sized by default for a CPU run on
// 28×28 Fashion-MNIST: a small MLP encoder instead of ResNet-18, heads at CIFAR widths or
// below, blur off on small images (aug_recipes.ts), short warmup. Every size is a parameter;
// the defaults live in CPU_DEFAULTS and the per-method head widths below, tuned by
// measurement. Heads, losses and optimizers follow docs/recipes.md.
import {
  adamw,
  add,
  barlowTwins as btLoss,
  branch,
  byol as byolLoss,
  constant,
  cosine,
  ema,
  infoNCE,
  lars,
  log,
  mean,
  mlp,
  mul,
  ntXent,
  pipeline,
  queue,
  sgd,
  simsiam as simsiamLoss,
  softmax,
  sum,
  transpose,
  vicreg as vicregLoss,
} from "./builders.ts";
import { recipeViews } from "./aug_recipes.ts";
import type { Aug, Branch, Eval, Expr, Module, Optimizer, PipelineSpec, Queue, Schedule } from "./schema.ts";

export const CPU_DEFAULTS = {
  data: "fashion-mnist",
  imageSize: 28,
  /** encoder MLP widths (784 → 512 → 512, BN + ReLU after each layer): sized so every
   * pipeline's default run (training + kNN + linear probe, trained and random init) fits in
   * 15 minutes on 2 CPU cores with lavapipe; pass --encoder mlp:1024,1024 on real GPUs */
  encoder: [512, 512],
  batch: 256,
  epochs: 2,
  seed: 0,
};

/** Options shared by every preset; anything left out takes CPU_DEFAULTS or the method's default. */
export interface PresetOptions {
  name?: string;
  data?: string;
  trainLimit?: number;
  testLimit?: number;
  /** crop output side (and the image side the encoder sees) */
  imageSize?: number;
  /** replaces the default MLP encoder */
  encoder?: Module;
  /** projector Linear widths; the last is the embedding width D */
  proj?: number[];
  batch?: number;
  epochs?: number;
  steps?: number;
  seed?: number;
  /** base lr at batch 256 (the method's own default otherwise) */
  lr?: number;
  /** default: a tenth of the run, at most 10 epochs */
  warmupEpochs?: number;
  eval?: Partial<Eval>;
}

/** The default encoder: an MLP whose output is a BN + ReLU feature vector. */
export function defaultEncoder(widths: number[] = CPU_DEFAULTS.encoder): Module {
  return mlp(widths, { bias: false, lastBn: true, lastRelu: true });
}

// ------------------------------------------------------------------------ augmentations

/** Augmentation pairs per recipe family, from the one table in aug_recipes.ts. */
export const augs = {
  /** BYOL / Barlow Twins / VICReg: asymmetric blur (1.0 / 0.1) and solarize (0 / 0.2) */
  byol: (size: number): [Aug, Aug] => recipeViews("byol", size),
  /** SimCLR: strength-1 jitter (0.8, 0.8, 0.8, 0.2), blur 0.5 on big images */
  simclr: (size: number): [Aug, Aug] => recipeViews("simclr", size),
  /** MoCo v2 / SimSiam: crop scale from 0.2, jitter (0.4, 0.4, 0.4, 0.1) */
  moco: (size: number): [Aug, Aug] => recipeViews("moco", size),
  /** Contrastive Clustering: SimCLR's views at jitter strength 0.5, (0.4, 0.4, 0.4, 0.1) */
  cc: (size: number): [Aug, Aug] => recipeViews("cc", size),
};

// -------------------------------------------------------------------------------- shared

interface Method {
  method: string;
  name: string;
  augs: [Aug, Aug];
  projector: Module;
  predictor?: Module;
  /** further heads on the encoder, by module name (Contrastive Clustering's cluster head) */
  heads?: Record<string, Module>;
  branches: Branch[];
  queues?: Queue[];
  loss: Expr;
  optimizer: Optimizer;
  /** default: warmup for a tenth of the run (at most 10 epochs), then cosine to 0.001× */
  schedule?: Schedule;
}

function assemble(o: PresetOptions, m: Method): PipelineSpec {
  const epochs = o.epochs ?? CPU_DEFAULTS.epochs;
  const modules: Record<string, Module> = { encoder: o.encoder ?? defaultEncoder(), projector: m.projector };
  if (m.predictor) modules.predictor = m.predictor;
  Object.assign(modules, m.heads);
  return pipeline({
    name: o.name ?? m.name,
    method: m.method,
    data: { name: o.data ?? CPU_DEFAULTS.data, trainLimit: o.trainLimit, testLimit: o.testLimit },
    views: [{ name: "v1", aug: m.augs[0] }, { name: "v2", aug: m.augs[1] }],
    modules,
    branches: m.branches,
    queues: m.queues,
    loss: m.loss,
    optimizer: m.optimizer,
    schedule: m.schedule ?? cosine(o.warmupEpochs ?? Math.min(10, epochs / 10), 0.001),
    batch: o.batch ?? CPU_DEFAULTS.batch,
    epochs,
    steps: o.steps,
    seed: o.seed ?? CPU_DEFAULTS.seed,
    eval: o.eval,
  });
}

const size = (o: PresetOptions) => o.imageSize ?? CPU_DEFAULTS.imageSize;
const last = (w: number[]) => w[w.length - 1];
/** Two views through the same encoder → projector, both trained (BT, VICReg, SimCLR). */
const twinBranches = () => [branch("z1", "v1", ["encoder", "projector"]), branch("z2", "v2", ["encoder", "projector"])];
const half = (x: Expr) => mul(0.5, x);

// ------------------------------------------------------------------------------ presets

export interface BarlowOptions extends PresetOptions {
  /** off-diagonal weight; 'mean' = 1/(D−1), the λ-free loss (docs/lambda_free.md) */
  lambda?: number | "mean";
}

/** Barlow Twins: projector Linear(no bias)+BN+ReLU hidden layers, LARS 0.2 / biases 0.0048. */
function barlowTwins(o: BarlowOptions = {}): PipelineSpec {
  return assemble(o, {
    method: "barlowTwins",
    name: "barlow",
    augs: augs.byol(size(o)),
    projector: mlp(o.proj ?? [2048, 2048], { bias: false }),
    branches: twinBranches(),
    loss: btLoss("z1", "z2", o.lambda ?? 0.0051),
    optimizer: lars({ lr: o.lr ?? 0.2, biasLr: 0.0048, weightDecay: 1e-4, momentum: 0.9, eta: 1e-3 }),
  });
}

/** The λ-free Barlow Twins (docs/lambda_free.md): λ = 1/(D−1), i.e. the off-diagonal mean per row. */
function barlowMean(o: PresetOptions = {}): PipelineSpec {
  const spec = barlowTwins({ ...o, name: o.name ?? "barlow-mean", lambda: "mean" });
  return { ...spec, method: "barlowMean" };
}

export interface ContrastiveOptions extends PresetOptions {
  temperature?: number;
}

/** SimCLR: NT-Xent over 2N samples, projector 2048 → 128 with BN + ReLU, LARS. */
function simclr(o: ContrastiveOptions = {}): PipelineSpec {
  return assemble(o, {
    method: "simclr",
    name: "simclr",
    augs: augs.simclr(size(o)),
    projector: mlp(o.proj ?? [2048, 128]),
    branches: twinBranches(),
    loss: ntXent("z1", "z2", o.temperature ?? 0.5),
    optimizer: lars({ lr: o.lr ?? 0.3, weightDecay: 1e-6, momentum: 0.9, eta: 1e-3 }),
  });
}

export interface MocoOptions extends ContrastiveOptions {
  /** queue length K (rounded to a multiple of the batch) */
  queue?: number;
  /** momentum of the key encoder (constant) */
  tau?: number;
}

/** MoCo v2, symmetric: queries q1, q2; keys k1, k2 from an EMA key encoder; FIFO queue of k2. */
function mocoV2(o: MocoOptions = {}): PipelineSpec {
  const batch = o.batch ?? CPU_DEFAULTS.batch;
  const k = Math.max(1, Math.round((o.queue ?? 4096) / batch)) * batch;
  const key = ema("q1", o.tau ?? 0.99, { schedule: "const" });
  const t = o.temperature ?? 0.2;
  return assemble(o, {
    method: "mocoV2",
    name: "moco-v2",
    augs: augs.moco(size(o)),
    projector: mlp(o.proj ?? [2048, 128]),
    branches: [
      branch("q1", "v1", ["encoder", "projector"]),
      branch("q2", "v2", ["encoder", "projector"]),
      branch("k1", "v1", ["encoder", "projector"], { ema: key }),
      branch("k2", "v2", ["encoder", "projector"], { ema: key }),
    ],
    queues: [queue("keys", "k2", k)],
    loss: add(
      half(infoNCE("q1", "k2", { temperature: t, negatives: "keys" })),
      half(infoNCE("q2", "k1", { temperature: t, negatives: "keys" })),
    ),
    optimizer: sgd({ lr: o.lr ?? 0.06, weightDecay: 5e-4, momentum: 0.9 }),
  });
}

export interface PredictorOptions extends PresetOptions {
  /** predictor Linear widths; the last must equal the projector's output width */
  pred?: number[];
}

export interface ByolOptions extends PredictorOptions {
  /** τ at step 0, cosine to 1 */
  tau?: number;
}

/** The four branches of a symmetrized predictor method: online p1, p2 and targets t1, t2. */
function predictorBranches(target: { stopGrad?: boolean; ema?: ReturnType<typeof ema> }): Branch[] {
  const online = ["encoder", "projector", "predictor"];
  return [
    branch("p1", "v1", online),
    branch("p2", "v2", online),
    branch("t1", "v1", ["encoder", "projector"], target),
    branch("t2", "v2", ["encoder", "projector"], target),
  ];
}

/** BYOL: predictor + EMA target (τ cosine 0.99 → 1 for short runs), 2 − 2cos symmetrized. */
function byol(o: ByolOptions = {}): PipelineSpec {
  const proj = o.proj ?? [2048, 256];
  return assemble(o, {
    method: "byol",
    name: "byol",
    augs: augs.byol(size(o)),
    projector: mlp(proj),
    predictor: mlp(o.pred ?? [2048, last(proj)], { in: last(proj) }),
    branches: predictorBranches({ ema: ema("p1", o.tau ?? 0.99) }),
    loss: add(byolLoss("p1", "t2"), byolLoss("p2", "t1")),
    // BYOL paper's LARS (lr 0.2 per 256, η 1e-3, wd 1.5e-6, no clipping): with solo-learn's
    // (lr 1, η 0.02, clipped) the default 2-epoch run collapsed to an effective rank of ~3 in
    // both this engine and the PyTorch export; with this one the rank stays ~36 (README)
    optimizer: lars({ lr: o.lr ?? 0.2, weightDecay: 1.5e-6, momentum: 0.9, eta: 1e-3, clip: false }),
  });
}

/** SimSiam: predictor (bottleneck) + stopGrad, no EMA; last projector BN without affine; fixed predictor lr. */
function simsiam(o: PredictorOptions = {}): PipelineSpec {
  const proj = o.proj ?? [2048, 2048];
  return assemble(o, {
    method: "simsiam",
    name: "simsiam",
    augs: augs.moco(size(o)),
    projector: mlp(proj, { bias: false, lastBn: true, lastBnAffine: false }),
    predictor: mlp(o.pred ?? [512, last(proj)], { in: last(proj), bias: false }),
    branches: predictorBranches({ stopGrad: true }),
    loss: add(half(simsiamLoss("p1", "t2")), half(simsiamLoss("p2", "t1"))),
    optimizer: sgd({ lr: o.lr ?? 0.05, weightDecay: 5e-4, momentum: 0.9, fixedLr: ["predictor"] }),
  });
}

export interface VicregOptions extends PresetOptions {
  sim?: number;
  var?: number;
  cov?: number;
}

/** VICReg: 25·invariance + 25·variance + 1·covariance, LARS with clipping. */
function vicreg(o: VicregOptions = {}): PipelineSpec {
  return assemble(o, {
    method: "vicreg",
    name: "vicreg",
    augs: augs.byol(size(o)),
    projector: mlp(o.proj ?? [2048, 2048], { bias: false }),
    branches: twinBranches(),
    loss: vicregLoss("z1", "z2", { sim: o.sim, var: o.var, cov: o.cov }),
    optimizer: lars({ lr: o.lr ?? 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true }),
  });
}

export interface ClusteringOptions extends PresetOptions {
  /** number of clusters K: the cluster head's output width (10 for Fashion-MNIST's classes) */
  clusters?: number;
  /** cluster head Linear widths before the K-wide output layer */
  clusterHidden?: number[];
  /** instance-level NT-Xent temperature */
  temperature?: number;
  /** cluster-level NT-Xent temperature (over the 2K assignment columns) */
  clusterTemperature?: number;
}

/**
 * Σ_k p_k log p_k = −H(p) of a view's mean assignment p (the column means of its N×K soft
 * assignments `y`): minimising it spreads the batch over all K clusters.
 */
const negEntropyOfMean = (y: Expr) => {
  const p = mean(y, 0);
  return sum(mul(p, log(p)));
};

/**
 * The Contrastive Clustering loss (Li et al. 2021) of instance branches z1, z2 and cluster-head
 * branches c1, c2 (logits [N, K]): with Y_v = softmax(c_v) per row,
 *   L = NT-Xent(z1, z2; tᵢ) + NT-Xent(Y_1ᵀ, Y_2ᵀ; t_c) − H(Y_1) − H(Y_2),
 * the second term contrasting the K assignment columns of the two views (2K rows), H(Y_v) the
 * entropy of the column means. The official code adds the constant 2·log K (it writes
 * log K − H per view), which changes the value, not the gradient; this loss leaves it out.
 */
export function contrastiveClusteringLoss(
  z: [string, string],
  c: [string, string],
  t: { instance: number; cluster: number },
): Expr {
  const [y1, y2] = [softmax(c[0], 1), softmax(c[1], 1)];
  return add(
    ntXent(z[0], z[1], t.instance),
    ntXent(transpose(y1), transpose(y2), t.cluster),
    negEntropyOfMean(y1),
    negEntropyOfMean(y2),
  );
}

/**
 * Contrastive Clustering: one encoder, two heads on both views: the instance projector
 * (Linear-ReLU-Linear, no BN, as the official code) → NT-Xent at 0.5, and the cluster head
 * (Linear-ReLU-Linear to K) whose row softmax is contrasted column-wise at 1.0 with the entropy
 * of the mean assignment. Adam at 3e-4 per 256, no weight decay, constant lr (the official code).
 */
function contrastiveClustering(o: ClusteringOptions = {}): PipelineSpec {
  const k = o.clusters ?? 10;
  const head = (widths: number[]) => mlp(widths, { bn: false });
  const path = (h: string) => ["encoder", h];
  return assemble(o, {
    method: "contrastiveClustering",
    name: "contrastive-clustering",
    augs: augs.cc(size(o)),
    // the encoder's width (512) as hidden layer, as the official heads use the backbone's width
    projector: head(o.proj ?? [512, 128]),
    heads: { clusterHead: head([...(o.clusterHidden ?? [512]), k]) },
    branches: [
      branch("z1", "v1", path("projector")),
      branch("z2", "v2", path("projector")),
      branch("c1", "v1", path("clusterHead")),
      branch("c2", "v2", path("clusterHead")),
    ],
    loss: contrastiveClusteringLoss(["z1", "z2"], ["c1", "c2"], {
      instance: o.temperature ?? 0.5,
      cluster: o.clusterTemperature ?? 1.0,
    }),
    optimizer: adamw({ lr: o.lr ?? 3e-4, weightDecay: 0 }),
    schedule: constant(o.warmupEpochs ?? 0),
  });
}

/** The reference recipes by name; each takes its options and returns a validated spec. */
export const presets = { barlowTwins, barlowMean, simclr, mocoV2, byol, simsiam, vicreg, contrastiveClustering };
export type PresetName = keyof typeof presets;

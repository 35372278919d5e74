// Linear probe (docs/recipes.md, "Evaluation protocols"): a linear classifier trained on frozen
// features, top-1 on the test split. Features are standardised with the train split's
// per-dimension mean and std (host, float64), then a compiled training step does
// logits = x·W + b, loss = mean(logsumexp(logits) − Σ logits ⊙ onehot), autodiff, and an
// optimizer rule from step/optim.ts (AdamW or SGD+momentum, cosine lr per step). Minibatches
// are uploaded per step; the loss is summed on the GPU and read once per epoch.
import { compileFor } from "../runtime/compile_for.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { Executable } from "../runtime/executable.ts";
import { adamScalars, applyOptimizer, type OptimizerConfig } from "../step/optim.ts";
import { lrAt } from "../step/schedule.ts";
import type { Eval } from "../dsl/schema.ts";
import { checkFeatures, type FeatureSet } from "./features.ts";

export interface ProbeOptions {
  epochs?: number;
  batch?: number;
  /** peak learning rate (cosine decay to 0 over all steps, no warmup) */
  lr?: number;
  weightDecay?: number;
  optimizer?: "adamw" | "sgd";
  /** SGD momentum (default 0.9) */
  momentum?: number;
  /** seed of the weight init and the minibatch order */
  seed?: number;
  /**
   * At least this many optimizer steps: epochs are added when the train split is small. An
   * AdamW step moves a weight by about lr, so 10 epochs of one or two batches at lr 1e-3 leave
   * the probe near its random init and its figure near chance, whatever the features.
   */
  minSteps?: number;
  gpu?: Gpu;
}

export interface ProbeResult {
  top1: number;
  epochs: number;
  seconds: number;
  /** mean training loss of each epoch */
  losses: number[];
}

export const PROBE_DEFAULTS = {
  epochs: 10,
  batch: 256,
  lr: 1e-3,
  weightDecay: 5e-4,
  optimizer: "adamw",
  momentum: 0.9,
  seed: 0,
  minSteps: 0,
} as const;

/** The fewest optimizer steps the evaluation's probe takes (the default run takes 2 340). */
export const EVAL_PROBE_MIN_STEPS = 500;

/** The probe a spec's eval settings ask for, on a train split of `trainImages` images. */
export function probeOptions(e: Eval, trainImages: number): ProbeOptions {
  return {
    epochs: e.linearEpochs,
    batch: Math.min(e.linearBatch, trainImages),
    lr: e.linearLr,
    minSteps: EVAL_PROBE_MIN_STEPS,
  };
}

/** Per-dimension mean and 1/std of the rows of `f` (float64; constant dimensions get 1/std = 1). */
export function standardizer(f: FeatureSet): { mean: Float64Array; invStd: Float64Array } {
  const { n, dim, data } = f;
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sq[j] += (data[i * dim + j] - mean[j]) ** 2;
  const invStd = sq.map((s) => {
    const sd = Math.sqrt(s / n);
    return sd > 1e-8 ? 1 / sd : 1;
  });
  return { mean, invStd };
}

export function standardize(f: FeatureSet, s: { mean: Float64Array; invStd: Float64Array }): Float32Array {
  const out = new Float32Array(f.n * f.dim);
  for (let i = 0; i < f.n; i++) {
    for (let j = 0; j < f.dim; j++) out[i * f.dim + j] = (f.data[i * f.dim + j] - s.mean[j]) * s.invStd[j];
  }
  return out;
}

const W = "probe.weight", B = "probe.bias", LOSS_SUM = "probe.loss_sum";

/** The compiled probe: a training step on [batch, dim] minibatches and a [chunk, dim] inference. */
export class LinearProbe {
  /** initial parameter values by name (probe.weight [dim, classes], probe.bias [classes]) */
  initial!: Map<string, Float32Array>;
  private t = 0;

  private constructor(
    readonly gpu: Gpu,
    readonly dim: number,
    readonly classes: number,
    readonly batch: number,
    readonly chunk: number,
    readonly cfg: OptimizerConfig,
    private train: Executable,
    private infer: Executable,
  ) {}

  static async create(
    gpu: Gpu,
    dim: number,
    classes: number,
    batch: number,
    chunk: number,
    cfg: OptimizerConfig,
    seed = 0,
  ): Promise<LinearProbe> {
    // PyTorch nn.Linear's default init: U(±1/√dim) for weight and bias
    const init = { kind: "uniform", bound: 1 / Math.sqrt(dim) } as const;

    const g = new Graph();
    const x = g.input("x", [batch, dim]), y = g.input("onehot", [batch, classes]);
    const w = g.param(W, [dim, classes], init), b = g.param(B, [classes], init);
    const logits = x.matmul(w).add(b);
    const loss = logits.logsumexp(1).sub(logits.mul(y).sum([1])).mean();
    const [gw, gb] = grad(g, loss, [w, b]);
    applyOptimizer(g, [{ param: w, grad: gw!, lr: "lr" }, { param: b, grad: gb!, lr: "lr" }], cfg);
    const sum = g.state(LOSS_SUM, [1], { kind: "zeros" });
    g.assign(sum, sum.add(loss.reshape([1])));
    g.output("loss", loss);
    const train = await awaitGpu(Executable.create(gpu, await compileFor(gpu, g)));

    const h = new Graph();
    const xi = h.input("x", [chunk, dim]);
    h.output("logits", xi.matmul(h.state(W, [dim, classes], init)).add(h.state(B, [classes], init)));
    const infer = await awaitGpu(Executable.create(gpu, await compileFor(gpu, h)));

    const probe = new LinearProbe(gpu, dim, classes, batch, chunk, cfg, train, infer);
    probe.initial = train.initPersistent(seed);
    return probe;
  }

  /** one optimizer step on a [batch, dim] minibatch with one-hot targets [batch, classes] */
  step(x: Float32Array, onehot: Float32Array, lr: number): void {
    this.t++;
    this.train.write("x", x);
    this.train.write("onehot", onehot);
    this.train.setScalars({ lr, ...(this.cfg.kind === "adamw" ? adamScalars(this.t, this.cfg) : {}) });
    this.train.run();
  }

  /** the loss of the latest step */
  lastLoss(): Promise<number> {
    return awaitGpu(this.train.read("loss")).then((v) => v[0]);
  }
  async takeLossSum(): Promise<number> {
    const [v] = await awaitGpu(this.train.readMany([[this.train.program.persistent.get(LOSS_SUM)!, 1]]));
    this.train.write(LOSS_SUM, new Float32Array(1));
    return v[0];
  }
  /** current parameter value (probe.weight or probe.bias) */
  param(name: string): Promise<Float32Array> {
    return awaitGpu(this.train.read(name));
  }

  /** argmax class of each of the n rows of x [n, dim] with the current parameters */
  async predict(x: Float32Array, n: number): Promise<Int32Array> {
    this.infer.write(W, await this.param(W));
    this.infer.write(B, await this.param(B));
    const out = new Int32Array(n), pad = new Float32Array(this.chunk * this.dim), C = this.classes;
    for (let s = 0; s < n; s += this.chunk) {
      const rows = Math.min(this.chunk, n - s);
      pad.fill(0).set(x.subarray(s * this.dim, (s + rows) * this.dim));
      this.infer.write("x", pad);
      this.infer.run();
      const logits = await awaitGpu(this.infer.read("logits"));
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
        out[s + r] = best;
      }
    }
    return out;
  }

  destroy(): void {
    this.train.destroy();
    this.infer.destroy();
  }
}

/** mulberry32: the minibatch order, deterministic in the seed */
function shuffled(n: number, seed: number): Int32Array {
  let a = (seed ^ 0x5bd1e995) >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Train a linear probe on `train` features and report top-1 on `test`. */
export async function linearProbe(train: FeatureSet, test: FeatureSet, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const t0 = performance.now();
  checkFeatures(train, "linear probe train features");
  checkFeatures(test, "linear probe test features");
  if (train.dim !== test.dim) {
    throw new Error(`linear probe: train features have dim ${train.dim}, test features ${test.dim}`);
  }
  const o = { ...PROBE_DEFAULTS, ...opts };
  if (!Number.isInteger(o.epochs) || o.epochs < 1) {
    throw new Error(`linear probe: epochs = ${o.epochs} must be a positive integer`);
  }
  if (!Number.isInteger(o.batch) || o.batch < 1) {
    throw new Error(`linear probe: batch = ${o.batch} must be a positive integer`);
  }
  const gpu = opts.gpu ?? await getGpu();
  const dim = train.dim, classes = Math.max(train.classes, test.classes);
  const batch = Math.min(o.batch, train.n), perEpoch = Math.floor(train.n / batch);
  const epochs = Math.max(o.epochs, Math.ceil(o.minSteps / perEpoch)), total = perEpoch * epochs;
  const cfg: OptimizerConfig = o.optimizer === "adamw"
    ? { kind: "adamw", weightDecay: o.weightDecay }
    : { kind: "sgd", momentum: o.momentum, weightDecay: o.weightDecay };

  const st = standardizer(train);
  const xs = standardize(train, st), xt = standardize(test, st);
  const probe = await LinearProbe.create(gpu, dim, classes, batch, Math.min(test.n, 1024), cfg, o.seed);
  try {
    const xb = new Float32Array(batch * dim), yb = new Float32Array(batch * classes);
    const sched = { base: o.lr, warmupSteps: 0, totalSteps: total, finalFactor: 0 };
    const losses: number[] = [];
    let step = 0;
    let inFlight: Promise<undefined> | undefined;
    for (let e = 0; e < epochs; e++) {
      const order = shuffled(train.n, o.seed * 1000003 + e);
      for (let s = 0; s < perEpoch; s++) {
        yb.fill(0);
        for (let r = 0; r < batch; r++) {
          const i = order[s * batch + r];
          xb.set(xs.subarray(i * dim, (i + 1) * dim), r * dim);
          yb[r * classes + train.labels[i]] = 1;
        }
        probe.step(xb, yb, lrAt(sched, step++));
        // keep at most ~two groups of steps queued: bounded staging memory, GPU never idle
        if (step % 32 === 0) {
          if (inFlight) await awaitGpu(inFlight);
          inFlight = gpu.device.queue.onSubmittedWorkDone();
        }
      }
      if (inFlight) await awaitGpu(inFlight);
      inFlight = undefined;
      losses.push((await probe.takeLossSum()) / perEpoch);
    }
    const pred = await probe.predict(xt, test.n);
    let correct = 0;
    for (let i = 0; i < test.n; i++) if (pred[i] === test.labels[i]) correct++;
    return { top1: correct / test.n, epochs, seconds: (performance.now() - t0) / 1000, losses };
  } finally {
    probe.destroy();
  }
}

// The training step's scalars (TrainingScalars), from the spec: what each per-step scalar is and
// how it follows the step index, declared in a ScalarPlan (scalar_plan.ts). The forward graph asks
// for the scalars it needs (τ of an EMA, a queue's write position, a parameter's learning rate)
// and gets their names; the runtime packs their values. Also the run's length (RunGeometry).
import type { PipelineSpec, Tau } from "../dsl/schema.ts";
import { RNG_SEED, RNG_STEP } from "../kernels/op.ts";
import { adamScalars, type OptimizerConfig } from "./optim.ts";
import { ScalarPlan } from "./scalar_plan.ts";
import { lrAt, tauAt } from "./schedule.ts";

/** How long the run is: what the schedules need besides the step index. */
export interface RunGeometry {
  stepsPerEpoch: number;
  totalSteps: number;
}

export function stepsPerEpoch(spec: PipelineSpec, nTrain: number): number {
  const spe = Math.floor(nTrain / spec.batch);
  if (spe < 1) throw new Error(`batch ${spec.batch} is larger than the ${nTrain} training images`);
  return spe;
}

export function runGeometry(spec: PipelineSpec, nTrain: number): RunGeometry {
  const spe = stepsPerEpoch(spec, nTrain);
  const all = spec.epochs * spe;
  return { stepsPerEpoch: spe, totalSteps: spec.steps ? Math.min(spec.steps, all) : all };
}

/** The optimizer rule's settings as the spec states them. */
export function optimizerConfig(spec: PipelineSpec): OptimizerConfig {
  const o = spec.optimizer;
  switch (o.kind) {
    case "lars":
      return {
        kind: "lars",
        momentum: o.momentum,
        eta: o.eta,
        weightDecay: o.weightDecay,
        excludeBiasAndNorm: o.excludeBiasAndNorm,
        clip: o.clip,
      };
    case "sgd":
      return {
        kind: "sgd",
        momentum: o.momentum,
        nesterov: o.nesterov,
        weightDecay: o.weightDecay,
        excludeBiasAndNorm: o.excludeBiasAndNorm,
      };
    case "adamw":
      return {
        kind: "adamw",
        betas: [o.beta1, o.beta2],
        eps: o.eps,
        weightDecay: o.weightDecay,
        excludeBiasAndNorm: o.excludeBiasAndNorm,
      };
  }
}

export class TrainingScalars {
  readonly plan: ScalarPlan<RunGeometry> = new ScalarPlan();
  /** the RNG key of augmentations and the step counter they are drawn at (u32) */
  readonly seed: string;
  readonly step: string;
  /** the epoch whose shuffle the batch comes from (u32) */
  readonly dataEpoch: string;

  constructor(private spec: PipelineSpec) {
    const p = this.plan;
    this.seed = p.declare(RNG_SEED, "u32", () => spec.seed);
    this.step = p.declare(RNG_STEP, "u32", (s) => s);
    this.dataEpoch = p.declare("data_epoch", "u32", (s, r) => Math.floor(s / r.stepsPerEpoch));
  }

  /**
   * The position of the batch's first row (u32): in the epoch's shuffle, or, for data streamed
   * to the device in chunks of `chunkSteps` steps' rows, in the current chunk.
   */
  dataFirst(chunkSteps?: number): string {
    const batch = this.spec.batch;
    return this.plan.declare("data_first", "u32", (s, r) => ((s % r.stepsPerEpoch) % (chunkSteps ?? Infinity)) * batch);
  }

  private lrSchedule(base: number, r: RunGeometry) {
    const s = this.spec.schedule;
    return {
      base: base * (this.spec.batch / 256),
      warmupSteps: Math.round(s.warmupEpochs * r.stepsPerEpoch),
      totalSteps: r.totalSteps,
      finalFactor: s.kind === "cosine" ? s.finalFactor : 1,
    };
  }

  /** The lr scalar a parameter reads: modules with a fixed lr, 1-D params with their own lr, the rest. */
  lr(param: string, rank: number): string {
    const o = this.spec.optimizer;
    if ((o.fixedLr ?? []).some((m) => param.startsWith(`${m}.`))) {
      return this.plan.declare("lr_fixed", "f32", () => o.lr * (this.spec.batch / 256));
    }
    if (o.kind === "lars" && o.biasLr !== undefined && rank <= 1) {
      const base = o.biasLr;
      return this.plan.declare("lr_bias", "f32", (s, r) => lrAt(this.lrSchedule(base, r), s));
    }
    return this.mainLr();
  }

  /** The scheduled lr of most parameters (also what metrics log as `lr`). */
  mainLr(): string {
    return this.plan.declare("lr", "f32", (s, r) => lrAt(this.lrSchedule(this.spec.optimizer.lr, r), s));
  }

  /** AdamW's bias corrections 1 − β^t at t = step + 1. */
  adamCorrections(): [string, string] {
    const cfg = optimizerConfig(this.spec);
    return [
      this.plan.declare("adam_bc1", "f32", (s) => adamScalars(s + 1, cfg).adam_bc1),
      this.plan.declare("adam_bc2", "f32", (s) => adamScalars(s + 1, cfg).adam_bc2),
    ];
  }

  /** τ of the EMA of branch `of`: from base to final along the cosine over the run (or constant). */
  tau(of: string, t: Tau): string {
    return this.plan.declare(
      `tau_${of}`,
      "f32",
      (s, r) =>
        t.schedule === "const" ? t.base : t.final - (t.final - t.base) * (1 - tauAt(0, s, r.totalSteps, "cosine")),
    );
  }

  /** The FIFO write position of a queue of `rows` rows fed `batch` rows per step (u32). */
  queuePointer(queue: string, rows: number): string {
    return this.plan.declare(`queue_${queue}_ptr`, "u32", (s) => (s * this.spec.batch) % rows);
  }
}

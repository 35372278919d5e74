// The λ-free study's plan: one validated Barlow Twins spec per (D, λ, optimizer), all under the
// same step budget (with --seeds, one per seed, laid out as a pipeline's --seeds lays them out),
// and the device memory each run's compiled step needs.
import { join } from "node:path";
import { barlowTwins, lars, sgd } from "../../dsl/builders.ts";
import { FlagError, parseFlags } from "../../dsl/cli.ts";
import { presets } from "../../dsl/presets.ts";
import { datasetImageShape } from "../../data/names.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { graphIssues, validateSpec } from "../../step/validate.ts";
import { buildStep } from "../../step/build.ts";
import { seedFolder } from "../../run/seeds.ts";
import type { Lambda, OptKind, StudyOptions } from "./options.ts";

export interface RunConfig {
  key: string;
  d: number;
  lambda: Lambda;
  optimizer: OptKind;
  /** runs/<key>: the configuration's run, or with --seeds the folder of its seeds' runs and their summary */
  dir: string;
  /** the configuration at the preset's seed */
  spec: PipelineSpec;
  /** its runs: one per --seeds seed (runs/<key>/seed-N), else the one in `dir` with `spec` */
  seeds: SeedConfig[];
}

export interface SeedConfig {
  seed: number;
  dir: string;
  spec: PipelineSpec;
}

export const lambdaLabel = (l: Lambda) => (l === "mean" ? "1/(D−1)" : String(l));
export const lambdaKey = (l: Lambda) => (l === "mean" ? "mean" : String(l));

/** The preset after the pass-through flags (the study's image limits are set per run). */
export function baseSpec(o: StudyOptions): PipelineSpec {
  return parseFlags(o.passThrough, presets.barlowTwins({ name: "lambda-free", data: o.data }), { graphIssues }).spec;
}

/** One run's spec: projector D×layers, the λ, the optimizer, the budget with warmup + cosine. */
export function configSpec(base: PipelineSpec, o: StudyOptions, d: number, lambda: Lambda, opt: OptKind): PipelineSpec {
  const spe = Math.floor(o.trainLimit / base.batch);
  if (spe < 1) throw new FlagError("--train-limit", `${o.trainLimit} images make no batch of ${base.batch}`);
  const proj = base.modules.projector;
  if (proj?.kind !== "mlp") throw new Error("lambda-free: the projector must be an mlp");
  const wd = base.optimizer.weightDecay;
  const optimizer = opt === "lars"
    ? lars({ lr: o.larsLr, biasLr: 0.0048, weightDecay: wd, momentum: 0.9, eta: 1e-3 })
    : sgd({ lr: o.sgdLr, weightDecay: wd, momentum: 0.9 });
  return validateSpec({
    ...base,
    name: `lambda-free-D${d}-${lambdaKey(lambda)}-${opt}`,
    method: lambda === "mean" ? "barlowMean" : "barlowTwins",
    modules: { ...base.modules, projector: { ...proj, widths: Array(o.projLayers).fill(d) } },
    data: { name: o.data, trainLimit: o.trainLimit, testLimit: o.testLimit },
    // kNN cannot use more neighbours than there are training images (small test studies)
    eval: { ...base.eval, knnK: Math.min(base.eval.knnK, o.trainLimit) },
    loss: barlowTwins("z1", "z2", lambda),
    optimizer,
    schedule: { kind: "cosine", warmupEpochs: (o.warmupFrac * o.budgetSteps) / spe, finalFactor: 0.001 },
    epochs: Math.ceil(o.budgetSteps / spe),
    steps: o.budgetSteps,
  });
}

/** Every configuration, widths first so early results cover every (λ, optimizer). */
export function planRuns(o: StudyOptions, base = baseSpec(o)): RunConfig[] {
  const runs: RunConfig[] = [];
  for (const d of o.dims) {
    for (const opt of o.optimizers) {
      for (const lambda of o.lambdas) {
        const key = `D${d}-${lambdaKey(lambda)}-${opt}`;
        const dir = join(o.out, "runs", key), spec = configSpec(base, o, d, lambda, opt);
        const seeds = o.seeds
          ? o.seeds.map((seed) => ({ seed, dir: seedFolder(dir, seed), spec: { ...spec, seed } }))
          : [{ seed: spec.seed, dir, spec }];
        runs.push({ key, d, lambda, optimizer: opt, dir, spec, seeds });
      }
    }
  }
  return runs;
}

/**
 * Device memory the compiled training step needs (all its buffers), from the compiler alone
 * (no GPU): the forward graph and the liveness plan fix it before the first step. Built through
 * the one entry point (step/build.ts) for an adapter without optional features.
 */
export function stepBytes(spec: PipelineSpec): number {
  const [c, h, w] = datasetImageShape(spec.data.name) ?? [3, 32, 32];
  return buildStep(spec, { c, h, w }, { features: { subgroups: false, f16: false } }).program.peakBytes;
}

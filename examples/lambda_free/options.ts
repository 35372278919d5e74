// The λ-free study's options: defaults, the study's own flags, and which pipeline flags pass
// through to every run's Barlow Twins preset. See examples/lambda_free.ts for the study. The
// flags are parsed by the project's one flag parser (dsl/flags.ts).
import { FLAG_NAMES } from "../../dsl/cli.ts";
import {
  badValue as bad,
  FlagError,
  helpRows,
  intValue,
  listValue as list,
  realValue,
  seedsValue,
  splitArgs,
} from "../../dsl/flags.ts";

/**
 * SGD base lr (at batch 256). Measured at initialization on Fashion-MNIST (default encoder,
 * projector D-D, batch 256): the largest per-layer ‖∇W‖/‖W‖ is 15 at D = 128, 33 at D = 512
 * and 82 at D = 2048 (first encoder layer), within 10% between the two λ (at the start the
 * on-diagonal term dominates; λ's share grows as C_ii → 1). 1e-5 moves that layer by 8e-4 of
 * its norm per step at D = 2048 and 1.5e-4 at D = 128, against LARS's uniform lr·η = 2e-4:
 * the same order as LARS, never far above it. Every Linear here feeds a BatchNorm or the
 * loss's standardization, so the loss is invariant to the weights' scale: a larger lr does
 * not give NaN, it collapses the embedding. Probe (D = 2048, λ = 0.0051, 12 steps, effective
 * rank of z after them; LARS 0.2 keeps 198): lr 1e-5 → 195 (λ = 1/(D−1): 187), loss 1690 →
 * 1665; 1e-4 → 153; 1e-3 → 47; 0.05 → 7, with the loss jumping 1690 → 2571 at the first step.
 */
export const SGD_LR = 1e-5;

export type Lambda = number | "mean";
export type OptKind = "lars" | "sgd";

export interface StudyOptions {
  budgetSteps: number;
  dims: number[];
  lambdas: Lambda[];
  optimizers: OptKind[];
  data: string;
  trainLimit: number;
  testLimit: number;
  out: string;
  /** Linear layers of the projector, all of width D */
  projLayers: number;
  larsLr: number;
  sgdLr: number;
  /** linear warmup, as a fraction of the budget */
  warmupFrac: number;
  /**
   * --seeds: every configuration runs once per seed, in runs/<key>/seed-N, and is summarised by
   * the mean ± sample std over them; absent, one run per configuration in runs/<key>
   */
  seeds?: number[];
  fresh: boolean;
  /** write the spec files and print the plan; train nothing */
  dryRun: boolean;
  /** flags for the Barlow Twins preset (--encoder, --batch, --seed, --wd, …) */
  passThrough: string[];
}

export const STUDY_DEFAULTS: Omit<StudyOptions, "passThrough"> = {
  budgetSteps: 60,
  dims: [128, 512, 2048],
  lambdas: [0.0051, "mean"],
  optimizers: ["lars", "sgd"],
  data: "fashion-mnist",
  trainLimit: 10000,
  testLimit: 2000,
  out: "runs/lambda-free",
  projLayers: 2,
  larsLr: 0.2,
  sgdLr: SGD_LR,
  warmupFrac: 0.1,
  fresh: false,
  dryRun: false,
};

// --------------------------------------------------------------------------- flags

interface StudyFlag {
  name: string;
  arg?: string;
  help: string;
  show: (d: typeof STUDY_DEFAULTS) => string;
  apply?: (o: StudyOptions, v: string, flag: string) => void;
}

const posInt = (f: string, s: string) => intValue(f, s, 1);
const posNum = (f: string, s: string) => realValue(f, s, true);

const STUDY_FLAGS: StudyFlag[] = [
  {
    name: "budget-steps",
    arg: "N",
    help: "optimizer steps of every run (the same budget for all)",
    show: (d) => String(d.budgetSteps),
    apply: (o, v, f) => (o.budgetSteps = posInt(f, v)),
  },
  {
    name: "dims",
    arg: "D,D,…",
    help: "projector widths D (add 8192 if memory allows: runs that do not fit are skipped)",
    show: (d) => d.dims.join(","),
    apply: (o, v, f) => {
      o.dims = list(f, v, (p) => posInt(f, p));
      if (o.dims.some((d) => d < 2)) throw bad(f, "widths ≥ 2 (an off-diagonal needs two features)", v);
    },
  },
  {
    name: "lambdas",
    arg: "X,…|mean",
    help: "off-diagonal weights; 'mean' = 1/(D−1)",
    show: (d) => d.lambdas.join(","),
    apply: (o, v, f) => (o.lambdas = list(f, v, (p) => {
      if (p === "mean") return "mean" as const;
      const n = Number(p);
      if (!(n >= 0) || !Number.isFinite(n)) throw bad(f, "numbers ≥ 0 or 'mean'", v);
      return n;
    })),
  },
  {
    name: "optimizers",
    arg: "lars,sgd",
    help: "optimizers to compare",
    show: (d) => d.optimizers.join(","),
    apply: (o, v, f) => (o.optimizers = list(f, v, (p) => {
      if (p !== "lars" && p !== "sgd") throw bad(f, "lars and/or sgd", v);
      return p;
    })),
  },
  {
    name: "data",
    arg: "NAME",
    help: "dataset: a kind or kind:<dir>, e.g. cifar10:<dir> (not an image folder: each run's spec file names a kind)",
    show: (d) => d.data,
    apply: (o, v) => (o.data = v),
  },
  {
    name: "train-limit",
    arg: "N",
    help: "training images",
    show: (d) => String(d.trainLimit),
    apply: (o, v, f) => (o.trainLimit = posInt(f, v)),
  },
  {
    name: "test-limit",
    arg: "N",
    help: "test images (kNN and linear probe)",
    show: (d) => String(d.testLimit),
    apply: (o, v, f) => (o.testLimit = posInt(f, v)),
  },
  { name: "out", arg: "DIR", help: "study folder", show: (d) => d.out, apply: (o, v) => (o.out = v) },
  {
    name: "proj-layers",
    arg: "N",
    help: "projector Linear layers, each D wide (the paper: 3)",
    show: (d) => String(d.projLayers),
    apply: (o, v, f) => (o.projLayers = posInt(f, v)),
  },
  {
    name: "lars-lr",
    arg: "X",
    help: "LARS base lr at batch 256 (biases keep 0.0048)",
    show: (d) => String(d.larsLr),
    apply: (o, v, f) => (o.larsLr = posNum(f, v)),
  },
  {
    name: "sgd-lr",
    arg: "X",
    help: "SGD base lr at batch 256 (momentum 0.9)",
    show: (d) => String(d.sgdLr),
    apply: (o, v, f) => (o.sgdLr = posNum(f, v)),
  },
  {
    name: "warmup-frac",
    arg: "X",
    help: "linear warmup as a fraction of the budget, then cosine",
    show: (d) => String(d.warmupFrac),
    apply: (o, v, f) => {
      const n = Number(v);
      if (!(n >= 0 && n < 1)) throw bad(f, "a fraction in [0, 1)", v);
      o.warmupFrac = n;
    },
  },
  {
    name: "seeds",
    arg: "N,N,…",
    help: "run every configuration once per seed (runs/<key>/seed-N); tables give mean ± sample std (n−1)",
    show: () => "one run, the preset's seed",
    apply: (o, v, f) => (o.seeds = seedsValue(f, v)),
  },
  { name: "fresh", help: "rerun configurations that already have a matching report", show: () => "" },
  { name: "dry-run", help: "write the spec files and print the plan without training", show: () => "" },
  { name: "help", help: "print this list and exit", show: () => "" },
];

/** Pipeline flags the study sets itself per run; passing them through would be ambiguous. */
const OWNED: Record<string, string> = {
  spec: "the study writes one spec per run",
  resume: "finished runs are reused when their report matches",
  steps: "use --budget-steps",
  epochs: "the budget sets the epochs",
  lambda: "use --lambdas",
  proj: "use --dims and --proj-layers",
  lr: "use --lars-lr / --sgd-lr",
  warmup: "use --warmup-frac",
};

/** Study flags, and every other flag kept (in order) for the preset; 'help' when asked. */
export function parseStudyArgs(args: string[]): StudyOptions | "help" {
  const { values, passed } = splitArgs(args, STUDY_FLAGS, {
    passThrough: (name) => {
      if (OWNED[name]) throw new FlagError(`--${name}`, `set by the study for each run (${OWNED[name]})`);
      return FLAG_NAMES.includes(name);
    },
  });
  if (values.has("help")) return "help";
  if (values.has("seeds") && passed.some((a) => a === "--seed" || a.startsWith("--seed="))) {
    throw new FlagError("--seeds", "cannot be combined with --seed (each run takes its seed from the list)");
  }
  const o: StudyOptions = { ...structuredClone(STUDY_DEFAULTS), passThrough: passed };
  o.fresh = values.has("fresh");
  o.dryRun = values.has("dry-run");
  for (const f of STUDY_FLAGS) {
    const v = values.get(f.name);
    if (v !== undefined && f.apply) f.apply(o, v, `--${f.name}`);
  }
  return o;
}

export function studyHelp(): string {
  const rows = helpRows(STUDY_FLAGS, (f) => f.show(STUDY_DEFAULTS));
  return [
    "usage: examples/lambda_free.ts [study flags] [pipeline flags]",
    "Barlow Twins with λ = 0.0051 and λ = 1/(D−1) for each projector width D, LARS and SGD, same step budget.",
    "",
    ...rows,
    "",
    "Other flags go to every run's Barlow Twins preset (see pipelines/barlow.ts --help), e.g.",
    "--encoder mlp:512 --batch 128 --seed 1 --wd 1e-5. Not allowed there: " +
    Object.keys(OWNED).map((k) => "--" + k).join(" "),
    "",
  ].join("\n");
}

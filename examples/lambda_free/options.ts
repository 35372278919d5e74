// The λ-free study's options: defaults, the study's own flags, and which pipeline flags pass
// through to every run's Barlow Twins preset. See examples/lambda_free.ts for the study.
import { FLAG_NAMES, FlagError } from "../../dsl/cli.ts";

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

const bad = (flag: string, what: string, got: string) => new FlagError(flag, `expected ${what}, got '${got}'`);
const posInt = (f: string, s: string) => {
  if (!/^\d+$/.test(s) || Number(s) < 1) throw bad(f, "a positive integer", s);
  return Number(s);
};
const posNum = (f: string, s: string) => {
  const n = Number(s);
  if (s.trim() === "" || !(n > 0) || !Number.isFinite(n)) throw bad(f, "a number > 0", s);
  return n;
};
const list = <T>(f: string, s: string, item: (p: string) => T): T[] => {
  const parts = s.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw bad(f, "a comma-separated list", s);
  return parts.map(item);
};

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
  const o: StudyOptions = { ...structuredClone(STUDY_DEFAULTS), passThrough: [] };
  const byName = new Map(STUDY_FLAGS.map((f) => [f.name, f]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help") return "help";
    if (!a.startsWith("--")) throw new FlagError(a, "unexpected argument (flags start with --; see --help)");
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const flag = byName.get(name);
    if (!flag) {
      if (OWNED[name]) throw new FlagError(`--${name}`, `set by the study for each run (${OWNED[name]})`);
      if (!FLAG_NAMES.includes(name)) throw new FlagError(`--${name}`, "unknown flag (see --help)");
      o.passThrough.push(a);
      if (eq < 0 && i + 1 < args.length && !args[i + 1].startsWith("--")) o.passThrough.push(args[++i]);
      continue;
    }
    if (!flag.arg) {
      if (eq >= 0) throw new FlagError(`--${name}`, "takes no value");
      if (name === "fresh") o.fresh = true;
      if (name === "dry-run") o.dryRun = true;
      continue;
    }
    let v: string;
    if (eq >= 0) v = a.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) v = args[++i];
    else throw new FlagError(`--${name}`, `expected a value (${flag.arg})`);
    flag.apply!(o, v, `--${name}`);
  }
  return o;
}

export function studyHelp(): string {
  const rows = STUDY_FLAGS.map((f) => {
    const left = `  --${f.name}${f.arg ? ` ${f.arg}` : ""}`;
    const def = f.show(STUDY_DEFAULTS);
    return `${left.padEnd(26)} ${f.help}${def ? ` (default: ${def})` : ""}`;
  });
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

// The seed's open question, measured: does the λ-free Barlow Twins loss (λ = 1/(D−1), the
// off-diagonal MEAN of each row) match the searched λ = 0.0051 across projector widths D?
// The two agree only near D ≈ 197; at D = 2048, 1/(D−1) is 10× weaker (SEED.md).
//
// For every (D, λ, optimizer) this trains Barlow Twins under the same budget of optimizer steps
// and evaluates it exactly as a pipeline run does: each configuration is one run of
// pipelines/barlow.ts (runPipeline: train, kNN + linear probe, report.json) on a spec file
// written here, in its own process, so a diverging run (NaN loss) or one that does not fit in
// memory is recorded as such and the study goes on. Outputs in --out:
//   results.json   every run's figures      table.md   kNN / linear tables by D
//   accuracy.svg   kNN and linear top-1 against D, one line per (λ, optimizer)
//   runs/<D…>/     each run's folder (spec.json, report.json, checkpoint, plots)
// A run whose report.json matches its spec's hash is reused (--fresh runs everything again).
//
// Optimizers. LARS (the preset: lr 0.2, biases 0.0048, η = 1e-3) rescales every layer's step
// to η·‖w‖/‖g‖, so the loss scale does not matter and one lr serves both λ. Plain SGD
// (momentum 0.9) steps by lr·g, and the gradient grows with the loss scale, which λ sets: the
// off-diagonal term λ·Σ_{i≠j} C_ij² has D(D−1) entries, so at D = 2048 λ = 0.0051 weighs it
// ~10× more than λ = 1/(D−1) does. The SGD lr must therefore be stable for the LARGEST loss in
// the sweep, and its gradient grows with D too (≈ √D in the encoder) — see SGD_LR below for the
// measurement. One lr for the whole sweep then gives the narrow projectors and, later in
// training, the λ-free loss smaller steps than LARS would: a property of SGD with this loss,
// reported rather than tuned away (use --sgd-lr to try another).
//
// Run: deno run -A examples/lambda-free.ts --help   (the default study is the lead's to run)
import process from "node:process";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { freemem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "../compiler/compile.ts";
import { lowerSpec } from "../compiler/from_spec.ts";
import { barlowTwins, lars, sgd } from "../dsl/builders.ts";
import { FLAG_NAMES, FlagError, parseFlags } from "../dsl/cli.ts";
import { saveSpec, specHash } from "../dsl/io.ts";
import { presets } from "../dsl/presets.ts";
import { DATASET_SHAPES } from "../dsl/resolve.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../dsl/validate.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { linePlots } from "../report/plot.ts";
import { describeModule } from "../train/report.ts";
import { addTrainingStep } from "../train/step.ts";
import { lrScalarOf, optimizerConfig } from "../train/trainer.ts";

/**
 * SGD base lr (at batch 256). Measured at initialization on Fashion-MNIST (default encoder,
 * projector D-D, batch 256): the largest per-layer ‖∇W‖/‖W‖ is 15 at D = 128, 33 at D = 512
 * and 82 at D = 2048 (first encoder layer), within 10% between the two λ (at the start the
 * on-diagonal term dominates; λ's share grows as C_ii → 1). 1e-5 moves that layer by 8e-4 of
 * its norm per step at D = 2048 and 1.5e-4 at D = 128, against LARS's uniform lr·η = 2e-4:
 * the same order as LARS, never far above it. Every Linear here feeds a BatchNorm or the
 * loss's standardization, so the loss is invariant to the weights' scale, and a larger lr does
 * not diverge but first inflates ‖W‖ (the gradient is orthogonal to W), which then shrinks the
 * effective step; keeping steps ≲ 1e-3 of ‖W‖ avoids that transient for every D and both λ.
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
  budgetSteps: 150,
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
    apply: (o, v, f) =>
      (o.lambdas = list(f, v, (p) => {
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
    apply: (o, v, f) =>
      (o.optimizers = list(f, v, (p) => {
        if (p !== "lars" && p !== "sgd") throw bad(f, "lars and/or sgd", v);
        return p;
      })),
  },
  { name: "data", arg: "NAME|PATH", help: "dataset", show: (d) => d.data, apply: (o, v) => (o.data = v) },
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
    "usage: examples/lambda-free.ts [study flags] [pipeline flags]",
    "Barlow Twins with λ = 0.0051 and λ = 1/(D−1) for each projector width D, LARS and SGD, same step budget.",
    "",
    ...rows,
    "",
    "Other flags go to every run's Barlow Twins preset (see pipelines/barlow.ts --help), e.g.",
    "--encoder mlp:512 --batch 128 --seed 1 --wd 1e-5. Not allowed there: " + Object.keys(OWNED).map((k) => "--" + k).join(" "),
    "",
  ].join("\n");
}

// ------------------------------------------------------------------------ the plan

export interface RunConfig {
  key: string;
  d: number;
  lambda: Lambda;
  optimizer: OptKind;
  dir: string;
  spec: PipelineSpec;
}

export const lambdaLabel = (l: Lambda) => (l === "mean" ? "1/(D−1)" : String(l));
const lambdaKey = (l: Lambda) => (l === "mean" ? "mean" : String(l));

/** The preset after the pass-through flags (the study's image limits are set per run). */
export function baseSpec(o: StudyOptions): PipelineSpec {
  return parseFlags(o.passThrough, presets.barlowTwins({ name: "lambda-free", data: o.data })).spec;
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
        runs.push({ key, d, lambda, optimizer: opt, dir: join(o.out, "runs", key), spec: configSpec(base, o, d, lambda, opt) });
      }
    }
  }
  return runs;
}

/**
 * Device memory the compiled training step needs (all its buffers), from the compiler alone
 * (no GPU): the lowering and the liveness plan fix it before the first step.
 */
export function stepBytes(spec: PipelineSpec): number {
  const [c, h, w] = DATASET_SHAPES[spec.data.name] ?? [3, 32, 32];
  const lowered = lowerSpec(spec, { c, h, w });
  const g = lowered.graph, lrOf = lrScalarOf(spec);
  addTrainingStep(g, lowered.loss, {
    optimizer: optimizerConfig(spec),
    lrScalar: (name, group) => lrOf(name, group, g.find(name)!.rank),
    ema: lowered.ema,
  });
  return compile(g).peakBytes;
}

// ---------------------------------------------------------------------- the results

export interface RunResult {
  key: string;
  d: number;
  lambda: Lambda;
  lambda_value: number;
  optimizer: OptKind;
  status: "ok" | "failed" | "skipped";
  reason?: string;
  reused?: boolean;
  dir: string;
  knn_top1?: number;
  linear_top1?: number;
  random_init_knn_top1?: number;
  loss_first?: number;
  loss_last?: number;
  c_diag_mean?: number;
  c_offdiag_abs_mean?: number;
  effective_rank?: number;
  seconds?: number;
  images_per_sec?: number;
}

const REPORT_FIELDS = [
  "knn_top1",
  "linear_top1",
  "random_init_knn_top1",
  "loss_first",
  "loss_last",
  "c_diag_mean",
  "c_offdiag_abs_mean",
  "effective_rank",
  "seconds",
  "images_per_sec",
] as const;

/** A run's result from its report.json (or its failure). */
export function resultOf(c: RunConfig, report: Record<string, unknown> | undefined, failure?: { status: "failed" | "skipped"; reason: string }): RunResult {
  const r: RunResult = {
    key: c.key,
    d: c.d,
    lambda: c.lambda,
    lambda_value: c.lambda === "mean" ? 1 / (c.d - 1) : c.lambda,
    optimizer: c.optimizer,
    status: report ? "ok" : failure?.status ?? "failed",
    dir: c.dir,
  };
  if (failure) r.reason = failure.reason;
  for (const k of REPORT_FIELDS) {
    const v = report?.[k];
    if (typeof v === "number") r[k] = v;
  }
  return r;
}

const pct = (v: number | undefined) => (v === undefined ? "–" : (100 * v).toFixed(1));
const OPT_NAME: Record<OptKind, string> = { lars: "LARS", sgd: "SGD" };
const seriesKey = (r: { lambda: Lambda; optimizer: OptKind }) => `λ=${lambdaLabel(r.lambda)} ${OPT_NAME[r.optimizer]}`;

/** The markdown report: a kNN and a linear table (rows D, columns λ × optimizer), then every run. */
export function resultsTable(o: StudyOptions, base: PipelineSpec, results: RunResult[]): string {
  const cols = o.optimizers.flatMap((opt) => o.lambdas.map((lambda) => ({ lambda, optimizer: opt })));
  const cell = (d: number, c: (typeof cols)[number], f: "knn_top1" | "linear_top1") => {
    const r = results.find((x) => x.d === d && x.optimizer === c.optimizer && lambdaKey(x.lambda) === lambdaKey(c.lambda));
    if (!r) return "…";
    return r.status === "ok" ? pct(r[f]) : r.status;
  };
  const table = (f: "knn_top1" | "linear_top1") => [
    `| D | ${cols.map(seriesKey).join(" | ")} |`,
    `|---:|${cols.map(() => "---:").join("|")}|`,
    ...o.dims.map((d) => `| ${d} | ${cols.map((c) => cell(d, c, f)).join(" | ")} |`),
  ];
  const proj = `${Array(o.projLayers).fill("D").join("-")}`;
  const spe = Math.floor(o.trainLimit / base.batch);
  const num = (v: number | undefined, p = 4) => (v === undefined ? "–" : v.toPrecision(p));
  return [
    "# λ-free Barlow Twins: λ = 0.0051 vs λ = 1/(D−1)",
    "",
    `${o.data}, ${o.trainLimit} train / ${o.testLimit} test images; encoder ${describeModule(base, "encoder")}, ` +
    `projector ${proj}; batch ${base.batch}; ${o.budgetSteps} steps per run (${(o.budgetSteps / spe).toFixed(1)} epochs, ` +
    `warmup ${Math.round(o.warmupFrac * o.budgetSteps)} steps, cosine); LARS lr ${o.larsLr} (biases 0.0048, η 1e-3), ` +
    `SGD lr ${o.sgdLr} (momentum 0.9), base lrs at batch 256; weight decay ${base.optimizer.weightDecay}; seed ${base.seed}.`,
    "",
    "## kNN top-1 (%)",
    "",
    ...table("knn_top1"),
    "",
    "## Linear probe top-1 (%)",
    "",
    ...table("linear_top1"),
    "",
    "## Every run",
    "",
    "| D | λ | λ value | optimizer | kNN | linear | random-init kNN | loss first → last | mean C_ii | eff. rank | train s | status |",
    "|---:|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|",
    ...results.map((r) =>
      `| ${r.d} | ${lambdaLabel(r.lambda)} | ${r.lambda_value.toPrecision(3)} | ${OPT_NAME[r.optimizer]} | ${pct(r.knn_top1)} | ` +
      `${pct(r.linear_top1)} | ${pct(r.random_init_knn_top1)} | ${num(r.loss_first)} → ${num(r.loss_last)} | ` +
      `${num(r.c_diag_mean, 3)} | ${num(r.effective_rank, 3)} | ${r.seconds ?? "–"} | ${r.status}${r.reason ? `: ${r.reason}` : ""}${r.reused ? " (reused)" : ""} |`
    ),
    "",
  ].join("\n");
}

/** kNN and linear top-1 against log2 D, one line per (λ, optimizer); failed runs leave gaps. */
export function resultsPlot(o: StudyOptions, results: RunResult[]): string {
  const keys = o.optimizers.flatMap((opt) => o.lambdas.map((lambda) => ({ lambda, optimizer: opt })));
  const dims = [...o.dims].sort((a, b) => a - b);
  const panel = (f: "knn_top1" | "linear_top1", title: string) => ({
    title,
    xLabel: `log2 D  (D = ${dims.join(", ")})`,
    yLabel: "top-1 (%)",
    series: keys.map((k) => ({
      name: seriesKey(k),
      x: dims.map(Math.log2),
      y: dims.map((d) => {
        const r = results.find((x) => x.d === d && x.optimizer === k.optimizer && lambdaKey(x.lambda) === lambdaKey(k.lambda));
        return r?.status === "ok" && r[f] !== undefined ? 100 * r[f]! : NaN;
      }),
    })),
  });
  return linePlots([panel("knn_top1", "kNN top-1 vs projector width"), panel("linear_top1", "linear probe top-1 vs projector width")]);
}

export function writeOutputs(o: StudyOptions, base: PipelineSpec, results: RunResult[]): void {
  mkdirSync(o.out, { recursive: true });
  const { passThrough, ...options } = o;
  const doc = { study: "lambda-free", options, passThrough, encoder: describeModule(base, "encoder"), batch: base.batch, runs: results };
  writeFileAtomic(join(o.out, "results.json"), JSON.stringify(doc, null, 2) + "\n");
  writeFileAtomic(join(o.out, "table.md"), resultsTable(o, base, results));
  writeFileAtomic(join(o.out, "accuracy.svg"), resultsPlot(o, results));
}

// ------------------------------------------------------------------------ running

const PIPELINE = fileURLToPath(new URL("../pipelines/barlow.ts", import.meta.url));

/** Runs pipelines/barlow.ts on the spec file in a child process; its stderr is kept for the reason. */
function runChild(specFile: string, dir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["run", "-A", PIPELINE, "--spec", specFile, "--out", dir], {
      stdio: ["ignore", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (b: Uint8Array) => {
      const s = new TextDecoder().decode(b);
      stderr += s;
      process.stderr.write(s);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 130 : 1), stderr }));
  });
}

const readReport = (dir: string): Record<string, unknown> | undefined => {
  const f = join(dir, "report.json");
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
};

/** The reason a child failed: its 'error: …' line (a NaN loss says "loss became NaN …"). */
export function failureReason(stderr: string, code: number): string {
  const line = stderr.split("\n").find((l) => l.startsWith("error: "));
  const msg = line ? line.slice(7) : `exit code ${code}`;
  return /loss became (NaN|Infinity|-Infinity)/.test(msg) ? `diverged (${msg.split(";")[0]})` : msg;
}

export async function runStudy(o: StudyOptions): Promise<RunResult[]> {
  const base = baseSpec(o);
  const plan = planRuns(o, base);
  const results: RunResult[] = [];
  let stop = false;
  const onSig = () => (stop = true);
  process.on("SIGINT", onSig);
  try {
    for (const [i, c] of plan.entries()) {
      if (stop) break;
      const hash = specHash(c.spec);
      const specFile = join(c.dir, "spec.json");
      saveSpec(specFile, c.spec);
      console.log(`\n[${i + 1}/${plan.length}] ${c.key}: D ${c.d}, λ ${lambdaLabel(c.lambda)}, ${OPT_NAME[c.optimizer]} → ${c.dir}`);
      const old = readReport(c.dir);
      if (!o.fresh && old?.spec_hash === hash) {
        console.log("  reusing its report.json (same spec hash; --fresh reruns)");
        results.push({ ...resultOf(c, old), reused: true });
        continue;
      }
      const need = stepBytes(c.spec), free = freemem();
      // lavapipe's buffers live in host memory, next to host copies for checkpoints and features
      if (need * 1.5 > free) {
        const gib = (b: number) => (b / 2 ** 30).toFixed(1);
        results.push(resultOf(c, undefined, { status: "skipped", reason: `needs ~${gib(need)} GiB for the step, ${gib(free)} GiB free` }));
        console.log(`  skipped: ${results.at(-1)!.reason}`);
      } else if (o.dryRun) {
        console.log(`  dry run: ${specFile} (step buffers ${(need / 2 ** 20).toFixed(0)} MiB)`);
        continue;
      } else {
        const { code, stderr } = await runChild(specFile, c.dir);
        if (code === 130) stop = true;
        const report = code === 0 ? readReport(c.dir) : undefined;
        results.push(resultOf(c, report, report ? undefined : { status: "failed", reason: code === 130 ? "interrupted" : failureReason(stderr, code) }));
      }
      writeOutputs(o, base, results);
    }
  } finally {
    process.off("SIGINT", onSig);
  }
  if (!o.dryRun) {
    writeOutputs(o, base, results);
    console.log(`\n${resultsTable(o, base, results)}\nwritten: ${["results.json", "table.md", "accuracy.svg"].map((f) => join(o.out, f)).join(", ")}`);
  }
  return results;
}

if (import.meta.main) {
  try {
    const o = parseStudyArgs(process.argv.slice(2));
    if (o === "help") console.log(studyHelp());
    else await runStudy(o);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(e instanceof FlagError ? 2 : 1);
  }
}

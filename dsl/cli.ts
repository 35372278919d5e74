// The command line shared by every pipeline: flags map onto spec fields of a preset.
//
//   const { spec, out, resume, overwrite, printStep, help } = parseFlags(Deno.args, presets.barlowTwins());
//   if (help) { console.log(helpText(presets.barlowTwins(), "pipelines/barlow.ts")); Deno.exit(0); }
//
// --spec file.json replaces the preset; the other flags then override fields of whichever spec
// is in use. The flag table below is the single source of truth: parsing, application and
// --help (with each default read from the spec) all come from it. The parsing itself is the
// project's one flag parser (dsl/flags.ts): an unknown flag or a bad value is a FlagError naming
// the flag; the edited spec is then validated (SpecError).
import { DATA_NAME_FORMS } from "../data/names.ts";
import { SpecError } from "./error.ts";
import { loadSpec } from "./io.ts";
import {
  badValue as bad,
  FlagError,
  helpRows,
  intsValue as ints,
  intValue as int,
  realValue as real,
  seedsValue,
  splitArgs,
} from "./flags.ts";
import { defaultEncoder } from "./presets.ts";
import { clusterHeads, expandPath, lossNodes } from "./resolve.ts";
import { cnn, resnet18 } from "./builders.ts";
import type { Module, PipelineSpec } from "./schema.ts";
import { type ValidateOptions, validateSpecStructure } from "./validate.ts";
import { printable } from "../report/printable.ts";

export { FlagError };

export interface CliResult {
  spec: PipelineSpec;
  /** run folder (checkpoints, logs); default runs/<spec name> */
  out: string;
  /** run folder or checkpoint file to resume from */
  resume?: string;
  /** --overwrite: replace the run files of an existing --out folder instead of refusing */
  overwrite: boolean;
  /**
   * --seeds: run the spec once per seed, seed N in `<out>/seed-N`, and summarise them in `out`
   * (run/seeds.ts); the spec's own seed is then unused
   */
  seeds?: number[];
  /** --print-step: print the compiled training step and exit instead of training */
  printStep: boolean;
  /** --help was given: print helpText and exit (nothing else was parsed) */
  help: boolean;
}

// --------------------------------------------------------------------------- value parsers

/** mlp[:w,w,…] | cnn[:c,c,…] | resnet18[:width] */
function encoderFromFlag(flag: string, s: string): Module {
  const [kind, rest] = s.split(":", 2) as [string, string | undefined];
  const nums = rest === undefined ? undefined : ints(flag, rest);
  if (kind === "mlp") return defaultEncoder(nums);
  if (kind === "cnn") return cnn(nums ?? [32, 64, 128]);
  if (kind === "resnet18") {
    if (nums && nums.length !== 1) throw bad(flag, "resnet18 or resnet18:<width>", s);
    return resnet18(nums ? { width: nums[0] } : {});
  }
  throw bad(flag, "mlp[:widths], cnn[:channels] or resnet18[:width]", s);
}

const describeModule = (m: Module | undefined): string => {
  if (!m) return "none";
  switch (m.kind) {
    case "mlp":
      return `mlp:${m.widths.join(",")}`;
    case "cnn":
      return `cnn:${m.channels.join(",")}`;
    case "resnet18":
      return `resnet18:${m.width}`;
    case "seq":
      return `seq:${m.path.join(",")}`;
  }
};

// ------------------------------------------------------------------------------ the table

interface Flag {
  name: string;
  /** placeholder of the value; absent for a switch */
  arg?: string;
  help: string;
  /** the current value in the spec (the default shown by --help) */
  show(spec: PipelineSpec): string;
  /** edits a private copy of the spec */
  apply?(spec: PipelineSpec, value: string, flag: string, given: Set<string>): void;
}

function mlpModule(spec: PipelineSpec, name: string, flag: string) {
  const m = spec.modules[name];
  if (!m) throw new FlagError(flag, `the spec has no module named '${name}'`);
  if (m.kind !== "mlp") throw new FlagError(flag, `module '${name}' is a ${m.kind}, not an mlp`);
  return m;
}

/** Sets a field on every loss node of the given ops; an error when there is none. */
function setLossField(spec: PipelineSpec, flag: string, ops: string[], field: string, value: unknown) {
  const nodes = lossNodes(spec.loss).filter((n) => ops.includes(n.op));
  if (!nodes.length) throw new FlagError(flag, `the loss has no ${ops.join(" or ")} term`);
  for (const n of nodes) (n as Record<string, unknown>)[field] = value;
}

const lossField = (spec: PipelineSpec, ops: string[], field: string) => {
  const n = lossNodes(spec.loss).find((x) => ops.includes(x.op));
  return n ? String((n as Record<string, unknown>)[field]) : "n/a";
};

const FLAGS: Flag[] = [
  {
    name: "spec",
    arg: "FILE",
    help: "load the whole spec from a JSON file instead of the preset (other flags still apply)",
    show: () => "the preset",
  },
  {
    name: "data",
    arg: "NAME|PATH",
    help: `dataset: ${DATA_NAME_FORMS.join(", ")}`,
    show: (s) => s.data.name,
    apply: (s, x, f) => {
      if (!x.trim()) throw bad(f, "a dataset name or path", x);
      s.data.name = x;
    },
  },
  {
    name: "train-limit",
    arg: "N",
    help: "use only the first N training images",
    show: (s) => String(s.data.trainLimit ?? "all"),
    apply: (s, x, f) => (s.data.trainLimit = int(f, x, 1)),
  },
  {
    name: "test-limit",
    arg: "N",
    help: "use only the first N test images",
    show: (s) => String(s.data.testLimit ?? "all"),
    apply: (s, x, f) => (s.data.testLimit = int(f, x, 1)),
  },
  {
    name: "one-class",
    arg: "C",
    help: "train on the images of class C only (index or name; after --train-limit), for the one-class anomaly " +
      "protocol: the test split stays whole and the run reports C's anomaly AUROC instead of kNN and linear",
    show: (s) => String(s.data.oneClass ?? "all classes"),
    apply: (s, x, f) => {
      const c = x.trim();
      if (!c) throw bad(f, "a class index or name", x);
      s.data.oneClass = /^\d+$/.test(c) ? Number(c) : c;
    },
  },
  {
    name: "encoder",
    arg: "KIND[:W,…]",
    help: "encoder: mlp[:widths], cnn[:channels] or resnet18[:width]",
    show: (s) => describeModule(s.modules.encoder),
    apply: (s, x, f) => {
      if (!s.modules.encoder) throw new FlagError(f, "the spec has no module named 'encoder'");
      s.modules.encoder = encoderFromFlag(f, x);
    },
  },
  {
    name: "proj",
    arg: "W,W,…",
    help: "projector widths (the last is the embedding width D; a predictor follows it)",
    show: (s) => s.modules.projector?.kind === "mlp" ? s.modules.projector.widths.join(",") : "n/a",
    apply: (s, x, f, given) => {
      const widths = ints(f, x);
      mlpModule(s, "projector", f).widths = widths;
      const pred = s.modules.predictor;
      if (pred?.kind === "mlp" && !given.has("pred")) {
        // the predictor maps D → D: keep its input and output on the new embedding width
        pred.in = widths[widths.length - 1];
        pred.widths[pred.widths.length - 1] = widths[widths.length - 1];
      }
    },
  },
  {
    name: "pred",
    arg: "W,W,…",
    help: "predictor widths (its input is the projector's output)",
    show: (s) => s.modules.predictor?.kind === "mlp" ? s.modules.predictor.widths.join(",") : "n/a",
    apply: (s, x, f) => {
      const m = mlpModule(s, "predictor", f);
      m.widths = ints(f, x);
      const proj = s.modules.projector;
      if (proj?.kind === "mlp") m.in = proj.widths[proj.widths.length - 1];
    },
  },
  {
    name: "clusters",
    arg: "K",
    help:
      "number of clusters: the output width of the spec's cluster head (a branch the loss puts through a row softmax)",
    show: (s) => clusterHeads(s).map((h) => String(h.clusters ?? "?")).join(", ") || "n/a",
    apply: (s, x, f) => {
      const heads = clusterHeads(s);
      if (!heads.length) {
        throw new FlagError(f, "the spec has no cluster head (no branch passed through softmax(·, 1))");
      }
      const k = int(f, x, 2);
      for (const h of heads) {
        const leaf = (expandPath(s.modules, h.path) ?? []).at(-1);
        if (leaf === undefined) throw new FlagError(f, `the cluster head '${h.branch}' has a broken module path`);
        const m = mlpModule(s, leaf, f);
        m.widths[m.widths.length - 1] = k;
      }
    },
  },
  {
    name: "crop-scale",
    arg: "MIN,MAX",
    help: "random resized crop: area fraction range of every view (milder crops suit MLP encoders)",
    show: (s) => s.views.map((v) => v.aug.crop ? v.aug.crop.scale.join(",") : "no crop").join(" / "),
    apply: (s, x, f) => {
      const parts = x.split(",").map((p) => Number(p));
      const [lo, hi] = parts;
      if (parts.length !== 2 || x.split(",").some((p) => p.trim() === "") || !(lo > 0) || !(hi <= 1) || !(lo <= hi)) {
        throw bad(f, "two area fractions MIN,MAX with 0 < MIN ≤ MAX ≤ 1, like 0.25,1", x);
      }
      const cropped = s.views.filter((v) => v.aug.crop);
      if (!cropped.length) throw new FlagError(f, "no view of the spec has a crop");
      for (const v of cropped) v.aug.crop!.scale = [lo, hi];
    },
  },
  {
    name: "batch",
    arg: "N",
    help: "samples per step",
    show: (s) => String(s.batch),
    apply: (s, x, f) => (s.batch = int(f, x, 2)),
  },
  {
    name: "epochs",
    arg: "N",
    help: "passes over the training set",
    show: (s) => String(s.epochs),
    apply: (s, x, f) => (s.epochs = int(f, x, 1)),
  },
  {
    name: "steps",
    arg: "N",
    help: "stop after N optimizer steps",
    show: (s) => String(s.steps ?? "no cap"),
    apply: (s, x, f) => (s.steps = int(f, x, 1)),
  },
  {
    name: "lr",
    arg: "X",
    help: "base learning rate at batch 256 (scaled by batch/256)",
    show: (s) => String(s.optimizer.lr),
    apply: (s, x, f) => (s.optimizer.lr = real(f, x, true)),
  },
  {
    name: "wd",
    arg: "X",
    help: "weight decay",
    show: (s) => String(s.optimizer.weightDecay),
    apply: (s, x, f) => (s.optimizer.weightDecay = real(f, x, false)),
  },
  {
    name: "warmup",
    arg: "EPOCHS",
    help: "linear lr warmup, in epochs",
    show: (s) => String(s.schedule.warmupEpochs),
    apply: (s, x, f) => (s.schedule.warmupEpochs = real(f, x, false)),
  },
  {
    name: "lambda",
    arg: "X|mean",
    help: "Barlow Twins off-diagonal weight; 'mean' = 1/(D−1)",
    show: (s) => lossField(s, ["barlowTwins"], "lambda"),
    apply: (s, x, f) => {
      const n = Number(x);
      if (x !== "mean" && (x.trim() === "" || !Number.isFinite(n) || n < 0)) throw bad(f, "a number ≥ 0 or 'mean'", x);
      setLossField(s, f, ["barlowTwins"], "lambda", x === "mean" ? "mean" : n);
    },
  },
  {
    name: "temp",
    arg: "T",
    help: "temperature of the NT-Xent / InfoNCE terms",
    show: (s) => lossField(s, ["ntXent", "infoNCE"], "temperature"),
    apply: (s, x, f) => setLossField(s, f, ["ntXent", "infoNCE"], "temperature", real(f, x, true)),
  },
  {
    name: "tau",
    arg: "X",
    help: "EMA τ at step 0 of every ema branch",
    show: (s) => String(s.branches.find((b) => b.ema)?.ema?.tau.base ?? "n/a"),
    apply: (s, x, f) => {
      const tau = real(f, x, false);
      if (tau > 1) throw bad(f, "a number in [0, 1]", x);
      const emas = s.branches.filter((b) => b.ema);
      if (!emas.length) throw new FlagError(f, "the spec has no ema branch");
      for (const b of emas) b.ema!.tau.base = tau;
    },
  },
  {
    name: "queue",
    arg: "N",
    help: "queue length (a multiple of the batch)",
    show: (s) => String(s.queues[0]?.size ?? "n/a"),
    apply: (s, x, f) => {
      if (!s.queues.length) throw new FlagError(f, "the spec has no queue");
      const n = int(f, x, 1);
      for (const q of s.queues) q.size = n;
    },
  },
  {
    name: "precision",
    arg: "f32|f16-mixed",
    help:
      "step arithmetic: f16-mixed rounds matmul/conv operands to f16 (f32 accumulation, dynamic loss scaling; needs shader-f16)",
    show: (s) => s.precision ?? "f32",
    apply: (s, x, f) => {
      if (x !== "f32" && x !== "f16-mixed") throw bad(f, "f32 or f16-mixed", x);
      s.precision = x;
    },
  },
  {
    name: "online-probe",
    arg: "on|off",
    help:
      "online linear probe: a classifier on the detached encoder features trained in the step, test top-1 each epoch",
    show: (s) => (s.eval.onlineProbe ? "on" : "off"),
    apply: (s, x, f) => {
      if (x !== "on" && x !== "off") throw bad(f, "on or off", x);
      s.eval.onlineProbe = x === "on";
    },
  },
  {
    name: "seed",
    arg: "N",
    help: "random seed",
    show: (s) => String(s.seed),
    apply: (s, x, f) => (s.seed = int(f, x, 0)),
  },
  {
    name: "seeds",
    arg: "N,N,…",
    help: "run once per seed, seed N in DIR/seed-N (--out DIR), complete ones reused; " +
      "DIR/report.json and DIR/table.md get each figure's mean ± sample std (n−1) and every seed's value",
    show: () => "one run",
  },
  {
    name: "out",
    arg: "DIR",
    help: "run folder for checkpoints and logs; an existing run there is refused unless --resume or --overwrite",
    show: (s) => `runs/${s.name}`,
  },
  {
    name: "resume",
    arg: "RUN|FILE",
    help: "continue a run from its folder (e.g. runs/barlow) or a checkpoint file",
    show: () => "none",
  },
  {
    name: "overwrite",
    help: "start afresh in an --out folder that holds an earlier run, replacing its files",
    show: () => "",
  },
  {
    name: "print-step",
    help: "print the compiled training step (ops, shapes, buffers, kernels) and exit",
    show: () => "",
  },
  { name: "help", help: "print this list and exit", show: () => "" },
];
/**
 * Parses pipeline flags against a preset; see the file header. `graphIssues`: the graph stage's
 * checks (step/validate.ts), run with the spec's own so that a problem the flags caused names them.
 */
export function parseFlags(
  args: string[],
  preset: PipelineSpec,
  opts: Pick<ValidateOptions, "graphIssues"> = {},
): CliResult {
  const given = splitArgs(args, FLAGS).values;
  if (given.has("help")) {
    return { spec: preset, out: `runs/${preset.name}`, overwrite: false, printStep: false, help: true };
  }
  const seeds = seedsFlag(given);
  const specFile = given.get("spec");
  const spec: PipelineSpec = structuredClone(specFile !== undefined ? loadSpec(specFile, opts) : preset);
  const names = new Set(given.keys());
  for (const f of FLAGS) {
    const value = given.get(f.name);
    if (value !== undefined && f.apply) f.apply(spec, value, `--${f.name}`, names);
  }
  let valid: PipelineSpec;
  try {
    valid = validateSpecStructure(spec, undefined, { graphIssues: opts.graphIssues });
  } catch (e) {
    if (!(e instanceof SpecError) || given.size === 0) throw e;
    // say that the problem appeared after the flags were applied
    throw new SpecError(
      e.issues.map((i) => ({
        ...i,
        message: `${i.message} (after applying ${[...given.keys()].map((k) => "--" + k).join(" ")})`,
      })),
    );
  }
  // an empty folder name (an unset shell variable) must not quietly mean the default folder
  for (const f of ["out", "resume"]) {
    if (given.get(f) === "") throw new FlagError(`--${f}`, "expected a folder, got an empty string");
  }
  const out = given.get("out") ?? `runs/${valid.name}`;
  const resume = given.get("resume");
  if (resume !== undefined && given.has("overwrite")) {
    throw new FlagError("--overwrite", "cannot be combined with --resume (one continues a run, the other replaces it)");
  }
  const rest = {
    out,
    overwrite: given.has("overwrite"),
    printStep: given.has("print-step"),
    help: false,
    ...(seeds ? { seeds } : {}),
  };
  return resume ? { spec: valid, resume, ...rest } : { spec: valid, ...rest };
}

/** --seeds' list, checked against the flags it excludes; undefined when not given. */
function seedsFlag(given: Map<string, string>): number[] | undefined {
  const value = given.get("seeds");
  if (value === undefined) return undefined;
  const excluded: [string, string][] = [
    ["seed", "each run takes its seed from the list"],
    [
      "resume",
      "complete seed runs are reused; continue one seed's run with --seed N --out DIR/seed-N --resume DIR/seed-N",
    ],
  ];
  for (const [f, why] of excluded) {
    if (given.has(f)) throw new FlagError("--seeds", `cannot be combined with --${f} (${why})`);
  }
  return seedsValue("--seeds", value);
}

/** The flag list with each default read from `preset`. */
export function helpText(preset: PipelineSpec, program = "pipeline"): string {
  const rows = helpRows(FLAGS, (f) => f.show(preset));
  return [`usage: ${program} [flags]`, `method ${printable(preset.method)}, spec '${preset.name}'`, "", ...rows, ""]
    .join("\n");
}

/** Names of every flag (without --), in the order they are applied. */
export const FLAG_NAMES: readonly string[] = FLAGS.map((f) => f.name);

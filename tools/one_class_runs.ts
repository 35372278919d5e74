// The one-class runs of the anomaly protocol's per-class arm: the pipeline of --method trained
// once per class with --one-class C into OUT/class-C, each through the pipeline's own command
// line (run/command.ts, as `deno run -A pipelines/NAME.ts` runs it), so every other flag means
// what it means there. Then score them with
//   deno run -A tools/anomaly.ts --checkpoint ALL_CLASSES_RUN --per-class OUT --out DIR
//
//   deno run -A tools/one_class_runs.ts --method barlow --out runs/one-class [--classes 0,3]
//     [pipeline flags, e.g. --epochs 20 --encoder cnn]
//
// Every flag and class is checked before the first run. Run again after a stop, it goes on: a
// class whose folder holds a report.json is skipped, one with a checkpoint but no report is
// resumed; with --overwrite every class starts afresh.
import process from "node:process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadSpecData } from "../data/load.ts";
import { oneClassSplit } from "../data/one_class.ts";
import { helpText, parseFlags } from "../dsl/cli.ts";
import { choiceValue, FlagError, intValue, listValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { classRunDir } from "../eval/one_class_runs.ts";
import { checkpointPath } from "../io/checkpoint.ts";
import { runCommand } from "../run/command.ts";
import { graphIssues } from "../step/validate.ts";
import { spec as barlow } from "../pipelines/barlow.ts";
import { spec as barlowMean } from "../pipelines/barlow_mean.ts";
import { spec as byol } from "../pipelines/byol.ts";
import { spec as contrastiveClustering } from "../pipelines/contrastive_clustering.ts";
import { spec as moco } from "../pipelines/moco.ts";
import { spec as simclr } from "../pipelines/simclr.ts";
import { spec as simsiam } from "../pipelines/simsiam.ts";
import { spec as vicreg } from "../pipelines/vicreg.ts";
import { runTool } from "./feature_tool.ts";

/** --method NAME → the preset of pipelines/NAME.ts. */
export const METHODS: Record<string, PipelineSpec> = {
  barlow,
  barlow_mean: barlowMean,
  byol,
  contrastive_clustering: contrastiveClustering,
  moco,
  simclr,
  simsiam,
  vicreg,
};

const USAGE = "usage: tools/one_class_runs.ts --method NAME --out RUNS_DIR [--classes C,C,…] [pipeline flags]\n" +
  `  NAME: ${Object.keys(METHODS).join(", ")}; pipeline flags: deno run -A pipelines/NAME.ts --help`;

const FLAGS = [
  { name: "method", arg: "NAME" },
  { name: "out", arg: "RUNS_DIR" },
  { name: "classes", arg: "C,C,…" },
  { name: "help" },
];

/** Pipeline flags this tool sets for each class itself. */
const OWN = ["one-class", "resume"];

export interface OneClassRunsArgs {
  method: string;
  out: string;
  /** undefined: every class of the data set */
  classes?: number[];
  /** the pipeline flags, passed to every run */
  pipeline: string[];
}

export function parseOneClassRunsArgs(args: string[]): OneClassRunsArgs | "help" {
  const split = splitArgs(args, FLAGS, {
    passThrough: (name) => {
      if (OWN.includes(name)) {
        throw new FlagError(
          `--${name}`,
          "set by tools/one_class_runs.ts for each class (choose the classes with --classes)",
        );
      }
      return true;
    },
  });
  const v = split.values;
  if (v.has("help")) return "help";
  return {
    method: choiceValue("--method", requiredValue(v, "method", USAGE), Object.keys(METHODS)),
    out: requiredValue(v, "out", USAGE),
    classes: v.has("classes")
      ? listValue("--classes", v.get("classes")!, (p) => intValue("--classes", p, 0))
      : undefined,
    pipeline: split.passed,
  };
}

export interface ClassRun {
  c: number;
  dir: string;
  /** what happens to the class: trained afresh, resumed, or skipped as done */
  action: "train" | "resume" | "skip";
  /** the pipeline's arguments for it (none when skipped) */
  args: string[];
}

/**
 * The plan: each class's folder and pipeline arguments. Checks the flags (as the pipeline
 * would) and every class's one-class split before anything is trained.
 */
export function planOneClassRuns(a: OneClassRunsArgs): ClassRun[] {
  const preset = METHODS[a.method];
  // checked as a one-class run (some checks differ; the class itself is resolved below)
  const { spec, overwrite } = parseFlags([...a.pipeline, "--one-class", "0"], preset, { graphIssues });
  const split = loadSpecData({ ...spec.data, oneClass: undefined });
  const classes = a.classes ?? Array.from({ length: split.train.classes }, (_, c) => c);
  for (const c of classes) {
    if (c >= split.train.classes) {
      throw new FlagError(
        "--classes",
        `class ${c} does not exist (${spec.data.name} has classes 0..${split.train.classes - 1})`,
      );
    }
    oneClassSplit(split, c);
  }
  return classes.map((c) => {
    const dir = classRunDir(a.out, c);
    const own = ["--one-class", String(c), "--out", dir];
    if (!overwrite && existsSync(join(dir, "report.json"))) return { c, dir, action: "skip", args: [] };
    if (!overwrite && existsSync(checkpointPath(dir))) {
      return { c, dir, action: "resume", args: [...a.pipeline, ...own, "--resume", dir] };
    }
    return { c, dir, action: "train", args: [...a.pipeline, ...own] };
  });
}

/** Runs the plan in class order; stops at the first run that fails. Returns the exit status. */
export async function oneClassRuns(a: OneClassRunsArgs, log = (s: string) => console.log(s)): Promise<number> {
  const program = `pipelines/${a.method}.ts`;
  for (const r of planOneClassRuns(a)) {
    if (r.action === "skip") {
      log(`class ${r.c}: ${join(r.dir, "report.json")} is there, skipped (--overwrite to train it again)`);
      continue;
    }
    log(`class ${r.c}: ${r.action === "resume" ? "resuming" : "training"} ${program} ${r.args.join(" ")}`);
    const { code } = await runCommand(METHODS[a.method], program, r.args);
    if (code !== 0) {
      log(`class ${r.c}: the run stopped (exit status ${code}); run this command again to go on`);
      return code;
    }
  }
  log(
    `done; score them with: deno run -A tools/anomaly.ts --checkpoint ALL_CLASSES_RUN --per-class ${a.out} --out DIR`,
  );
  return 0;
}

if (import.meta.main) {
  runTool("tools/one_class_runs.ts", async () => {
    const a = parseOneClassRunsArgs(process.argv.slice(2));
    if (a === "help") {
      console.log(`${USAGE}\n\n${helpText(barlow, "pipeline flags")}`);
      return;
    }
    const code = await oneClassRuns(a);
    if (code !== 0) process.exit(code);
  });
}

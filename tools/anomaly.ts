// One-class anomaly detection with a run's features (eval/anomaly.ts): for each class c, the
// training images of c are the normal set and a test image's score is its mean cosine distance
// to its k nearest normal features; AUROC per class (c normal, the rest anomalous) and the mean,
// for the trained encoder, its random initialisation and raw pixels; with --per-class RUNS_DIR
// also for one encoder per class, class c scored with the run in RUNS_DIR/class-c (trained with
// --one-class c; tools/one_class_runs.ts). Writes report.json and a markdown table (report.md)
// into --out.
//
//   deno run -A tools/anomaly.ts --checkpoint RUN --out DIR [--per-class RUNS_DIR] [--data NAME]
//     [--k 2] [--classes 0,3] [--train-limit N] [--test-limit N]
import { join } from "node:path";
import process from "node:process";
import { mkdirSync } from "node:fs";
import { FlagError, intValue, listValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import { ANOMALY_K, checkAnomalyClasses, oneClassAnomaly, type OneClassResult } from "../eval/anomaly.ts";
import { spaceFeatures, SPACES } from "../eval/feature_spaces.ts";
import { markdownTable, seedsSummary } from "../eval/metrics/mod.ts";
import { pixelFeatures } from "../eval/pixels.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { imagesOfClass } from "../data/one_class.ts";
import type { Split } from "../data/dataset.ts";
import type { CheckpointEncoder } from "../eval/checkpoint_encoder.ts";
import { oneClassRuns } from "../eval/one_class_runs.ts";
import { loadRun, runTool, writeJson } from "./feature_tool.ts";
import { writeFileAtomic } from "../io/atomic.ts";

const USAGE = "usage: tools/anomaly.ts --checkpoint RUN --out DIR [--per-class RUNS_DIR] [--data NAME] [--k 2] " +
  "[--classes 0,3] [--train-limit N] [--test-limit N]";

const FLAGS = [
  { name: "checkpoint", arg: "RUN" },
  { name: "out", arg: "DIR" },
  { name: "per-class", arg: "RUNS_DIR" },
  { name: "data", arg: "NAME" },
  { name: "k", arg: "K" },
  { name: "classes", arg: "C,C,…" },
  { name: "train-limit", arg: "N" },
  { name: "test-limit", arg: "N" },
  { name: "help" },
];

export interface AnomalyArgs {
  checkpoint: string;
  out: string;
  /** folder of the one-class runs, RUNS_DIR/class-C */
  perClass?: string;
  data?: string;
  k: number;
  classes?: number[];
  trainLimit?: number;
  testLimit?: number;
}

export function parseAnomalyArgs(args: string[]): AnomalyArgs | "help" {
  const v = splitArgs(args, FLAGS).values;
  if (v.has("help")) return "help";
  const required = (name: string) => requiredValue(v, name, USAGE);
  const int = (name: string) => v.has(name) ? intValue(`--${name}`, v.get(name)!, 1) : undefined;
  const classes = v.has("classes")
    ? listValue("--classes", v.get("classes")!, (p) => intValue("--classes", p, 0))
    : undefined;
  return {
    checkpoint: required("checkpoint"),
    out: required("out"),
    perClass: v.has("per-class") ? required("per-class") : undefined,
    data: v.get("data"),
    k: int("k") ?? ANOMALY_K,
    classes,
    trainLimit: int("train-limit"),
    testLimit: int("test-limit"),
  };
}

export interface AnomalyReport {
  data: string;
  k: number;
  classes: number[];
  classNames: string[];
  /** the one-class runs' folder (--per-class), when given */
  perClassRuns?: string;
  /**
   * AUROC per class and mean, by feature space: trained (the --checkpoint encoder, trained on
   * all classes), one-class (class c's own encoder; with --per-class), random, pixels
   */
  spaces: Record<string, { perClass: number[]; mean: number }>;
}

export async function anomaly(a: AnomalyArgs): Promise<AnomalyReport> {
  const { ck, split } = loadRun(a.checkpoint, a.data, { trainLimit: a.trainLimit, testLimit: a.testLimit });
  const { train, test } = split;
  const classes = a.classes ?? Array.from({ length: train.classes }, (_, c) => c);
  // bad classes or k fail here, named after the flags, before any GPU work
  try {
    checkAnomalyClasses(pixelFeatures(train), pixelFeatures(test), classes, a.k);
  } catch (e) {
    const m = (e as Error).message.replace(/^anomaly: /, "");
    throw new FlagError(/fewer than k/.test(m) ? "--k" : "--classes", `${m} (data ${train.name})`);
  }
  const perClassRuns = a.perClass === undefined ? undefined : oneClassRuns(a.perClass, classes, train);
  const gpu = await getGpu();
  const spaces: AnomalyReport["spaces"] = {};
  for (const space of SPACES) {
    const r: OneClassResult = await oneClassAnomaly(
      await spaceFeatures(gpu, ck, space, train),
      await spaceFeatures(gpu, ck, space, test),
      { gpu, k: a.k, classes },
    );
    spaces[space] = { perClass: r.perClass, mean: r.mean };
    if (space === "trained" && perClassRuns) {
      spaces["one-class"] = await perClassSpace(gpu, perClassRuns, classes, split, a.k);
    }
  }
  return {
    data: test.name,
    k: a.k,
    classes,
    classNames: classes.map((c) => train.classNames?.[c] ?? String(c)),
    ...(a.perClass === undefined ? {} : { perClassRuns: a.perClass }),
    spaces,
  };
}

/** Class c (classes[i]) scored with runs[i], its own encoder: normal set, c's training images. */
async function perClassSpace(
  gpu: Gpu,
  runs: CheckpointEncoder[],
  classes: number[],
  split: Split,
  k: number,
): Promise<{ perClass: number[]; mean: number }> {
  const perClass: number[] = [];
  for (const [i, c] of classes.entries()) {
    const normal = await spaceFeatures(gpu, runs[i], "trained", imagesOfClass(split.train, c));
    const test = await spaceFeatures(gpu, runs[i], "trained", split.test);
    perClass.push((await oneClassAnomaly(normal, test, { gpu, k, classes: [c] })).perClass[0]);
  }
  return { perClass, mean: perClass.reduce((s, v) => s + v, 0) / perClass.length };
}

/** Rows: feature spaces; columns: the classes' AUROC and the mean. */
export function anomalyTable(r: AnomalyReport): string {
  const rows = Object.fromEntries(
    Object.entries(r.spaces).map(([space, v]) => {
      const record: Record<string, number> = {};
      r.classNames.forEach((name, i) => record[`${r.classes[i]} ${name}`] = v.perClass[i]);
      record.mean = v.mean;
      return [space, seedsSummary([record])];
    }),
  );
  return markdownTable(rows, { digits: 4, rowHeading: "features" });
}

if (import.meta.main) {
  runTool("tools/anomaly.ts", async () => {
    const a = parseAnomalyArgs(process.argv.slice(2));
    if (a === "help") return void console.log(USAGE);
    const report = await anomaly(a);
    const table = anomalyTable(report);
    mkdirSync(a.out, { recursive: true });
    writeJson(join(a.out, "report.json"), report);
    writeFileAtomic(join(a.out, "report.md"), `One-class AUROC, kNN (k = ${report.k}) on ${report.data}\n\n${table}\n`);
    console.log(table);
    console.log(`wrote ${join(a.out, "report.json")} and report.md`);
  });
}

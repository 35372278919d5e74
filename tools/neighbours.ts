// Retrieval with a run's features: for query images of the test split, the k most similar
// training images by cosine similarity of the trained encoder's features (on the GPU), drawn as a
// labelled contact sheet; precision@k and MAP@R over all loaded test images, for the trained
// encoder, its random initialisation and raw pixels, in report.json beside the sheet.
//
//   deno run -A tools/neighbours.ts --checkpoint RUN [--data NAME] [--k 8] [--queries 16] [--seed S]
//     [--bank-limit N] [--test-limit N] [--scale 3] --out grid.png
import { dirname, join } from "node:path";
import process from "node:process";
import { FlagError, intValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import { DataError } from "../data/dataset.ts";
import { spaceFeatures, SPACES } from "../eval/feature_spaces.ts";
import { hostRng } from "../eval/metrics/mod.ts";
import { retrievalScores } from "../eval/retrieval_scores.ts";
import { writePng } from "../report/png.ts";
import { getGpu } from "../runtime/device.ts";
import { loadRun, runTool, writeJson } from "./feature_tool.ts";
import { neighbourSheet } from "./neighbour_sheet.ts";

const USAGE = "usage: tools/neighbours.ts --checkpoint RUN --out grid.png [--data NAME] [--k 8] [--queries 16] " +
  "[--seed S] [--bank-limit N] [--test-limit N] [--scale 3]";

const FLAGS = [
  { name: "checkpoint", arg: "RUN" },
  { name: "out", arg: "grid.png" },
  { name: "data", arg: "NAME" },
  { name: "k", arg: "K" },
  { name: "queries", arg: "N" },
  { name: "seed", arg: "S" },
  { name: "bank-limit", arg: "N" },
  { name: "test-limit", arg: "N" },
  { name: "scale", arg: "S" },
  { name: "help" },
];

export interface NeighboursArgs {
  checkpoint: string;
  out: string;
  data?: string;
  k: number;
  queries: number;
  /** seeded picks of the sheet's queries; without it the first test images */
  seed?: number;
  bankLimit?: number;
  testLimit?: number;
  scale: number;
}

export function parseNeighboursArgs(args: string[]): NeighboursArgs | "help" {
  const v = splitArgs(args, FLAGS).values;
  if (v.has("help")) return "help";
  const required = (name: string) => requiredValue(v, name, USAGE);
  const int = (name: string, min: number) => v.has(name) ? intValue(`--${name}`, v.get(name)!, min) : undefined;
  const out = required("out");
  if (!out.endsWith(".png")) throw new FlagError("--out", `${out}: the sheet is a PNG file (name it *.png)`);
  return {
    checkpoint: required("checkpoint"),
    out,
    data: v.get("data"),
    k: int("k", 1) ?? 8,
    queries: int("queries", 1) ?? 16,
    seed: int("seed", 0),
    bankLimit: int("bank-limit", 1),
    testLimit: int("test-limit", 1),
    scale: int("scale", 1) ?? 3,
  };
}

/** The sheet's queries: the first n test images, or n distinct seeded picks. */
export function pickQueries(n: number, total: number, seed?: number): number[] {
  if (seed === undefined) return Array.from({ length: n }, (_, i) => i);
  const rng = hostRng(seed), order = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (total - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, n);
}

export interface NeighboursReport {
  data: string;
  bank: number;
  queries: number;
  k: number;
  spaces: Record<string, { precisionAtK: number; mapAtR: number }>;
  sheet: { queries: number[]; neighbours: number[][] };
}

export async function neighbours(
  a: NeighboursArgs,
): Promise<{ report: NeighboursReport; sheet: ReturnType<typeof neighbourSheet> }> {
  const { ck, split } = loadRun(a.checkpoint, a.data, { trainLimit: a.bankLimit, testLimit: a.testLimit });
  const { train, test } = split;
  if (a.k > train.n) throw new FlagError("--k", `${a.k} is more than the ${train.n} training images of ${train.name}`);
  if (a.queries > test.n) {
    throw new FlagError("--queries", `${a.queries} is more than the ${test.n} test images of ${test.name}`);
  }
  const inBank = new Set(train.labels);
  const lost = test.labels.find((l) => !inBank.has(l));
  if (lost !== undefined) {
    throw new DataError(
      `${test.name}: test images of class ${lost} have no training image of their class among the ${train.n} loaded ` +
        "(raise --bank-limit)",
    );
  }
  const gpu = await getGpu();
  const spaces: NeighboursReport["spaces"] = {};
  let shown: number[][] = [];
  const picks = pickQueries(a.queries, test.n, a.seed);
  for (const space of SPACES) {
    const r = await retrievalScores(
      await spaceFeatures(gpu, ck, space, train),
      await spaceFeatures(gpu, ck, space, test),
      a.k,
      { gpu },
    );
    spaces[space] = { precisionAtK: r.precisionAtK, mapAtR: r.mapAtR };
    if (space === "trained") {
      shown = picks.map((q) => Array.from(r.neighbours.indices.subarray(q * a.k, (q + 1) * a.k)));
    }
  }
  const sheet = neighbourSheet(
    test,
    train,
    picks.map((query, i) => ({ query, neighbours: shown[i] })),
    a.scale,
  );
  return {
    report: {
      data: test.name,
      bank: train.n,
      queries: test.n,
      k: a.k,
      spaces,
      sheet: { queries: picks, neighbours: shown },
    },
    sheet,
  };
}

if (import.meta.main) {
  runTool("tools/neighbours.ts", async () => {
    const a = parseNeighboursArgs(process.argv.slice(2));
    if (a === "help") return void console.log(USAGE);
    const { report, sheet } = await neighbours(a);
    const json = join(dirname(a.out), "report.json");
    writePng(a.out, sheet);
    writeJson(json, report);
    for (const [s, v] of Object.entries(report.spaces)) {
      console.log(`${s.padEnd(8)} precision@${a.k} ${v.precisionAtK.toFixed(4)}  MAP@R ${v.mapAtR.toFixed(4)}`);
    }
    console.log(`wrote ${a.out} and ${json}`);
  });
}

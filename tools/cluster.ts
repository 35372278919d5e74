// k-means clustering of a run's features (eval/kmeans_gpu.ts, assignment passes on the GPU),
// scored against the class labels with the clustering papers' three numbers: accuracy under the
// best one-to-one matching of clusters to classes (Hungarian), NMI and ARI — for the trained
// encoder, its random initialisation and raw pixels. The clustered images are the test split by
// default: held out from training, the same split the other feature tools query with; --split all
// clusters the training and test images together, as the deep-clustering papers report
// Fashion-MNIST (all 70,000 images). Features are
// L2-normalised first (the cosine geometry the kNN and the other tools use). Writes report.json,
// a markdown table (report.md) and a contact sheet of the trained features' clusters (clusters.png:
// one row per cluster, its most central images) into --out.
//
//   deno run -A tools/cluster.ts --checkpoint RUN --out DIR [--data NAME] [--k 10] [--restarts 5]
//     [--seed S] [--iters 300] [--tol 0] [--split test|all] [--train-limit N] [--test-limit N]
import { join } from "node:path";
import process from "node:process";
import { mkdirSync } from "node:fs";
import { choiceValue, FlagError, intValue, realValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import { concatDatasets } from "../data/dataset.ts";
import { spaceFeatures, SPACES } from "../eval/feature_spaces.ts";
import { kmeansGpu } from "../eval/kmeans_gpu.ts";
import {
  type ClusteringScores,
  type KmeansResult,
  markdownTable,
  scoreClustering,
  seedsSummary,
} from "../eval/metrics/mod.ts";
import { l2NormalizeRows } from "../eval/nearest.ts";
import { getGpu } from "../runtime/device.ts";
import { loadRun, runTool, writeJson } from "./feature_tool.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writePng } from "../report/png.ts";
import { neighbourSheet } from "./neighbour_sheet.ts";

/** images per cluster on the sheet */
const SHEET_IMAGES = 8;

const USAGE = "usage: tools/cluster.ts --checkpoint RUN --out DIR [--data NAME] [--k 10] [--restarts 5] " +
  "[--seed S] [--iters 300] [--tol 0] [--split test|all] [--train-limit N] [--test-limit N]";

const FLAGS = [
  { name: "checkpoint", arg: "RUN" },
  { name: "out", arg: "DIR" },
  { name: "data", arg: "NAME" },
  { name: "k", arg: "K" },
  { name: "restarts", arg: "R" },
  { name: "seed", arg: "S" },
  { name: "iters", arg: "N" },
  { name: "tol", arg: "T" },
  { name: "split", arg: "test|all" },
  { name: "train-limit", arg: "N" },
  { name: "test-limit", arg: "N" },
  { name: "help" },
];

export interface ClusterArgs {
  checkpoint: string;
  out: string;
  data?: string;
  /** clusters (default: the data set's number of classes) */
  k?: number;
  restarts: number;
  seed: number;
  iters: number;
  tol: number;
  /** "test": the test split; "all": the training images, then the test images */
  split: "test" | "all";
  trainLimit?: number;
  testLimit?: number;
}

export function parseClusterArgs(args: string[]): ClusterArgs | "help" {
  const v = splitArgs(args, FLAGS).values;
  if (v.has("help")) return "help";
  const required = (name: string) => requiredValue(v, name, USAGE);
  const int = (name: string, min: number) => v.has(name) ? intValue(`--${name}`, v.get(name)!, min) : undefined;
  const tol = v.has("tol") ? realValue("--tol", v.get("tol")!, false) : 0;
  if (tol >= 1) throw new FlagError("--tol", `expected a number in [0, 1), got '${v.get("tol")}'`);
  const seed = int("seed", 0) ?? 0;
  const which = v.has("split") ? choiceValue("--split", v.get("split")!, ["test", "all"] as const) : "test";
  if (v.has("train-limit") && which !== "all") {
    throw new FlagError("--train-limit", "only with --split all: by default the test split alone is clustered");
  }
  if (seed > 0xffffffff) throw new FlagError("--seed", `expected an integer in [0, 4294967295], got '${seed}'`);
  return {
    checkpoint: required("checkpoint"),
    out: required("out"),
    data: v.get("data"),
    k: int("k", 2),
    restarts: int("restarts", 1) ?? 5,
    seed,
    iters: int("iters", 1) ?? 300,
    tol,
    split: which,
    trainLimit: int("train-limit", 1),
    testLimit: int("test-limit", 1),
  };
}

export interface SpaceClustering extends ClusteringScores {
  /** the winning restart's inertia (sum of squared distances of the normalised features to their centre) */
  inertia: number;
  iterations: number;
  restartInertias: number[];
  /** images per cluster, largest first */
  clusterSizes: number[];
  seconds: number;
}

export interface ClusterReport {
  data: string;
  split: "test" | "all";
  images: number;
  classes: number;
  k: number;
  restarts: number;
  seed: number;
  iters: number;
  tol: number;
  spaces: Record<string, SpaceClustering>;
  /** the sheet's rows: the trained features' clusters, largest first, each with its most central images */
  sheet: { clusters: number[]; images: number[][] };
}

/**
 * The clusters, largest first (ties: lower id), each with up to m of its members, nearest its centre
 * first (squared distance in float64; ties: lower index).
 */
export function centralMembers(x: Float32Array, d: number, r: KmeansResult, m: number) {
  const k = r.centroids.length / d;
  const members: number[][] = Array.from({ length: k }, () => []);
  r.assignment.forEach((c, i) => members[c].push(i));
  const dist = (i: number, c: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (x[i * d + t] - r.centroids[c * d + t]) ** 2;
    return s;
  };
  const clusters = members.map((_, c) => c).sort((a, b) => members[b].length - members[a].length || a - b);
  const images = clusters.map((c) => {
    const ds = new Map(members[c].map((i) => [i, dist(i, c)]));
    return members[c].sort((a, b) => ds.get(a)! - ds.get(b)! || a - b).slice(0, m);
  });
  return { clusters, images };
}

export async function cluster(
  a: ClusterArgs,
): Promise<{ report: ClusterReport; sheet: ReturnType<typeof neighbourSheet> }> {
  // without --split all the training images are not clustered: load as few as the loader allows
  const trainLimit = a.split === "all" ? a.trainLimit : 1;
  const { ck, split } = loadRun(a.checkpoint, a.data, { trainLimit, testLimit: a.testLimit });
  const clustered = a.split === "all" ? concatDatasets(split.train, split.test) : split.test;
  const what = a.split === "all" ? "training and test images" : "test images";
  const k = a.k ?? clustered.classes;
  if (k < 2) throw new FlagError("--k", `the data has ${clustered.classes} class; give --k ≥ 2`);
  if (k > clustered.n) throw new FlagError("--k", `${k} clusters are more than the ${clustered.n} ${what}`);
  const gpu = await getGpu();
  const spaces: ClusterReport["spaces"] = {};
  let shown: ClusterReport["sheet"] = { clusters: [], images: [] };
  for (const space of SPACES) {
    const f = await spaceFeatures(gpu, ck, space, clustered);
    const t0 = performance.now();
    const x = l2NormalizeRows(f.data, f.n, f.dim);
    const r = await kmeansGpu(x, f.n, f.dim, k, {
      gpu,
      restarts: a.restarts,
      seed: a.seed,
      iters: a.iters,
      tol: a.tol,
    });
    const sizes = new Array<number>(k).fill(0);
    for (const c of r.assignment) sizes[c]++;
    spaces[space] = {
      ...scoreClustering(r.assignment, f.labels),
      inertia: r.inertia,
      iterations: r.iterations,
      restartInertias: r.restartInertias,
      clusterSizes: sizes.sort((p, q) => q - p),
      seconds: (performance.now() - t0) / 1000,
    };
    if (space === "trained") shown = centralMembers(x, f.dim, r, SHEET_IMAGES);
  }
  // the first image of a row is the cluster's most central one; the others are framed green when of its class
  const sheet = neighbourSheet(
    clustered,
    clustered,
    shown.images.map(([query, ...rest]) => ({ query, neighbours: rest })),
  );
  const report: ClusterReport = {
    data: clustered.name,
    split: a.split,
    images: clustered.n,
    classes: clustered.classes,
    k,
    restarts: a.restarts,
    seed: a.seed,
    iters: a.iters,
    tol: a.tol,
    spaces,
    sheet: shown,
  };
  return { report, sheet };
}

/** Rows: feature spaces; columns: accuracy, NMI, ARI and the inertia. */
export function clusterTable(r: ClusterReport): string {
  const rows = Object.fromEntries(
    Object.entries(r.spaces).map(([space, v]) => [
      space,
      seedsSummary([{ accuracy: v.accuracy, NMI: v.nmi, ARI: v.ari, inertia: v.inertia }]),
    ]),
  );
  return markdownTable(rows, { digits: 4, rowHeading: "features" });
}

if (import.meta.main) {
  runTool("tools/cluster.ts", async () => {
    const a = parseClusterArgs(process.argv.slice(2));
    if (a === "help") return void console.log(USAGE);
    const { report, sheet } = await cluster(a);
    const table = clusterTable(report);
    mkdirSync(a.out, { recursive: true });
    writePng(join(a.out, "clusters.png"), sheet);
    writeJson(join(a.out, "report.json"), report);
    const title = `k-means (k = ${report.k}, ${report.restarts} restarts, seed ${report.seed}) on the ` +
      `${report.images} ${report.split === "all" ? "training and test" : "test"} images of ${report.data}`;
    writeFileAtomic(join(a.out, "report.md"), `${title}\n\n${table}\n`);
    console.log(table);
    console.log(`wrote ${join(a.out, "report.json")}, report.md and clusters.png`);
  });
}

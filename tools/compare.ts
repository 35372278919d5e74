// Change detection with a run's features: the cosine distance of each image pair's trained-encoder
// features, called changed above a threshold calibrated on labelled pairs — a CSV (--calibrate)
// or else the built-in test-set pairs. The built-in benchmark pairs each test image's two
// augmented views (unchanged) against two images of one class and of two classes (changed) and
// reports the AUROC of "changed" per kind, for the trained encoder, its random initialisation
// and raw pixels (--report FILE.json).
//
//   deno run -A tools/compare.ts [A B] --checkpoint RUN [--data NAME] [--calibrate pairs.csv]
//     [--test-limit N] [--seed S] [--report report.json]
//
// A and B: two folders (images matched by file name) or two list files (one path per line).
import process from "node:process";
import { FlagError, intValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import type { Dataset } from "../data/dataset.ts";
import { calibrateThreshold, pairDistances, type Threshold } from "../eval/change.ts";
import { augmentedViews, changePairs, PAIR_KINDS, type PairSet } from "../eval/change_pairs.ts";
import type { CheckpointEncoder } from "../eval/checkpoint_encoder.ts";
import { spaceFeatures, SPACES } from "../eval/feature_spaces.ts";
import type { FeatureSet } from "../eval/features.ts";
import { auroc } from "../eval/metrics/mod.ts";
import type { Rows } from "../eval/nearest.ts";
import type { Gpu } from "../runtime/device.ts";
import { getGpu } from "../runtime/device.ts";
import { loadRun, runTool, writeJson } from "./feature_tool.ts";
import { calibrationPairs, type ImagePairs, loadImages, pairsOf } from "./pair_images.ts";

const USAGE = "usage: tools/compare.ts [A B] --checkpoint RUN [--data NAME] [--calibrate pairs.csv] " +
  "[--test-limit N] [--seed S] [--report FILE.json]";

const FLAGS = [
  { name: "checkpoint", arg: "RUN" },
  { name: "data", arg: "NAME" },
  { name: "calibrate", arg: "pairs.csv" },
  { name: "test-limit", arg: "N" },
  { name: "seed", arg: "S" },
  { name: "report", arg: "FILE.json" },
  { name: "help" },
];

export interface CompareArgs {
  a?: string;
  b?: string;
  checkpoint: string;
  data?: string;
  calibrate?: string;
  testLimit?: number;
  seed: number;
  report?: string;
}

export function parseCompareArgs(args: string[]): CompareArgs | "help" {
  const { values: v, positionals } = splitArgs(args, FLAGS, { positionals: true });
  if (v.has("help")) return "help";
  if (positionals.length !== 0 && positionals.length !== 2) {
    throw new FlagError(positionals[0], `give two folders or lists A B to compare, or none (${USAGE})`);
  }
  const checkpoint = requiredValue(v, "checkpoint", USAGE);
  const report = v.get("report");
  if (report !== undefined && !report.endsWith(".json")) throw new FlagError("--report", `${report}: name it *.json`);
  return {
    a: positionals[0],
    b: positionals[1],
    checkpoint,
    data: v.get("data"),
    calibrate: v.get("calibrate"),
    testLimit: v.has("test-limit") ? intValue("--test-limit", v.get("test-limit")!, 2) : undefined,
    seed: v.has("seed") ? intValue("--seed", v.get("seed")!, 0) : 0,
    report,
  };
}

/** Row subsets of a feature set, for the two sides of the pairs. */
function rowsAt(f: FeatureSet, idx: Int32Array): Rows {
  const data = new Float32Array(idx.length * f.dim);
  idx.forEach((i, r) => data.set(f.data.subarray(i * f.dim, (i + 1) * f.dim), r * f.dim));
  return { data, n: idx.length, dim: f.dim };
}

export interface KindScores {
  /** AUROC of the distance for "changed" (this kind) against the unchanged pairs */
  auroc: number;
  meanDistance: number;
  pairs: number;
}

export interface Benchmark {
  /** per space: the unchanged pairs' mean distance and each changed kind's scores */
  spaces: Record<string, { unchangedMeanDistance: number; sameClass: KindScores; otherClass: KindScores }>;
  /** the trained encoder's distances and labels of every built-in pair, for calibration */
  trained: { distances: number[]; changed: number[] };
}

const mean = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v, 0) / x.length;

/** The built-in benchmark on the test set: every pair kind in every feature space. */
export async function benchmark(gpu: Gpu, ck: CheckpointEncoder, test: Dataset, seed: number): Promise<Benchmark> {
  const pairs = changePairs(test.labels, seed);
  const [v1, v2] = await augmentedViews(gpu, ck.spec, test, seed);
  const out: Benchmark = { spaces: {}, trained: { distances: [], changed: [] } };
  for (const space of SPACES) {
    const [f1, f2] = [await spaceFeatures(gpu, ck, space, v1), await spaceFeatures(gpu, ck, space, v2)];
    const dist = (p: PairSet) => pairDistances(rowsAt(f1, p.a), rowsAt(f2, p.b));
    const [unchanged, same, other] = pairs.map(dist);
    const kind = (d: Float64Array): KindScores => ({
      auroc: auroc([...unchanged, ...d], [...unchanged.map(() => 0), ...d.map(() => 1)]),
      meanDistance: mean(d),
      pairs: d.length,
    });
    out.spaces[space] = { unchangedMeanDistance: mean(unchanged), sameClass: kind(same), otherClass: kind(other) };
    if (space === "trained") {
      [unchanged, same, other].forEach((d, k) => {
        for (const x of d) {
          out.trained.distances.push(x);
          out.trained.changed.push(PAIR_KINDS[k] === "unchanged" ? 0 : 1);
        }
      });
    }
  }
  return out;
}

/** The pairs' two sides as data sets shaped like the test images (decoded, resized). */
function pairImages(p: ImagePairs, like: Dataset): [Dataset, Dataset] {
  return [loadImages(p.a, like, "A"), loadImages(p.b, like, "B")];
}

/** Distances of image pairs under the trained encoder. */
async function trainedDistances(gpu: Gpu, ck: CheckpointEncoder, [a, b]: [Dataset, Dataset]): Promise<Float64Array> {
  return pairDistances(await spaceFeatures(gpu, ck, "trained", a), await spaceFeatures(gpu, ck, "trained", b));
}

export interface CompareResult {
  threshold: Threshold & { from: string };
  pairs: { a: string; b: string; distance: number; changed: boolean }[];
  benchmark?: Benchmark["spaces"];
}

export async function compare(a: CompareArgs): Promise<CompareResult> {
  // every input is read, decoded and checked before the GPU work
  const pairs = a.a !== undefined ? pairsOf(a.a, a.b!) : undefined;
  const labelled = a.calibrate !== undefined ? calibrationPairs(a.calibrate) : undefined;
  const { ck, split } = loadRun(a.checkpoint, a.data, { trainLimit: 1, testLimit: a.testLimit });
  const pairSets = pairs && pairImages(pairs, split.test);
  const labelledSets = labelled && pairImages(labelled, split.test);
  const gpu = await getGpu();
  const bench = labelled && !a.report ? undefined : await benchmark(gpu, ck, split.test, a.seed);
  let threshold: CompareResult["threshold"];
  if (labelled && labelledSets) {
    const d = await trainedDistances(gpu, ck, labelledSets);
    threshold = { ...calibrateThreshold(d, labelled.changed!), from: a.calibrate! };
  } else {
    threshold = {
      ...calibrateThreshold(bench!.trained.distances, bench!.trained.changed),
      from: `the built-in pairs of ${split.test.name}`,
    };
  }
  const scored = pairSets ? await trainedDistances(gpu, ck, pairSets) : new Float64Array(0);
  return {
    threshold,
    pairs: Array.from(scored, (distance, i) => ({
      a: pairs!.a[i],
      b: pairs!.b[i],
      distance,
      changed: distance > threshold.threshold,
    })),
    benchmark: bench?.spaces,
  };
}

if (import.meta.main) {
  runTool("tools/compare.ts", async () => {
    const a = parseCompareArgs(process.argv.slice(2));
    if (a === "help") return void console.log(USAGE);
    const r = await compare(a);
    const t = r.threshold;
    console.log(
      `threshold ${t.threshold.toFixed(6)} (cosine distance, from ${t.from}: ${(100 * t.accuracy).toFixed(1)}% right)`,
    );
    for (const p of r.pairs) {
      console.log(`${p.a}\t${p.b}\t${p.distance.toFixed(6)}\t${p.changed ? "changed" : "unchanged"}`);
    }
    if (r.benchmark) {
      for (const [s, v] of Object.entries(r.benchmark)) {
        console.log(
          `${s.padEnd(8)} AUROC changed: same class ${v.sameClass.auroc.toFixed(4)}, other class ${
            v.otherClass.auroc.toFixed(4)
          }`,
        );
      }
    }
    if (a.report) {
      writeJson(a.report, r);
      console.log(`wrote ${a.report}`);
    }
  });
}

// tools/seeds_compare.ts on summaries written by --seeds' own writer (run/seeds.ts): the means
// table, Welch's test between folders and the paired test against the random-init encoder against
// hand-worked figures, and the folders and flags it refuses, with nothing written on a refusal.
import { join } from "node:path";
import { writeSeedsSummary } from "../run/seeds.ts";
import {
  compareFolders,
  compareMarkdown,
  parseCompareArgs,
  readSeedsFolder,
  type SeedsFolder,
} from "../tools/seeds_compare.ts";
import { assertThrows } from "./util/assert.ts";

const tmp = () => Deno.makeTempDirSync({ prefix: "seeds_compare_test_" });

/** A seeds folder as --seeds writes it, one report per seed with these figures. */
function seedsFolder(root: string, name: string, reports: Record<string, number>[], notFinished: number[] = []) {
  const dir = join(root, name);
  Deno.mkdirSync(dir, { recursive: true });
  writeSeedsSummary(dir, [
    ...reports.map((r, s) => ({
      seed: s,
      out: join(dir, `seed-${s}`),
      status: "done" as const,
      report: { name, ...r },
    })),
    ...notFinished.map((s) => ({ seed: s, out: join(dir, `seed-${s}`), status: "not run" as const })),
  ]);
  return dir;
}

const A = [{ knn_top1: 1, random_init_knn_top1: 0 }, { knn_top1: 2, random_init_knn_top1: 1 }, {
  knn_top1: 3,
  random_init_knn_top1: 2,
}];
const B = [{ knn_top1: 4, random_init_knn_top1: 3 }, { knn_top1: 5, random_init_knn_top1: 2 }, {
  knn_top1: 6,
  random_init_knn_top1: 4,
}];

Deno.test("seeds_compare: Welch between folders and the paired test against random init, by hand", () => {
  const root = tmp();
  const a = seedsFolder(root, "a", A), b = seedsFolder(root, "b", B);
  const o = parseCompareArgs([a, b, "--metrics", "knn_top1", "--baseline"]);
  if (o === "help") throw new Error("help");
  const folders = o.dirs.map((d, i) => readSeedsFolder(d, o.names[i]));
  const cs = compareFolders(folders, o);
  // b − a: Student's case, t = 3/√(2/3) = 3.674, df 4, p = 1 − t(6 + t²)/(4 + t²)^1.5 = 0.0213
  const w = cs.find((c) => c.test === "welch")!;
  const t = 3 / Math.sqrt(2 / 3), p = 1 - t * (6 + t * t) / (4 + t * t) ** 1.5;
  if (Math.abs(w.t - t) > 1e-12 || Math.abs(w.p - p) > 1e-12 || !w.larger || w.a !== "a" || w.b !== "b") {
    throw new Error(`welch: ${JSON.stringify(w)}`);
  }
  // a against its random init: every seed 1 higher, no spread → exact; b: differences 1, 3, 2 → t = 2√3, df 2
  const [pa, pb] = cs.filter((c) => c.test === "paired");
  if (pa.p !== 0 || !pa.larger) throw new Error(`paired a: ${JSON.stringify(pa)}`);
  const tb = 2 * Math.sqrt(3), pbWant = 1 - tb / Math.sqrt(2 + tb * tb);
  if (Math.abs(pb.t - tb) > 1e-12 || Math.abs(pb.p - pbWant) > 1e-12 || pb.larger) {
    throw new Error(`paired b: ${JSON.stringify(pb)}`);
  }
  const md = compareMarkdown(folders, cs, o);
  for (
    const want of [
      "| a | 0,1,2 | 2.0 ± 1.0 | 1.0 ± 1.0 |",
      "| knn_top1 | a | b | +3 | 3.67 | 4.0 | 0.021 | 0.021 | yes |",
    ]
  ) {
    if (!md.includes(want)) throw new Error(`markdown lacks '${want}':\n${md}`);
  }
});

Deno.test("seeds_compare: --against compares every folder with one, the others not with each other", () => {
  const root = tmp();
  const dirs = ["a", "b", "c"].map((n, i) => seedsFolder(root, n, A.map((r) => ({ knn_top1: r.knn_top1 + i }))));
  const o = parseCompareArgs([dirs[1], dirs[2], "--against", dirs[0], "--metrics", "knn_top1"]);
  if (o === "help") throw new Error("help");
  const folders: SeedsFolder[] = o.dirs.map((d, i) => readSeedsFolder(d, o.names[i]));
  const pairs = compareFolders(folders, o).map((c) => `${c.a}→${c.b}`);
  if (pairs.join(" ") !== "a→b a→c") throw new Error(`pairs ${pairs}`);
});

Deno.test("seeds_compare: --paired matches the folders seed by seed, and needs the same seeds", () => {
  const root = tmp();
  // seed by seed b − a = 1, 2, 2: mean 5/3, sd 1/√3, t = 5, df 2, p = 1 − 5/√27
  const a = seedsFolder(root, "a", A), b = seedsFolder(root, "b", [2, 4, 5].map((knn_top1) => ({ knn_top1 })));
  const o = parseCompareArgs([a, b, "--paired", "--metrics", "knn_top1"]);
  if (o === "help") throw new Error("help");
  const folders = o.dirs.map((d, i) => readSeedsFolder(d, o.names[i]));
  const [c] = compareFolders(folders, o);
  if (
    c.test !== "paired" || Math.abs(c.t - 5) > 1e-12 || c.df !== 2 || Math.abs(c.p - (1 - 5 / Math.sqrt(27))) > 1e-12
  ) {
    throw new Error(JSON.stringify(c));
  }
  if (!compareMarkdown(folders, [c], o).includes("paired t-test by seed (one seed, one initialisation)")) {
    throw new Error("heading");
  }
  const two = readSeedsFolder(seedsFolder(root, "two", A.slice(0, 2), [2]), "two");
  assertThrows(
    () => compareFolders([folders[0], two], o),
    "needs the same finished seeds in both folders",
  );
});

Deno.test("seeds_compare: partial summaries are read with their finished seeds and marked", () => {
  const root = tmp();
  const f = readSeedsFolder(seedsFolder(root, "p", A.slice(0, 2), [2]), "p");
  if (f.seeds.join() !== "0,1" || f.notFinished.join() !== "2" || f.values.knn_top1.join() !== "1,2") {
    throw new Error(JSON.stringify(f));
  }
  const o = parseCompareArgs([f.dir, "--baseline", "--metrics", "knn_top1"]);
  if (o === "help") throw new Error("help");
  if (!compareMarkdown([f], compareFolders([f], o), o).includes("(partial: 2 not finished)")) {
    throw new Error("unmarked");
  }
});

Deno.test("seeds_compare: refusals name the folder or flag, and the command writes nothing", async () => {
  const root = tmp();
  const a = seedsFolder(root, "a", A), one = seedsFolder(root, "one", A.slice(0, 1));
  const single = join(root, "single");
  Deno.mkdirSync(single);
  Deno.writeTextFileSync(join(single, "report.json"), JSON.stringify({ knn_top1: 0.8 }));
  assertThrows(() => readSeedsFolder(join(root, "none"), "none"), "has no report.json");
  assertThrows(() => readSeedsFolder(single, "single"), "is a single run's report, not a --seeds summary");
  assertThrows(() => parseCompareArgs([a]), "give at least two seeds folders");
  assertThrows(() => parseCompareArgs([a, a]), "is given twice");
  assertThrows(() => parseCompareArgs([a, one, "--names", "x"]), "1 names for 2 folders");
  assertThrows(() => parseCompareArgs([a, one, "--alpha", "1.5"]), "expected a number in (0, 1)");
  const folders = [readSeedsFolder(a, "a"), readSeedsFolder(one, "one")];
  assertThrows(
    () => compareFolders(folders, { metrics: ["knn_top1"], paired: false, baseline: false, alpha: 0.05 }),
    "has 1 finished seed(s) of 'knn_top1'; a spread needs at least 2",
  );
  assertThrows(
    () => compareFolders(folders, { metrics: ["linear_top1"], paired: false, baseline: false, alpha: 0.05 }),
    "has no metric 'linear_top1' (it has knn_top1, random_init_knn_top1)",
  );
  const out = join(root, "cmp.md");
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/seeds_compare.ts", a, one, "--out", out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (r.code !== 2 || !err.includes("has no metric 'linear_top1'")) throw new Error(`exit ${r.code}: ${err}`);
  if ([...Deno.readDirSync(root)].some((e) => e.name === "cmp.md")) throw new Error("wrote a partial report");
});

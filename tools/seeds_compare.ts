// Which differences between configurations are larger than the spread of their seeds? Reads the
// summaries that --seeds writes (DIR/report.json of a pipeline, an example or one configuration
// of the λ-free study, runs/<key>), and prints, as Markdown:
//   - every folder's mean ± std of each metric, over its seeds;
//   - each pair's difference (or each folder's against --against) with Welch's t-test: the seeds
//     of two configurations are independent runs, their variances need not be equal; or, with
//     --paired, the paired test by seed (a seed fixes the encoder's initialisation whatever the
//     method, so runs of one seed are matched);
//   - with --baseline, each folder's metric against its own random-init encoder's (random_init_<m>),
//     paired by seed: the trained encoder and its initialisation come from the same run.
// A difference is called larger than the spread when its two-sided p-value is below --alpha; each
// table also gives Holm's adjusted p over its comparisons, for reading many pairs at once.
// With three seeds a side that takes a difference of about three standard errors or more; the
// table prints t, the degrees of freedom and p so a reader can apply another bar.
//
//   deno run -A tools/seeds_compare.ts DIR DIR… [--metrics knn_top1,linear_top1] [--against DIR]
//     [--paired] [--baseline] [--alpha 0.05] [--names a,b,…] [--out FILE.md] [--json FILE.json]
import { basename, resolve } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { FlagError, listValue, realValue, splitArgs } from "../dsl/flags.ts";
import { holmAdjust, meanStd, pairedTest, spreadCell, tableLines, type TTest, welchTest } from "../eval/metrics/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { runTool, writeJson } from "./feature_tool.ts";

const USAGE = "usage: tools/seeds_compare.ts DIR DIR… [--metrics m1,m2] [--against DIR] [--paired] [--baseline] " +
  "[--alpha 0.05] [--names a,b,…] [--out FILE.md] [--json FILE.json]";

const FLAGS = [
  { name: "metrics", arg: "M1,M2" },
  { name: "against", arg: "DIR" },
  { name: "paired" },
  { name: "baseline" },
  { name: "alpha", arg: "A" },
  { name: "names", arg: "A,B" },
  { name: "out", arg: "FILE.md" },
  { name: "json", arg: "FILE.json" },
  { name: "help" },
];

const DEFAULT_METRICS = ["knn_top1", "linear_top1"];

export interface CompareArgs {
  dirs: string[];
  names: string[];
  metrics: string[];
  /** index into dirs of the reference, or undefined for every pair */
  against?: number;
  /** folders compared seed by seed (paired t-test) instead of as independent sets (Welch) */
  paired: boolean;
  baseline: boolean;
  alpha: number;
  out?: string;
  json?: string;
}

export function parseCompareArgs(argv: string[]): CompareArgs | "help" {
  const { values, positionals } = splitArgs(argv, FLAGS, { positionals: true });
  if (values.has("help")) return "help";
  let dirs = positionals;
  const against = values.get("against");
  if (against !== undefined && !dirs.some((d) => resolve(d) === resolve(against))) dirs = [against, ...dirs];
  if (dirs.length < (values.has("baseline") ? 1 : 2)) {
    throw new FlagError(
      "DIR",
      `give at least ${values.has("baseline") ? "one seeds folder" : "two seeds folders"} (${USAGE})`,
    );
  }
  const twice = dirs.find((d, i) => dirs.findIndex((e) => resolve(e) === resolve(d)) !== i);
  if (twice) throw new FlagError("DIR", `${twice} is given twice`);
  const names = values.has("names")
    ? listValue("--names", values.get("names")!, (s) => s)
    : dirs.map((d) => basename(resolve(d)));
  if (names.length !== dirs.length) {
    throw new FlagError("--names", `${names.length} names for ${dirs.length} folders`);
  }
  const alpha = values.has("alpha") ? realValue("--alpha", values.get("alpha")!, true) : 0.05;
  if (alpha >= 1) throw new FlagError("--alpha", `expected a number in (0, 1), got '${values.get("alpha")}'`);
  return {
    dirs,
    names,
    metrics: values.has("metrics") ? listValue("--metrics", values.get("metrics")!, (s) => s) : DEFAULT_METRICS,
    against: against === undefined ? undefined : dirs.findIndex((d) => resolve(d) === resolve(against)),
    paired: values.has("paired"),
    baseline: values.has("baseline"),
    alpha,
    out: values.get("out"),
    json: values.get("json"),
  };
}

/** Each metric of a seeds summary: the finished seeds' values, in the order of the folder's seeds. */
export type SeedValues = Record<string, number[]>;

export interface SeedsFolder {
  name: string;
  dir: string;
  seeds: number[];
  /** seeds that have not finished (a partial summary) */
  notFinished: number[];
  values: SeedValues;
}

/** A --seeds summary's metrics, each as its seeds' values; a clear error for anything else. */
export function readSeedsFolder(dir: string, name: string): SeedsFolder {
  const path = `${dir}/report.json`;
  if (!existsSync(path)) throw new FlagError(dir, "has no report.json (give a folder that --seeds wrote)");
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new FlagError(path, `is not JSON: ${(e as Error).message}`);
  }
  const metrics = doc.metrics as Record<string, { values?: Record<string, unknown> }> | undefined;
  if (!Array.isArray(doc.seeds) || typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    throw new FlagError(path, "is a single run's report, not a --seeds summary (give the folder --seeds wrote)");
  }
  const notFinished = Array.isArray(doc.not_finished) ? doc.not_finished as number[] : [];
  const seeds = (doc.seeds as number[]).filter((s) => !notFinished.includes(s));
  const values: SeedValues = {};
  for (const [m, s] of Object.entries(metrics)) {
    const vs = seeds.map((seed) => s?.values?.[String(seed)]);
    if (vs.every((v) => typeof v === "number" && Number.isFinite(v))) values[m] = vs as number[];
  }
  return { name, dir, seeds, notFinished, values };
}

function metricOf(f: SeedsFolder, m: string): number[] {
  const v = f.values[m];
  if (!v) {
    throw new FlagError(
      "--metrics",
      `${f.dir} has no metric '${m}' (it has ${Object.keys(f.values).join(", ") || "none: no seed has finished"})`,
    );
  }
  return v;
}

export interface Comparison extends TTest {
  metric: string;
  a: string;
  b: string;
  /** "between": two folders; "baseline": a folder against its own random-init encoder */
  kind: "between" | "baseline";
  test: "welch" | "paired";
  /** p adjusted by Holm's method over the comparisons of the same kind (one table) */
  pHolm: number;
  /** p < alpha */
  larger: boolean;
}

/** Folder f's values of metric m by seed; a test needs at least two. */
function spreadOf(f: SeedsFolder, m: string): number[] {
  const v = metricOf(f, m);
  if (v.length < 2) throw new FlagError(f.dir, `has ${v.length} finished seed(s) of '${m}'; a spread needs at least 2`);
  return v;
}

/** Every comparison the arguments ask for, in table order. */
export function compareFolders(
  folders: SeedsFolder[],
  o: Pick<CompareArgs, "metrics" | "against" | "paired" | "baseline" | "alpha">,
): Comparison[] {
  const out: Comparison[] = [];
  const add = (c: Omit<Comparison, keyof TTest | "larger" | "pHolm">, r: TTest) =>
    out.push({ ...c, ...r, pHolm: NaN, larger: r.p < o.alpha });
  const pairs: [SeedsFolder, SeedsFolder][] = [];
  if (o.against !== undefined) {
    const ref = folders[o.against];
    for (const f of folders) if (f !== ref) pairs.push([ref, f]);
  } else if (!o.baseline || folders.length > 1) {
    folders.forEach((a, i) => folders.slice(i + 1).forEach((b) => pairs.push([a, b])));
  }
  // every metric of every folder first, so a missing one is named before any test runs
  for (const f of folders) for (const m of o.metrics) metricOf(f, m);
  if (o.paired) {
    for (const [a, b] of pairs) {
      if (a.seeds.join() !== b.seeds.join()) {
        throw new FlagError(
          "--paired",
          `needs the same finished seeds in both folders: ${a.dir} has ${a.seeds.join(",")}, ${b.dir} has ` +
            b.seeds.join(","),
        );
      }
    }
  }
  for (const metric of o.metrics) {
    for (const [a, b] of pairs) {
      const va = spreadOf(a, metric), vb = spreadOf(b, metric);
      const test = o.paired ? "paired" : "welch";
      add({ metric, a: a.name, b: b.name, kind: "between", test }, o.paired ? pairedTest(va, vb) : welchTest(va, vb));
    }
  }
  if (o.baseline) {
    for (const metric of o.metrics) {
      for (const f of folders) {
        const base = f.values[`random_init_${metric}`];
        if (!base) continue;
        const c = { metric, a: `${f.name} random init`, b: f.name, kind: "baseline" as const, test: "paired" as const };
        add(c, pairedTest(base, spreadOf(f, metric)));
      }
    }
  }
  for (const kind of ["between", "baseline"]) {
    const family = out.filter((c) => c.kind === kind);
    holmAdjust(family.map((c) => c.p)).forEach((p, i) => (family[i].pHolm = p));
  }
  return out;
}

const num = (
  v: number,
  d: number,
) => (Number.isFinite(v) ? v.toFixed(d).replace("-", "−") : v > 0 ? "∞" : v < 0 ? "−∞" : "—");
const pText = (p: number) => (p < 0.001 ? "< 0.001" : p.toFixed(3));

/** The report: the folders' means, then the comparisons, as Markdown. */
export function compareMarkdown(folders: SeedsFolder[], comparisons: Comparison[], o: CompareArgs): string {
  const lines = ["## Mean ± sample std over seeds", ""];
  const shown = [...new Set([...o.metrics, ...(o.baseline ? o.metrics.map((m) => `random_init_${m}`) : [])])]
    .filter((m) => folders.some((f) => f.values[m]));
  lines.push(tableLines(
    ["run", "seeds", ...shown],
    folders.map((f) => [
      f.name,
      f.seeds.join(",") + (f.notFinished.length ? ` (partial: ${f.notFinished.join(",")} not finished)` : ""),
      ...shown.map((m) => (f.values[m] ? spreadCell({ ...meanStd(f.values[m]), values: f.values[m] }) : "—")),
    ]),
  ));
  const headings = {
    between: o.paired
      ? `## Differences B − A, paired t-test by seed (one seed, one initialisation), α = ${o.alpha}`
      : `## Differences B − A, Welch's t-test (independent seeds), α = ${o.alpha}`,
    baseline: `## Against the random-init encoder of the same runs, paired t-test by seed, α = ${o.alpha}`,
  };
  for (const kind of ["between", "baseline"] as const) {
    const rows = comparisons.filter((c) => c.kind === kind);
    if (!rows.length) continue;
    lines.push(
      "",
      headings[kind],
      "",
      tableLines(
        ["metric", "A", "B", "B − A", "t", "df", "p", "p, Holm", "larger than the spread"],
        rows.map((c) => [
          c.metric,
          c.a,
          c.b,
          signed(c.diff),
          num(c.t, 2),
          num(c.df, 1),
          pText(c.p),
          pText(c.pHolm),
          c.larger ? "yes" : "no",
        ]),
      ),
    );
  }
  return lines.join("\n");
}

const signed = (v: number) => (v > 0 ? "+" : v < 0 ? "−" : "") + String(Number(Math.abs(v).toPrecision(3)));

function main(): void {
  const o = parseCompareArgs(process.argv.slice(2));
  if (o === "help") return console.log(USAGE);
  const folders = o.dirs.map((d, i) => readSeedsFolder(d, o.names[i]));
  for (const f of folders) {
    if (f.notFinished.length) {
      console.error(`note: ${f.dir} is partial (seeds ${f.notFinished.join(", ")} not finished)`);
    }
  }
  const comparisons = compareFolders(folders, o);
  const md = compareMarkdown(folders, comparisons, o);
  // everything is computed before anything is written
  if (o.out) writeFileAtomic(o.out, md);
  if (o.json) writeJson(o.json, { alpha: o.alpha, folders, comparisons });
  console.log(md);
}

// a rejected promise, so that runTool reports the error and sets the exit status
if (import.meta.main) runTool("seeds_compare", () => Promise.resolve().then(main));

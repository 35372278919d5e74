// The λ-free study with --seeds (examples/lambda_free/): the flag, one spec per seed laid out as a
// pipeline's --seeds lays them out, each configuration's mean ± sample std against a float64
// reference, and a tiny study on synthetic data whose seeds are reused when it is run again.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlagError } from "../dsl/cli.ts";
import { loadSpec, specHash } from "../dsl/io.ts";
import * as lambdaFree from "../examples/lambda_free.ts";
import type { SeedOutcome } from "../run/seeds.ts";
import { assertThrows } from "./util/assert.ts";

const SMALL_FLAGS: Record<string, string> = {
  data: "synthetic",
  dims: "16",
  optimizers: "lars",
  lambdas: "0.0051",
  "budget-steps": "2",
  "train-limit": "256",
  "test-limit": "64",
  batch: "16",
  encoder: "mlp:16",
};
/** the small study's flags, some replaced or added */
const small = (more: Record<string, string> = {}) =>
  Object.entries({ ...SMALL_FLAGS, ...more }).flatMap(([k, v]) => [`--${k}`, v]);
const SMALL = small();
const study = (args: string[]) => {
  const o = lambdaFree.parseStudyArgs(args);
  if (o === "help") throw new Error("help");
  return o;
};
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

/** float64 mean and sample standard deviation (n − 1), written out here as the reference */
function reference(xs: number[]): { mean: number; std: number } {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / (xs.length - 1)) };
}

Deno.test("lambda-free --seeds: parsed, refused with --seed or a bad list; one spec per seed in runs/<key>/seed-N", () => {
  for (
    const [args, msg] of [
      [["--seeds", "0,1", "--seed", "2"], "--seeds: cannot be combined with --seed"],
      [["--seeds", "1,1"], "--seeds: seed 1 is listed twice"],
      [["--seeds", "a"], "--seeds: expected an integer ≥ 0, got 'a'"],
    ] as const
  ) {
    assertThrows(() => lambdaFree.parseStudyArgs([...args]), msg);
    try {
      lambdaFree.parseStudyArgs([...args]);
    } catch (e) {
      if (!(e instanceof FlagError) || e.flag !== "--seeds") throw new Error(String(e));
    }
  }
  const o = study(small({ dims: "16,32", lambdas: "0.0051,mean", seeds: "3,5", out: "/tmp/lf" }));
  const plan = lambdaFree.planRuns(o);
  if (plan.length !== 4) throw new Error(`${plan.length} configurations`);
  for (const c of plan) {
    if (c.dir !== join("/tmp/lf", "runs", c.key)) throw new Error(c.dir);
    const got = c.seeds.map((r) => [r.seed, r.dir, r.spec.seed]);
    const want = [[3, join(c.dir, "seed-3"), 3], [5, join(c.dir, "seed-5"), 5]];
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(JSON.stringify(got));
    // the seed is all that differs from the configuration's spec
    for (const r of c.seeds) {
      if (specHash({ ...r.spec, seed: c.spec.seed }) !== specHash(c.spec)) throw new Error(`${c.key} seed ${r.seed}`);
    }
  }
  // without --seeds: the configuration's one run, in runs/<key>, at the preset's seed
  const one = lambdaFree.planRuns(study(SMALL))[0];
  if (one.seeds.length !== 1 || one.seeds[0].dir !== one.dir || one.seeds[0].spec !== one.spec) {
    throw new Error(JSON.stringify(one.seeds.map((r) => r.dir)));
  }
});

Deno.test("lambda-free --seeds: a configuration's figures are the float64 mean ± sample std of its seeds; tables say so", () => {
  const o = study([...SMALL, "--seeds", "0,1,2"]);
  const base = lambdaFree.baseSpec(o);
  const [c] = lambdaFree.planRuns(o, base);
  const knn = [0.8125, 0.78125, 0.859375], linear = [0.75, 0.8, 0.7];
  const outcomes: SeedOutcome[] = c.seeds.map((r, i) => ({
    seed: r.seed,
    out: r.dir,
    status: "done",
    report: { knn_top1: knn[i], linear_top1: linear[i], loss_last: 10 + i, spec_hash: "x" },
  }));
  const r = lambdaFree.resultOfSeeds(c, outcomes);
  for (const [f, xs] of [["knn_top1", knn], ["linear_top1", linear]] as const) {
    const want = reference(xs);
    if (r[f] !== want.mean || r.std?.[f] !== want.std) throw new Error(`${f}: ${r[f]} ± ${r.std?.[f]}`);
    if (JSON.stringify(r.values?.[f]) !== JSON.stringify({ "0": xs[0], "1": xs[1], "2": xs[2] })) {
      throw new Error(JSON.stringify(r.values));
    }
  }
  if (r.status !== "ok" || r.seeds.join() !== "0,1,2") throw new Error(JSON.stringify(r));
  const k = reference(knn);
  const cell = `${(100 * k.mean).toFixed(1)} ± ${(100 * k.std).toFixed(1)}`;
  const md = lambdaFree.resultsTable(o, base, [r]);
  if (
    !md.includes(`| 16 | ${cell} |`) || !md.includes("seeds 0, 1, 2: each cell is the mean ± sample standard deviation")
  ) {
    throw new Error(`wanted ${cell}:\n${md}`);
  }
  // seed 1 diverged: the figures are seeds 0 and 2's, the configuration partial
  const cut = lambdaFree.resultOfSeeds(c, [
    outcomes[0],
    { ...outcomes[1], status: "failed", report: undefined, reason: "diverged (loss became NaN at step 1)" },
    outcomes[2],
  ]);
  const two = reference([knn[0], knn[2]]);
  if (cut.status !== "partial" || cut.knn_top1 !== two.mean || cut.std?.knn_top1 !== two.std) {
    throw new Error(JSON.stringify(cut));
  }
  if (cut.reason !== "seed 1: diverged (loss became NaN at step 1)") throw new Error(cut.reason);
  if (!lambdaFree.resultsTable(o, base, [cut]).includes(`(2/3 seeds)`)) throw new Error("partial cell");
});

Deno.test("lambda-free --seeds 0,1: a tiny study writes each seed's run and the summaries; run again, it reuses them", async () => {
  const out = mkdtempSync(join(tmpdir(), "lambda-free-seeds-"));
  try {
    const o = study([...SMALL, "--seeds", "0,1", "--out", out]);
    const [c] = lambdaFree.planRuns(o);
    // a configuration folder that holds a single run is refused before anything runs
    mkdirSync(c.dir, { recursive: true });
    writeFileSync(join(c.dir, "metrics.jsonl"), "");
    await lambdaFree.runStudy(o).then(
      () => {
        throw new Error("a single run's folder was taken for the seeds' summary");
      },
      (e) => {
        if (!String(e).includes(`${c.dir} holds a single run`)) throw e;
      },
    );
    if (existsSync(join(out, "results.json")) || existsSync(join(c.dir, "seed-0"))) throw new Error("written");
    rmSync(join(c.dir, "metrics.jsonl"));

    const [r] = await lambdaFree.runStudy(o);
    const reports = c.seeds.map((s) => readJson(join(s.dir, "report.json")));
    c.seeds.forEach((s, i) => {
      if (
        reports[i].spec_hash !== specHash(s.spec) || specHash(loadSpec(join(s.dir, "spec.json"))) !== specHash(s.spec)
      ) {
        throw new Error(`seed ${s.seed}: not its spec's run`);
      }
    });
    const results = readJson(join(out, "results.json"));
    const summary = readJson(join(c.dir, "report.json"));
    for (const f of ["knn_top1", "linear_top1", "loss_last", "effective_rank"]) {
      const want = reference(reports.map((x) => x[f]));
      if (r[f as "knn_top1"] !== want.mean || results.runs[0][f] !== want.mean || results.runs[0].std[f] !== want.std) {
        throw new Error(`${f}: ${JSON.stringify(results.runs[0])} vs ${JSON.stringify(want)}`);
      }
      if (summary.metrics[f].mean !== want.mean || summary.metrics[f].std !== want.std) {
        throw new Error(`${c.dir}/report.json ${f}: ${JSON.stringify(summary.metrics[f])}`);
      }
    }
    if (r.status !== "ok" || r.reused || JSON.stringify(summary.seeds) !== "[0,1]" || summary.partial) {
      throw new Error(JSON.stringify({ r, summary }));
    }
    const mtimes = c.seeds.map((s) => statSync(join(s.dir, "report.json")).mtimeMs);
    const [again] = await lambdaFree.runStudy(o);
    if (!again.reused || again.knn_top1 !== r.knn_top1) throw new Error(JSON.stringify(again));
    if (c.seeds.some((s, i) => statSync(join(s.dir, "report.json")).mtimeMs !== mtimes[i])) {
      throw new Error("a reused seed's run was rerun");
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

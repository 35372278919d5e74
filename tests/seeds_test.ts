// --seeds (run/seeds.ts): the flag's errors, the summary against a float64 mean and sample std
// of the seeds' own reports, the folders it refuses, and tiny runs on synthetic data: each seed's
// folder equals a separate --seed N run, and a complete seed folder is reused, not rerun.
import { join } from "node:path";
import { FlagError, parseFlags } from "../dsl/cli.ts";
import { presets } from "../dsl/presets.ts";
import { specHash } from "../dsl/io.ts";
import { runCommand } from "../run/command.ts";
import { reportMetrics } from "../run/run_report.ts";
import {
  planSeeds,
  runSeeds,
  seedFolder,
  type SeedOutcome,
  type SeedResult,
  type SeedRun,
  seedsMarkdown,
  seedsReport,
} from "../run/seeds.ts";
import { assertThrows } from "./util/assert.ts";

const preset = presets.simclr();
const SMALL = [
  "--data",
  "synthetic",
  "--train-limit",
  "256",
  "--test-limit",
  "64",
  "--encoder",
  "mlp:16",
  "--proj",
  "16,8",
  "--batch",
  "16",
  "--steps",
  "2",
];
const tmp = () => Deno.makeTempDirSync({ prefix: "seeds_test_" });
const readJson = (path: string) => JSON.parse(Deno.readTextFileSync(path));

/** float64 mean and sample standard deviation (n − 1), written out here as the reference */
function reference(xs: number[]): { mean: number; std: number | null } {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  if (xs.length < 2) return { mean, std: null };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / (xs.length - 1)) };
}

Deno.test("--seeds: bad lists and the flags it excludes are FlagErrors naming --seeds; the list is parsed", () => {
  const cases: [string[], string][] = [
    [["--seeds", "0,1", "--seed", "3"], "--seeds: cannot be combined with --seed"],
    [["--seeds", "0,1", "--resume", "runs/x"], "--seeds: cannot be combined with --resume"],
    [["--seeds", ""], "--seeds: expected a comma-separated list"],
    [["--seeds", "0,,1"], "--seeds: expected a comma-separated list"],
    [["--seeds", "0,1,0"], "--seeds: seed 0 is listed twice"],
    [["--seeds", "0,x"], "--seeds: expected an integer ≥ 0, got 'x'"],
    [["--seeds", "1.5"], "--seeds: expected an integer ≥ 0, got '1.5'"],
    [["--seeds", "-1"], "--seeds: expected an integer ≥ 0, got '-1'"],
  ];
  for (const [args, msg] of cases) {
    assertThrows(() => parseFlags(args, preset), msg);
    try {
      parseFlags(args, preset);
    } catch (e) {
      if (!(e instanceof FlagError) || e.flag !== "--seeds") throw new Error(`${args.join(" ")}: ${e}`);
    }
  }
  const cli = parseFlags(["--seeds", "2, 0,7", "--out", "d"], preset);
  if (cli.seeds?.join() !== "2,0,7" || cli.out !== "d") throw new Error(`parsed ${JSON.stringify(cli.seeds)}`);
  if (parseFlags([], preset).seeds !== undefined) throw new Error("no --seeds, yet a list");
});

Deno.test("--seeds: a flag error exits 2 and writes nothing", async () => {
  const dir = tmp();
  try {
    const out = join(dir, "study");
    for (const bad of [["--seeds", "0,0"], ["--seeds", "0,1", "--seed", "1"]]) {
      const r = await runCommand(preset, "pipelines/simclr.ts", [...SMALL, ...bad, "--out", out]);
      if (r.code !== 2 || !r.error?.startsWith("--seeds:")) throw new Error(`${bad.join(" ")}: ${JSON.stringify(r)}`);
    }
    if (Deno.readDirSync(dir).next().done !== true) throw new Error("a refused command wrote in the folder");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

const fakeReport = (seed: number, knn: number, loss: number, extra: Record<string, unknown> = {}) => ({
  method: "simclr",
  name: "simclr",
  dataset: "synthetic",
  batch: 16,
  steps: 2,
  knn_top1: knn,
  linear_top1: null,
  loss_last: loss,
  collapse_warning: null,
  spec_hash: `h${seed}`,
  segments: [{ from_step: 0, to_step: 2, seconds: 1 }],
  ...extra,
});

Deno.test("seeds summary: mean ± sample std (n − 1) of every figure, each seed's value, partial when a seed failed", () => {
  const knn = [0.8125, 0.78125, 0.84375], loss = [3.25, 3.5, 2.875];
  const outcomes: SeedOutcome[] = [0, 1, 2].map((s) => ({
    seed: s * 10,
    out: `d/seed-${s * 10}`,
    status: s === 1 ? "reused" : "done",
    report: fakeReport(s, knn[s], loss[s], { nested: { a: s + 1, b: "x" } }),
  }));
  const doc = seedsReport(outcomes) as { metrics: Record<string, Record<string, unknown>>; [k: string]: unknown };
  // settings (batch, steps), text, nulls and lists are not figures; a nested figure is named with a dot
  if (Object.keys(doc.metrics).join() !== "knn_top1,loss_last,nested.a") {
    throw new Error(`metrics ${Object.keys(doc.metrics)}`);
  }
  for (const [m, xs] of [["knn_top1", knn], ["loss_last", loss], ["nested.a", [1, 2, 3]]] as const) {
    const want = { ...reference([...xs]), n: 3, values: { "0": xs[0], "10": xs[1], "20": xs[2] } };
    const got = doc.metrics[m];
    if (Math.abs((got.mean as number) - want.mean) > 1e-15 || Math.abs((got.std as number) - want.std!) > 1e-15) {
      throw new Error(`${m}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
    if (JSON.stringify({ n: got.n, values: got.values }) !== JSON.stringify({ n: want.n, values: want.values })) {
      throw new Error(`${m}: ${JSON.stringify(got)}`);
    }
  }
  if (doc.partial || doc.method !== "simclr" || doc.batch !== 16 || JSON.stringify(doc.seeds) !== "[0,10,20]") {
    throw new Error(JSON.stringify(doc));
  }
  const md = seedsMarkdown(outcomes);
  // by hand: mean 0.8125, deviations 0, ∓1/32: std √((2/1024)/2) = 1/32 = 0.03125 → two digits, 0.031
  const row = "| knn_top1 | 0.813 ± 0.031 | 0.8125 | 0.7813 | 0.8438 |";
  if (!md.includes("| metric | mean ± std | seed 0 | seed 10 | seed 20 |") || !md.includes(row)) {
    throw new Error(`table:\n${md}\nwanted the row ${row}`);
  }

  // seed 10 failed, seed 20 was never reached: the summary is over seed 0 alone, marked partial
  const cut: SeedOutcome[] = [
    outcomes[0],
    { seed: 10, out: "d/seed-10", status: "failed", reason: "loss became NaN" },
    { seed: 20, out: "d/seed-20", status: "not run" },
  ];
  const p = seedsReport(cut) as { metrics: Record<string, Record<string, unknown>>; [k: string]: unknown };
  if (!p.partial || JSON.stringify(p.not_finished) !== "[10,20]" || p.metrics.knn_top1.std !== null) {
    throw new Error(JSON.stringify(p));
  }
  if (!seedsMarkdown(cut).includes("PARTIAL: not finished: seed 10 (failed: loss became NaN), seed 20 (not run)")) {
    throw new Error(seedsMarkdown(cut));
  }
  const none = seedsReport([{ seed: 1, out: "d/seed-1", status: "interrupted" }]);
  if (JSON.stringify(none.metrics) !== "{}" || !none.partial) throw new Error(JSON.stringify(none));
});

Deno.test("seeds folders: a single run's folder and unfinished or other-spec seed runs are refused unless --overwrite", () => {
  const dir = tmp();
  try {
    const spec = parseFlags(SMALL, preset).spec;
    // a complete run of the spec with seed 0 is reused; seed 1's empty folder is simply run
    Deno.mkdirSync(seedFolder(dir, 0));
    Deno.mkdirSync(seedFolder(dir, 1));
    const complete = { knn_top1: 1, spec_hash: specHash({ ...spec, seed: 0 }) };
    Deno.writeTextFileSync(join(seedFolder(dir, 0), "report.json"), JSON.stringify(complete));
    const plan = planSeeds(spec, dir, [0, 1], false);
    if (
      plan[0].reuse?.knn_top1 !== 1 || plan[1].reuse || plan[1].spec.seed !== 1 || plan[1].out !== seedFolder(dir, 1)
    ) {
      throw new Error(JSON.stringify(plan.map((p) => [p.out, p.spec.seed, !!p.reuse])));
    }
    // the same report is another spec's for seed 2 (its hash is seed 0's)
    Deno.mkdirSync(seedFolder(dir, 2));
    Deno.writeTextFileSync(join(seedFolder(dir, 2), "report.json"), JSON.stringify(complete));
    Deno.writeTextFileSync(join(seedFolder(dir, 1), "metrics.jsonl"), "");
    assertThrows(
      () => planSeeds(spec, dir, [0, 1, 2], false),
      `${seedFolder(dir, 1)} holds an unfinished run (metrics.jsonl); ${
        seedFolder(dir, 2)
      } holds a complete run of another spec`,
    );
    const over = planSeeds(spec, dir, [0, 1, 2], true);
    if (over.map((p) => !!p.reuse).join() !== "true,false,false") throw new Error("--overwrite plan");
    // a folder that holds a single run is not a seeds folder
    Deno.writeTextFileSync(join(dir, "metrics.jsonl"), "");
    assertThrows(() => planSeeds(spec, dir, [0], true), `${dir} holds a single run (metrics.jsonl)`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runSeeds: a failed seed is recorded and the rest run; an interrupt stops; the summary is partial", async () => {
  const dir = tmp();
  try {
    const spec = parseFlags(SMALL, preset).spec;
    const plan = (out: string) => planSeeds(spec, out, [0, 1, 2], false);
    const quiet = () => {};
    const ran: number[] = [];
    const fake = (codes: Record<number, number>) => (r: SeedRun): Promise<SeedResult> => {
      ran.push(r.seed);
      const code = codes[r.seed] ?? 0;
      if (code === 0) return Promise.resolve({ code, report: fakeReport(r.seed, 0.5 + r.seed / 8, 3) });
      return Promise.resolve({ code, error: code === 2 ? "loss became NaN at step 1" : undefined });
    };
    // seed 1 fails (a user error's status, 2): seeds 0 and 2 still run; the exit status is the failure's
    const a = join(dir, "a");
    const failed = await runSeeds(plan(a), a, fake({ 1: 2 }), quiet);
    const summary = readJson(join(a, "report.json"));
    if (failed.code !== 2 || ran.join() !== "0,1,2" || JSON.stringify(summary.not_finished) !== "[1]") {
      throw new Error(JSON.stringify({ failed, ran, summary }));
    }
    const knn = reference([0.5, 0.75]);
    if (summary.metrics.knn_top1.mean !== knn.mean || summary.metrics.knn_top1.std !== knn.std) {
      throw new Error(JSON.stringify(summary.metrics.knn_top1));
    }
    if (summary.runs[1].reason !== "loss became NaN at step 1") throw new Error(JSON.stringify(summary.runs));
    // seed 1 interrupted (130): seed 2 is not run; the summary covers seed 0, marked partial
    ran.length = 0;
    const b = join(dir, "b");
    const stopped = await runSeeds(plan(b), b, fake({ 1: 130 }), quiet);
    const partial = readJson(join(b, "report.json"));
    if (stopped.code !== 130 || ran.join() !== "0,1" || !partial.partial) throw new Error(JSON.stringify(partial));
    if (partial.runs.map((x: { status: string }) => x.status).join() !== "done,interrupted,not run") {
      throw new Error(JSON.stringify(partial.runs));
    }
    if (partial.metrics.knn_top1.n !== 1 || partial.metrics.knn_top1.std !== null) {
      throw new Error("one seed's summary");
    }
    if (!Deno.readTextFileSync(join(b, "table.md")).includes("PARTIAL: not finished: seed 1 (interrupted)")) {
      throw new Error(Deno.readTextFileSync(join(b, "table.md")));
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("examples take --seeds: listed in --help; a bad list exits 2 with nothing written", async () => {
  const dir = tmp();
  try {
    for (const example of ["examples/byol_barlow.ts", "examples/infonce_barlow.ts"]) {
      const run = (args: string[]) =>
        new Deno.Command(Deno.execPath(), { args: ["run", "-A", example, ...args], stdout: "piped", stderr: "piped" })
          .output();
      const help = new TextDecoder().decode((await run(["--help"])).stdout);
      if (!help.includes("--seeds N,N,…")) throw new Error(`${example} --help:\n${help}`);
      const bad = await run([...SMALL, "--seeds", "1,1", "--out", join(dir, "x")]);
      const err = new TextDecoder().decode(bad.stderr);
      if (bad.code !== 2 || !err.includes("--seeds: seed 1 is listed twice")) throw new Error(`${example}: ${err}`);
    }
    if (Deno.readDirSync(dir).next().done !== true) throw new Error("a refused command wrote in the folder");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** report.json without the figures that measure time on a shared machine */
function untimed(r: Record<string, unknown>) {
  const { seconds: _s, images_per_sec: _i, eval_seconds: _e, segments: _g, ...rest } = r;
  return rest;
}

Deno.test("--seeds 0,1: seed-N equals a separate --seed N run, a complete seed is reused, the summary is float64 exact", async () => {
  const dir = tmp();
  const logged: string[] = [];
  const log = console.log;
  try {
    const study = join(dir, "study");
    // seed 0 run on its own, into the folder --seeds would give it
    const first = await runCommand(preset, "pipelines/simclr.ts", [
      ...SMALL,
      "--seed",
      "0",
      "--out",
      seedFolder(study, 0),
    ]);
    if (first.code !== 0) throw new Error(`--seed 0: ${JSON.stringify(first)}`);
    const before = Deno.statSync(join(seedFolder(study, 0), "report.json")).mtime!.getTime();
    console.log = (...a: unknown[]) => void logged.push(a.join(" "));
    const r = await runCommand(preset, "pipelines/simclr.ts", [...SMALL, "--seeds", "0,1", "--out", study]);
    console.log = log;
    if (r.code !== 0) throw new Error(`--seeds: ${JSON.stringify(r)}\n${logged.join("\n")}`);
    if (Deno.statSync(join(seedFolder(study, 0), "report.json")).mtime!.getTime() !== before) {
      throw new Error("seed 0 was complete, yet its report was rewritten");
    }
    if (!logged.some((l) => l.includes(`${seedFolder(study, 0)} holds a complete run of this spec; reusing`))) {
      throw new Error(`no word of the reuse:\n${logged.join("\n")}`);
    }
    // seed 1 as a separate run
    const alone = join(dir, "alone");
    const second = await runCommand(preset, "pipelines/simclr.ts", [...SMALL, "--seed", "1", "--out", alone]);
    if (second.code !== 0) throw new Error(`--seed 1: ${JSON.stringify(second)}`);
    const seed1 = readJson(join(seedFolder(study, 1), "report.json"));
    if (JSON.stringify(untimed(seed1)) !== JSON.stringify(untimed(readJson(join(alone, "report.json"))))) {
      throw new Error("seed-1's report differs from a separate --seed 1 run's");
    }
    const seed0 = readJson(join(seedFolder(study, 0), "report.json"));
    const summary = readJson(join(study, "report.json"));
    if (summary.partial || JSON.stringify(summary.seeds) !== "[0,1]") throw new Error(JSON.stringify(summary));
    if (summary.runs.map((x: { status: string }) => x.status).join() !== "reused,done") {
      throw new Error(JSON.stringify(summary.runs));
    }
    const m0 = reportMetrics(seed0), m1 = reportMetrics(seed1);
    for (
      const m of ["knn_top1", "linear_top1", "random_init_knn_top1", "loss_last", "effective_rank", "images_per_sec"]
    ) {
      const want = reference([m0[m], m1[m]]);
      const got = summary.metrics[m];
      if (got.mean !== want.mean || got.std !== want.std || got.values["0"] !== m0[m] || got.values["1"] !== m1[m]) {
        throw new Error(`${m}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)} from ${m0[m]}, ${m1[m]}`);
      }
    }
    const md = Deno.readTextFileSync(join(study, "table.md"));
    if (!/\| knn_top1 \| .* \| .* \| .* \|/.test(md) || !md.includes("| metric | mean ± std | seed 0 | seed 1 |")) {
      throw new Error(md);
    }
  } finally {
    console.log = log;
    Deno.removeSync(dir, { recursive: true });
  }
});

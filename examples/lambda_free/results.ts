// The λ-free study's results: one record per configuration (from its seeds' report.json files,
// mean ± sample std over them, or why it has none), the markdown tables, the accuracy-vs-D
// plot, and the files they are written to.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { linePlots } from "../../report/plot.ts";
import { meanStd, meanStdCell } from "../../eval/metrics/summary.ts";
import { describeModule } from "../../run/run_report.ts";
import type { SeedOutcome } from "../../run/seeds.ts";
import type { Lambda, OptKind, StudyOptions } from "./options.ts";
import { lambdaKey, lambdaLabel, type RunConfig } from "./plan.ts";

export interface RunResult {
  key: string;
  d: number;
  lambda: Lambda;
  lambda_value: number;
  optimizer: OptKind;
  /** ok: every seed finished; partial: some did (the figures are theirs); failed: none did */
  status: "ok" | "partial" | "failed" | "skipped";
  reason?: string;
  /** every seed's run was reused from an earlier study */
  reused?: boolean;
  dir: string;
  /** the seeds whose runs finished: the figures below are the mean over them */
  seeds: number[];
  knn_top1?: number;
  linear_top1?: number;
  random_init_knn_top1?: number;
  loss_first?: number;
  loss_last?: number;
  c_diag_mean?: number;
  c_offdiag_abs_mean?: number;
  effective_rank?: number;
  seconds?: number;
  images_per_sec?: number;
  /** each figure's sample standard deviation over the seeds (n − 1), for two seeds or more */
  std?: Partial<Record<Figure, number>>;
  /** each figure's value per seed, for two seeds or more */
  values?: Partial<Record<Figure, Record<string, number>>>;
}

const REPORT_FIELDS = [
  "knn_top1",
  "linear_top1",
  "random_init_knn_top1",
  "loss_first",
  "loss_last",
  "c_diag_mean",
  "c_offdiag_abs_mean",
  "effective_rank",
  "seconds",
  "images_per_sec",
] as const;
type Figure = (typeof REPORT_FIELDS)[number];

/** A run's result from its report.json (or its failure): a configuration run at one seed. */
export function resultOf(
  c: RunConfig,
  report: Record<string, unknown> | undefined,
  failure?: { status: "failed" | "skipped"; reason: string },
): RunResult {
  if (failure?.status === "skipped") return resultOfSeeds(c, [], failure.reason);
  const base = { seed: c.spec.seed, out: c.dir };
  return resultOfSeeds(c, [
    report
      ? { ...base, status: "done", report }
      : { ...base, status: "failed", reason: failure?.reason ?? "no report" },
  ]);
}

/**
 * A configuration's result from its seeds' runs: each figure's mean over the seeds that
 * finished (float64, eval/metrics), with the sample std and every seed's value when there are
 * two or more; `skipped` says why none was run.
 */
export function resultOfSeeds(c: RunConfig, outcomes: SeedOutcome[], skipped?: string): RunResult {
  const finished = outcomes.filter((x) => (x.status === "done" || x.status === "reused") && x.report);
  const r: RunResult = {
    key: c.key,
    d: c.d,
    lambda: c.lambda,
    lambda_value: c.lambda === "mean" ? 1 / (c.d - 1) : c.lambda,
    optimizer: c.optimizer,
    status: skipped ? "skipped" : !finished.length ? "failed" : finished.length < outcomes.length ? "partial" : "ok",
    dir: c.dir,
    seeds: finished.map((x) => x.seed),
  };
  const failed = outcomes.filter((x) => !finished.includes(x));
  if (skipped) r.reason = skipped;
  else if (failed.length) {
    const why = (x: SeedOutcome) => x.reason ?? x.status;
    r.reason = outcomes.length === 1 ? why(failed[0]) : failed.map((x) => `seed ${x.seed}: ${why(x)}`).join("; ");
  }
  if (finished.length && finished.length === outcomes.length && outcomes.every((x) => x.status === "reused")) {
    r.reused = true;
  }
  for (const k of REPORT_FIELDS) {
    const xs = finished.map((x) => x.report![k]);
    if (!xs.length || !xs.every((v) => typeof v === "number" && Number.isFinite(v))) continue;
    const { mean, std } = meanStd(xs as number[]);
    r[k] = mean;
    if (xs.length > 1) {
      (r.std ??= {})[k] = std;
      (r.values ??= {})[k] = Object.fromEntries(finished.map((x, i) => [String(x.seed), xs[i] as number]));
    }
  }
  return r;
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
/** A top-1 figure in percent: mean ± sample std over the seeds (the value alone for one seed). */
const pct = (r: RunResult, f: "knn_top1" | "linear_top1" | "random_init_knn_top1") =>
  r[f] === undefined
    ? "–"
    : meanStdCell({ mean: r[f]!, std: r.std?.[f] ?? NaN, values: Object.values(r.values?.[f] ?? {}) }, {
      digits: 1,
      scale: 100,
    });
const measured = (r: RunResult | undefined) => r?.status === "ok" || r?.status === "partial";
export const OPT_NAME: Record<OptKind, string> = { lars: "LARS", sgd: "SGD" };
const seriesKey = (r: { lambda: Lambda; optimizer: OptKind }) => `λ=${lambdaLabel(r.lambda)} ${OPT_NAME[r.optimizer]}`;

/** The markdown report: a kNN and a linear table (rows D, columns λ × optimizer), then every run. */
export function resultsTable(o: StudyOptions, base: PipelineSpec, results: RunResult[]): string {
  const cols = o.optimizers.flatMap((opt) => o.lambdas.map((lambda) => ({ lambda, optimizer: opt })));
  const cell = (d: number, c: (typeof cols)[number], f: "knn_top1" | "linear_top1") => {
    const r = results.find((x) =>
      x.d === d && x.optimizer === c.optimizer && lambdaKey(x.lambda) === lambdaKey(c.lambda)
    );
    if (!r) return "…";
    if (!measured(r)) return r.status;
    return pct(r, f) + (r.status === "partial" ? ` (${r.seeds.length}/${o.seeds?.length ?? 1} seeds)` : "");
  };
  const table = (f: "knn_top1" | "linear_top1") => [
    `| D | ${cols.map(seriesKey).join(" | ")} |`,
    `|---:|${cols.map(() => "---:").join("|")}|`,
    ...o.dims.map((d) => `| ${d} | ${cols.map((c) => cell(d, c, f)).join(" | ")} |`),
  ];
  const proj = `${Array(o.projLayers).fill("D").join("-")}`;
  const spe = Math.floor(o.trainLimit / base.batch);
  const num = (v: number | undefined, p = 4) => (v === undefined ? "–" : v.toPrecision(p));
  return [
    "# λ-free Barlow Twins: λ = 0.0051 vs λ = 1/(D−1)",
    "",
    `${o.data}, ${o.trainLimit} train / ${o.testLimit} test images; encoder ${describeModule(base, "encoder")}, ` +
    `projector ${proj}; batch ${base.batch}; ${o.budgetSteps} steps per run (${
      (o.budgetSteps / spe).toFixed(1)
    } epochs, ` +
    `warmup ${
      plural(Math.round(o.warmupFrac * o.budgetSteps), "step")
    }, cosine); LARS lr ${o.larsLr} (biases 0.0048, η 1e-3), ` +
    `SGD lr ${o.sgdLr} (momentum 0.9), base lrs at batch 256; weight decay ${base.optimizer.weightDecay}; ` +
    (o.seeds
      ? `seeds ${o.seeds.join(", ")}: each cell is the mean ± sample standard deviation (n − 1) over them.`
      : `seed ${base.seed}.`),
    "",
    "## kNN top-1 (%)",
    "",
    ...table("knn_top1"),
    "",
    "## Linear probe top-1 (%)",
    "",
    ...table("linear_top1"),
    "",
    "## Every run",
    "",
    "| D | λ | λ value | optimizer | kNN | linear | random-init kNN | loss first → last | mean C_ii | eff. rank | train s | status |",
    "|---:|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|",
    ...results.map((r) =>
      `| ${r.d} | ${lambdaLabel(r.lambda)} | ${r.lambda_value.toPrecision(3)} | ${OPT_NAME[r.optimizer]} | ${
        pct(r, "knn_top1")
      } | ` +
      `${pct(r, "linear_top1")} | ${pct(r, "random_init_knn_top1")} | ${num(r.loss_first)} → ${num(r.loss_last)} | ` +
      `${num(r.c_diag_mean, 3)} | ${num(r.effective_rank, 3)} | ${r.seconds?.toFixed(1) ?? "–"} | ${r.status}${
        r.reason ? `: ${r.reason}` : ""
      }${r.reused ? " (reused)" : ""} |`
    ),
    "",
  ].join("\n");
}

/** kNN and linear top-1 against log2 D, one line per (λ, optimizer); failed runs leave gaps. */
export function resultsPlot(o: StudyOptions, results: RunResult[]): string {
  const keys = o.optimizers.flatMap((opt) => o.lambdas.map((lambda) => ({ lambda, optimizer: opt })));
  const dims = [...o.dims].sort((a, b) => a - b);
  const panel = (f: "knn_top1" | "linear_top1", title: string) => ({
    title,
    xLabel: `log2 D  (D = ${dims.join(", ")})`,
    yLabel: "top-1 (%)",
    series: keys.map((k) => ({
      name: seriesKey(k),
      x: dims.map(Math.log2),
      y: dims.map((d) => {
        const r = results.find((x) =>
          x.d === d && x.optimizer === k.optimizer && lambdaKey(x.lambda) === lambdaKey(k.lambda)
        );
        return measured(r) && r![f] !== undefined ? 100 * r![f]! : NaN;
      }),
    })),
  });
  return linePlots([
    panel("knn_top1", "kNN top-1 vs projector width"),
    panel("linear_top1", "linear probe top-1 vs projector width"),
  ]);
}

export function writeOutputs(o: StudyOptions, base: PipelineSpec, results: RunResult[]): void {
  mkdirSync(o.out, { recursive: true });
  const { passThrough, ...options } = o;
  const doc = {
    study: "lambda-free",
    options,
    passThrough,
    encoder: describeModule(base, "encoder"),
    batch: base.batch,
    runs: results,
  };
  writeFileAtomic(join(o.out, "results.json"), JSON.stringify(doc, null, 2) + "\n");
  writeFileAtomic(join(o.out, "table.md"), resultsTable(o, base, results));
  writeFileAtomic(join(o.out, "accuracy.svg"), resultsPlot(o, results));
}

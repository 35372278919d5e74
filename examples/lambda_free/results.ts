// The λ-free study's results: one record per run (from its report.json, or why it has none),
// the markdown tables, the accuracy-vs-D plot, and the files they are written to.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { linePlots } from "../../report/plot.ts";
import { describeModule } from "../../run/run_report.ts";
import type { Lambda, OptKind, StudyOptions } from "./options.ts";
import { lambdaKey, lambdaLabel, type RunConfig } from "./plan.ts";

export interface RunResult {
  key: string;
  d: number;
  lambda: Lambda;
  lambda_value: number;
  optimizer: OptKind;
  status: "ok" | "failed" | "skipped";
  reason?: string;
  reused?: boolean;
  dir: string;
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

/** A run's result from its report.json (or its failure). */
export function resultOf(
  c: RunConfig,
  report: Record<string, unknown> | undefined,
  failure?: { status: "failed" | "skipped"; reason: string },
): RunResult {
  const r: RunResult = {
    key: c.key,
    d: c.d,
    lambda: c.lambda,
    lambda_value: c.lambda === "mean" ? 1 / (c.d - 1) : c.lambda,
    optimizer: c.optimizer,
    status: report ? "ok" : failure?.status ?? "failed",
    dir: c.dir,
  };
  if (failure) r.reason = failure.reason;
  for (const k of REPORT_FIELDS) {
    const v = report?.[k];
    if (typeof v === "number") r[k] = v;
  }
  return r;
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
const pct = (v: number | undefined) => (v === undefined ? "–" : (100 * v).toFixed(1));
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
    return r.status === "ok" ? pct(r[f]) : r.status;
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
    `SGD lr ${o.sgdLr} (momentum 0.9), base lrs at batch 256; weight decay ${base.optimizer.weightDecay}; seed ${base.seed}.`,
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
        pct(r.knn_top1)
      } | ` +
      `${pct(r.linear_top1)} | ${pct(r.random_init_knn_top1)} | ${num(r.loss_first)} → ${num(r.loss_last)} | ` +
      `${num(r.c_diag_mean, 3)} | ${num(r.effective_rank, 3)} | ${r.seconds ?? "–"} | ${r.status}${
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
        return r?.status === "ok" && r[f] !== undefined ? 100 * r[f]! : NaN;
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

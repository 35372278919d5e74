// The run report: report.json with the figures a user compares runs by, a loss/diagnostics
// plot (SVG), the final cross-correlation matrix (PNG), and a terminal summary.
import { join } from "node:path";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writeHeatmap } from "../report/heatmap.ts";
import { readMetrics, metricSeries } from "../report/metrics.ts";
import { linePlots, writeSvg } from "../report/plot.ts";
import { formatSummary } from "../report/summary.ts";
import type { EvalFigures } from "../eval/evaluate.ts";
import type { TrainResult } from "./trainer.ts";

export interface ReportInput {
  spec: PipelineSpec;
  out: string;
  run: TrainResult;
  trained: EvalFigures;
  random: EvalFigures;
  pixelsKnn: number;
}

export function describeModule(spec: PipelineSpec, name: string | undefined): string {
  if (!name) return "none";
  const m = spec.modules[name];
  if (!m) return name;
  switch (m.kind) {
    case "mlp":
      return `mlp ${m.widths.join("-")}`;
    case "cnn":
      return `cnn ${m.channels.join("-")}`;
    case "resnet18":
      return `resnet18 width ${m.width}`;
    case "seq":
      return m.path.map((p) => describeModule(spec, p)).join(" → ");
  }
}

export function writeReport(r: ReportInput): Record<string, unknown> {
  const { spec, out, run } = r;
  const firstBranch = spec.branches[0];
  const projector = firstBranch.path.find((p) => p !== run.lowered.encoder);
  const report: Record<string, unknown> = {
    method: spec.method,
    name: spec.name,
    dataset: run.data.train.name.replace(/\/train$/, ""),
    train_images: run.data.train.n,
    test_images: run.data.test.n,
    encoder: describeModule(spec, run.lowered.encoder),
    projector: describeModule(spec, projector),
    batch: spec.batch,
    epochs: run.epochs,
    steps: run.steps,
    seconds: round(run.seconds, 1),
    images_per_sec: round(run.imagesPerSec, 1),
    knn_top1: round(r.trained.knn_top1, 4),
    linear_top1: round(r.trained.linear_top1, 4),
    random_init_knn_top1: round(r.random.knn_top1, 4),
    random_init_linear_top1: round(r.random.linear_top1, 4),
    pixels_knn_top1: round(r.pixelsKnn, 4),
    loss_first: run.losses[0]?.loss ?? null,
    loss_last: run.losses.at(-1)?.loss ?? null,
    c_diag_mean: run.diag.corr_diag_mean ?? null,
    c_offdiag_abs_mean: run.diag.corr_offdiag_abs_mean ?? null,
    z_std_mean: run.diag.std_mean ?? null,
    z_std_min: run.diag.std_min ?? null,
    effective_rank: run.diag.effective_rank ?? null,
    collapse_warning: collapseWarning(run.diag, run.C ? { batch: spec.batch, dim: run.C.d } : undefined),
    spec_hash: specHash(spec),
    adapter: run.gpu.description,
    eval_seconds: round(r.trained.seconds + r.random.seconds, 1),
  };
  writeFileAtomic(join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");

  const recs = readMetrics(join(out, "metrics.jsonl"));
  const panels = [{ title: `${spec.method} loss`, xLabel: "step", yLabel: "loss", series: [{ name: "loss", ...metricSeries(recs, "loss") }] }];
  const cd = metricSeries(recs, "corr_diag_mean"), co = metricSeries(recs, "corr_offdiag_abs_mean");
  if (cd.x.length) {
    panels.push({
      title: "cross-correlation C of the two views",
      xLabel: "step",
      yLabel: "value",
      series: [{ name: "mean C_ii", ...cd }, { name: "mean |C_ij|, i≠j", ...co }, { name: "mean std of z", ...metricSeries(recs, "std_mean") }],
    });
  }
  writeSvg(join(out, "loss.svg"), linePlots(panels));
  if (run.C) writeHeatmap(join(out, "correlation.png"), run.C.data, run.C.d, { title: `cross-correlation C at step ${run.endStep}, D = ${run.C.d}` });
  return report;
}

/**
 * A warning when the final diagnostics show collapse: dimensions with no spread (complete
 * collapse), a rank below 2, or dimensional collapse — the embedding spread over fewer than
 * 1/50 of the directions it could use, min(batch, D), since the effective rank of a batch of N
 * embeddings of width D is at most min(N, D). (A healthy run keeps tens of directions even at
 * a few hundred steps; BYOL-style methods can sink to a handful while the loss still falls.)
 */
export function collapseWarning(d: Record<string, number>, size?: { batch: number; dim: number }): string | null {
  if (d.std_min !== undefined && d.std_min < 1e-3) return `some embedding dimensions collapsed (min std ${d.std_min.toExponential(2)})`;
  const rank = d.effective_rank;
  if (rank === undefined) return null;
  if (rank < 2) return `embedding collapsed to rank ~${rank.toFixed(2)}`;
  const most = size ? Math.min(size.batch, size.dim) : 0;
  if (rank < most / 50) {
    return `dimensional collapse: effective rank ${rank.toFixed(1)} of at most ${most} (batch ${size!.batch}, embedding width ${size!.dim})`;
  }
  return null;
}

export function summary(report: Record<string, unknown>, out: string): string {
  const pct = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "n/a");
  const lines = formatSummary(`${report.method} on ${report.dataset}: ${report.steps} steps in ${report.seconds} s (${report.images_per_sec} images/s)`, [
    ["loss", `${fmt(report.loss_first)} → ${fmt(report.loss_last)}`],
    ["C diag mean / |offdiag| mean", `${fmt(report.c_diag_mean)} / ${fmt(report.c_offdiag_abs_mean)}`],
    ["effective rank of z", fmt(report.effective_rank)],
    ["kNN top-1: trained / random init / pixels", `${pct(report.knn_top1)} / ${pct(report.random_init_knn_top1)} / ${pct(report.pixels_knn_top1)}`],
    ["linear top-1: trained / random init", `${pct(report.linear_top1)} / ${pct(report.random_init_linear_top1)}`],
    ["report", join(out, "report.json")],
  ]);
  return report.collapse_warning ? `${lines}\nWARNING: ${report.collapse_warning}` : lines;
}

const fmt = (v: unknown) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4)) : "n/a");
const round = (v: number, d: number) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

// The run report, written once a run is trained and evaluated: report.json with the figures a
// user compares runs by, a loss/diagnostics plot (SVG; with the online probe's test top-1 when
// the run has one), the final cross-correlation matrix (PNG), and a terminal summary. It
// describes the whole run, however many segments (resumes) it took: steps, time and losses come
// from every segment (the checkpoint's record of them and metrics.jsonl), not only the last one.
// An evaluation cut short (Ctrl-C) gives a report marked partial, with the figures not measured
// as null.
import { join } from "../platform/path.ts";
import { labelWarning } from "../data/dataset.ts";
import { ANOMALY_K } from "../eval/anomaly.ts";
import { specHash } from "../dsl/io.ts";
import { clusterHeads } from "../dsl/resolve.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writeHeatmap } from "../report/heatmap.ts";
import { metricSeries, readMetrics } from "../report/metrics.ts";
import { linePlots, writeSvg } from "../report/plot.ts";
import { formatSummary } from "../report/summary.ts";
import type { RunSegment, TrainResult } from "../train/trainer.ts";
import type { Evaluation } from "./evaluation.ts";
import { PROBE_TOP1 } from "./online_probe.ts";

export interface ReportInput {
  spec: PipelineSpec;
  out: string;
  run: TrainResult;
  evaluation: Evaluation;
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
  const { spec, out, run, evaluation: ev } = r;
  const recs = readMetrics(join(out, "metrics.jsonl"));
  const losses = recs.filter((m) => typeof m.loss === "number");
  const probe = metricSeries(recs, PROBE_TOP1);
  const whole = wholeRun(run.segments, spec.batch);
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
    steps: run.endStep,
    seconds: round(whole.seconds, 1),
    images_per_sec: round(whole.imagesPerSec, 1),
    knn_top1: figure(ev.figures.knn_top1),
    linear_top1: figure(ev.figures.linear_top1),
    random_init_knn_top1: figure(ev.figures.random_init_knn_top1),
    random_init_linear_top1: figure(ev.figures.random_init_linear_top1),
    pixels_knn_top1: figure(ev.figures.pixels_knn_top1),
    // only for a spec whose loss has a cluster head (null when the evaluation stopped before it)
    ...(clusterHeads(spec).length && !run.data.oneClass
      ? {
        cluster_acc: figure(ev.figures.cluster_acc),
        cluster_nmi: figure(ev.figures.cluster_nmi),
        cluster_ari: figure(ev.figures.cluster_ari),
      }
      : {}),
    // the online probe's test top-1 at the run's last checkpoint (absent: the run has no probe)
    ...(spec.eval.onlineProbe ? { online_probe_top1: figure(probe.y.at(-1)) } : {}),
    loss_first: (losses[0]?.loss as number | undefined) ?? null,
    loss_last: (losses.at(-1)?.loss as number | undefined) ?? null,
    c_diag_mean: run.diag.corr_diag_mean ?? null,
    c_offdiag_abs_mean: run.diag.corr_offdiag_abs_mean ?? null,
    z_std_mean: run.diag.std_mean ?? null,
    z_std_min: run.diag.std_min ?? null,
    effective_rank: run.diag.effective_rank ?? null,
    collapse_warning: collapseWarning(run.diag, run.C ? { batch: spec.batch, dim: run.C.d } : undefined),
    label_warning: labelWarning(run.data) ?? null,
    spec_hash: specHash(spec),
    adapter: run.gpu.description,
    eval_seconds: round(ev.seconds, 1),
    segments: run.segments.map((g) => ({
      from_step: g.from,
      to_step: g.to,
      seconds: g.seconds === null ? null : round(g.seconds, 1),
    })),
  };
  if (run.data.oneClass) Object.assign(report, oneClassFields(run.data.oneClass, ev));
  if (ev.notEvaluated.length) Object.assign(report, { partial: true, not_evaluated: ev.notEvaluated });
  writeFileAtomic(join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");

  const panels = [{
    title: `${spec.method} loss`,
    xLabel: "step",
    yLabel: "loss",
    series: [{ name: "loss", ...metricSeries(recs, "loss") }],
  }];
  const cd = metricSeries(recs, "corr_diag_mean"), co = metricSeries(recs, "corr_offdiag_abs_mean");
  if (cd.x.length) {
    panels.push({
      title: "cross-correlation C of the two views",
      xLabel: "step",
      yLabel: "value",
      series: [{ name: "mean C_ii", ...cd }, { name: "mean |C_ij|, i≠j", ...co }, {
        name: "mean std of z",
        ...metricSeries(recs, "std_mean"),
      }],
    });
  }
  if (probe.x.length) {
    panels.push({
      title: "online linear probe (test top-1 at each checkpoint)",
      xLabel: "step",
      yLabel: "top-1",
      series: [{ name: "test top-1", ...probe }],
    });
  }
  writeSvg(join(out, "loss.svg"), linePlots(panels));
  if (run.C) {
    writeHeatmap(join(out, "correlation.png"), run.C.data, run.C.d, {
      title: `cross-correlation C at step ${run.endStep}, D = ${run.C.d}`,
    });
  }
  return report;
}

/** Numbers in report.json that describe the run's set-up, not a result: the same for every seed. */
export const REPORT_SETTINGS: readonly string[] = ["train_images", "test_images", "batch", "epochs", "steps"];

/**
 * The figures of a report.json to compare runs by: every finite number that is not a setting,
 * nested objects named with dots (`a.b`); lists (the segments) and unmeasured figures (null)
 * are left out.
 */
export function reportMetrics(report: Record<string, unknown>, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(report)) {
    if (!prefix && REPORT_SETTINGS.includes(k)) continue;
    if (typeof v === "number" && Number.isFinite(v)) out[prefix + k] = v;
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      Object.assign(out, reportMetrics(v as Record<string, unknown>, `${prefix}${k}.`));
    }
  }
  return out;
}

/**
 * What a one-class run adds to report.json: its class, the anomaly AUROCs that replace the
 * label evaluations, and why those (left null) were not run.
 */
function oneClassFields(c: { index: number; name?: string }, ev: Evaluation): Record<string, unknown> {
  return {
    one_class: { index: c.index, name: c.name ?? null },
    one_class_auroc: figure(ev.figures.one_class_auroc),
    random_init_one_class_auroc: figure(ev.figures.random_init_one_class_auroc),
    pixels_one_class_auroc: figure(ev.figures.pixels_one_class_auroc),
    label_evals: "skipped: the training set is one class, so kNN and linear accuracies on it would mean nothing; " +
      `the one-class AUROC (k = ${ANOMALY_K} nearest training images, the whole test split scored) replaces them`,
  };
}

/**
 * A warning when the final diagnostics show collapse: dimensions with no spread (complete
 * collapse), a rank below 2, or dimensional collapse — the embedding spread over fewer than
 * 1/50 of the directions it could use, min(batch, D), since the effective rank of a batch of N
 * embeddings of width D is at most min(N, D). (A healthy run keeps tens of directions even at
 * a few hundred steps; BYOL-style methods can sink to a handful while the loss still falls.)
 */
export function collapseWarning(d: Record<string, number>, size?: { batch: number; dim: number }): string | null {
  if (d.std_min !== undefined && d.std_min < 1e-3) {
    return `some embedding dimensions collapsed (min std ${d.std_min.toExponential(2)})`;
  }
  const rank = d.effective_rank;
  if (rank === undefined) return null;
  if (rank < 2) return `embedding collapsed to rank ~${rank.toFixed(2)}`;
  const most = size ? Math.min(size.batch, size.dim) : 0;
  if (rank < most / 50) {
    return `dimensional collapse: effective rank ${rank.toFixed(1)} of at most ${most} (batch ${
      size!.batch
    }, embedding width ${size!.dim})`;
  }
  return null;
}

/**
 * Time and speed of the whole run: the segments' sum (a segment whose time is not known, from
 * an old checkpoint, counts for neither its time nor its images).
 */
function wholeRun(segments: RunSegment[], batch: number): { seconds: number; imagesPerSec: number } {
  const timed = segments.filter((g) => g.seconds !== null);
  const seconds = timed.reduce((a, g) => a + g.seconds!, 0);
  const images = timed.reduce((a, g) => a + (g.to - g.from) * batch, 0);
  return { seconds, imagesPerSec: images / seconds };
}

/** An accuracy in report.json: rounded, or null when it was not measured. */
const figure = (v: number | undefined) => (v === undefined ? null : round(v, 4));

export function summary(report: Record<string, unknown>, out: string): string {
  const pct = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "n/a");
  const lines = formatSummary(
    `${report.method} on ${report.dataset}: ${report.steps} steps in ${report.seconds} s (${report.images_per_sec} images/s)`,
    [
      ["loss", `${fmt(report.loss_first)} → ${fmt(report.loss_last)}`],
      ["C diag mean / |offdiag| mean", `${fmt(report.c_diag_mean)} / ${fmt(report.c_offdiag_abs_mean)}`],
      ["effective rank of z", fmt(report.effective_rank)],
      ...evaluationLines(report, pct),
      ...("online_probe_top1" in report
        ? [["online probe top-1 (test, last checkpoint)", pct(report.online_probe_top1)] as [string, string]]
        : []),
      ["report", join(out, "report.json")],
    ],
  );
  const partial = Array.isArray(report.not_evaluated)
    ? `\nPARTIAL: the evaluation was interrupted; not evaluated: ${report.not_evaluated.join(", ")}`
    : "";
  const warnings = [report.collapse_warning, report.label_warning].filter((w) => w).map((w) => `\nWARNING: ${w}`);
  return lines + warnings.join("") + partial;
}

/** The summary's evaluation rows: kNN and linear (and a cluster head's scores), or a one-class run's AUROC. */
function evaluationLines(report: Record<string, unknown>, pct: (v: unknown) => string): [string, string][] {
  const one = report.one_class as { index: number; name: string | null } | undefined;
  if (one) {
    const auc = (v: unknown) => (typeof v === "number" ? v.toFixed(4) : "n/a");
    return [
      [
        `one-class AUROC of class ${one.index}${
          one.name === null ? "" : ` (${one.name})`
        }: trained / random init / pixels`,
        `${auc(report.one_class_auroc)} / ${auc(report.random_init_one_class_auroc)} / ${
          auc(report.pixels_one_class_auroc)
        }`,
      ],
      ["kNN and linear top-1", "skipped (one-class training set)"],
    ];
  }
  return [
    [
      "kNN top-1: trained / random init / pixels",
      `${pct(report.knn_top1)} / ${pct(report.random_init_knn_top1)} / ${pct(report.pixels_knn_top1)}`,
    ],
    ["linear top-1: trained / random init", `${pct(report.linear_top1)} / ${pct(report.random_init_linear_top1)}`],
    ...("cluster_acc" in report
      ? [[
        "cluster head (test): ACC / NMI / ARI",
        `${pct(report.cluster_acc)} / ${fmt(report.cluster_nmi)} / ${fmt(report.cluster_ari)}`,
      ] as [string, string]]
      : []),
  ];
}

const fmt = (v: unknown) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4)) : "n/a");
const round = (v: number, d: number) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

// Several seeds of one run (--seeds 0,1,2 --out DIR). Seed N's run is an ordinary run folder,
// DIR/seed-N, exactly what --seed N --out DIR/seed-N gives; DIR itself holds the summary over
// the seeds: report.json (each figure's mean, sample standard deviation with n − 1, and every
// seed's value) and table.md. A seed folder whose run is complete for the same spec (its
// report.json not partial, its spec hash that of the spec with this seed) is reused, not rerun:
// that is how seeds are added to a study, or a study cut short is finished. The summary is
// rewritten after every seed, marked partial until every seed has finished, so a study stopped
// at any point (Ctrl-C, a failed seed, a killed process) leaves one over the seeds done so far.
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { seedsSummary, seedsTable } from "../eval/metrics/summary.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { RUN_FILES, RunFolderError } from "../io/run_folder.ts";
import { REPORT_SETTINGS, reportMetrics } from "./run_report.ts";

/** The run folder of one seed inside the seeds folder. */
export const seedFolder = (out: string, seed: number): string => join(out, `seed-${seed}`);

export interface SeedRun {
  seed: number;
  /** its run folder, `<out>/seed-N` */
  out: string;
  /** the spec with this seed */
  spec: PipelineSpec;
  /** the report of a complete run of this spec already in the folder: reused, not rerun */
  reuse?: Record<string, unknown>;
}

/** done: run now; reused: complete before; partial: evaluation cut short; not run: after a stop */
export type SeedStatus = "done" | "reused" | "failed" | "interrupted" | "partial" | "not run";

export interface SeedOutcome {
  seed: number;
  out: string;
  status: SeedStatus;
  /** report.json of a finished seed (done or reused) */
  report?: Record<string, unknown>;
  /** why a failed seed failed */
  reason?: string;
}

const readJson = (path: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(files().readText(path));
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
};

/** A seed folder's state: its complete report of `spec`, or why it holds something else. */
function seedFolderState(out: string, spec: PipelineSpec): { reuse?: Record<string, unknown>; problem?: string } {
  if (!files().exists(out)) return {};
  const held = RUN_FILES.filter((f) => files().exists(join(out, f)));
  if (!held.length) return {};
  const report = held.includes("report.json") ? readJson(join(out, "report.json")) : undefined;
  if (report && !report.partial && report.spec_hash === specHash(spec)) return { reuse: report };
  if (report && !report.partial) {
    return { problem: `${out} holds a complete run of another spec (its spec hash differs: other flags than --seed?)` };
  }
  return {
    problem: `${out} holds an unfinished run (${held.join(", ")}${report?.partial ? ", a partial report" : ""})`,
  };
}

/**
 * Each seed's run, checked before anything runs or is written: a complete run of the same spec
 * is reused; a folder with another run in it is refused (RunFolderError, exit 2) unless
 * `overwrite`, which reruns it from scratch; so is a seeds folder `out` that holds a single run.
 */
export function planSeeds(spec: PipelineSpec, out: string, seeds: readonly number[], overwrite: boolean): SeedRun[] {
  checkSeedsFolder(out);
  const runs: SeedRun[] = [];
  const problems: string[] = [];
  for (const seed of seeds) {
    const run: SeedRun = { seed, out: seedFolder(out, seed), spec: { ...spec, seed } };
    const state = seedFolderState(run.out, run.spec);
    if (state.reuse) run.reuse = state.reuse;
    if (state.problem) problems.push(state.problem);
    runs.push(run);
  }
  if (problems.length && !overwrite) {
    throw new RunFolderError(
      `${problems.join("; ")}. To rerun ${problems.length === 1 ? "it" : "them"} from scratch: --overwrite ` +
        `(complete runs of this spec are still reused). To continue an unfinished one: ` +
        `--seed N --out ${join(out, "seed-N")} --resume ${join(out, "seed-N")}, then --seeds again. ` +
        `Or choose another folder with --out.`,
    );
  }
  return runs;
}

/** Refuses (RunFolderError) a seeds folder that holds a single run: its report.json would be replaced. */
export function checkSeedsFolder(out: string): void {
  const single = RUN_FILES.filter((f) => files().exists(join(out, f)));
  const summary = single.includes("report.json") ? readJson(join(out, "report.json")) : undefined;
  if (single.some((f) => f !== "report.json") || (single.length && !Array.isArray(summary?.seeds))) {
    throw new RunFolderError(
      `${out} holds a single run (${single.join(", ")}); --seeds writes its summary there and each seed's run ` +
        `in ${join(out, "seed-N")}: choose another folder with --out`,
    );
  }
}

/** What running one seed gave: its exit status, its report.json, the error message of a failure. */
export interface SeedResult {
  code: number;
  report?: Record<string, unknown>;
  error?: string;
}

/**
 * Runs every seed not reused, in order, rewriting the summary in `out` after each. A failed seed
 * is recorded and the others still run; an interrupted one (exit 130) stops the study. The exit
 * status is the interrupt's, else the first failure's, else 0.
 */
export async function runSeeds(
  runs: SeedRun[],
  out: string,
  runSeed: (run: SeedRun) => Promise<SeedResult>,
  log: (s: string) => void = (s) => console.log(s),
): Promise<{ code: number; report: Record<string, unknown>; table: string }> {
  const outcomes: SeedOutcome[] = [];
  let code = 0;
  const notRun = (): SeedOutcome[] =>
    runs.slice(outcomes.length).map((r) => ({ seed: r.seed, out: r.out, status: "not run" as const }));
  for (const [i, r] of runs.entries()) {
    const which = `seed ${r.seed} (${i + 1} of ${runs.length})`;
    if (r.reuse) {
      log(`${which}: ${r.out} holds a complete run of this spec; reusing its report.json, not rerunning`);
      outcomes.push({ seed: r.seed, out: r.out, status: "reused", report: r.reuse });
    } else {
      log(`\n${which} → ${r.out}`);
      const res = await runSeed(r);
      const base = { seed: r.seed, out: r.out };
      if (res.code === 0 && res.report && !res.report.partial) {
        outcomes.push({ ...base, status: "done", report: res.report });
      } else if (res.code === 130) outcomes.push({ ...base, status: res.report ? "partial" : "interrupted" });
      else outcomes.push({ ...base, status: "failed", reason: res.error ?? `exit status ${res.code}` });
      if (res.code === 130) code = 130;
      else if (res.code !== 0 && code === 0) code = res.code;
    }
    writeSeedsSummary(out, [...outcomes, ...notRun()]);
    if (code === 130) break;
  }
  const all = [...outcomes, ...notRun()];
  return { code, report: writeSeedsSummary(out, all), table: seedsMarkdown(all) };
}

/** Fields of a seed's report that describe the run, copied into the summary from the first finished seed. */
const DESCRIPTION = ["method", "name", "dataset", "encoder", "projector", ...REPORT_SETTINGS];

const finishedOf = (outcomes: SeedOutcome[]) =>
  outcomes.filter((o) => (o.status === "done" || o.status === "reused") && o.report);

/**
 * The summary over seeds as report.json holds it: the run's description, the seeds and their
 * folders and statuses, and for every figure that each finished seed measured, its mean, sample
 * standard deviation (n − 1; null for one seed), n and each seed's value. Partial (with the seeds
 * not finished) unless every seed finished.
 */
export function seedsReport(outcomes: SeedOutcome[]): Record<string, unknown> {
  const finished = finishedOf(outcomes);
  const doc: Record<string, unknown> = {};
  for (const k of DESCRIPTION) if (finished[0]?.report?.[k] !== undefined) doc[k] = finished[0].report[k];
  Object.assign(doc, {
    seeds: outcomes.map((o) => o.seed),
    runs: outcomes.map((o) => ({
      seed: o.seed,
      folder: o.out,
      status: o.status,
      ...(o.reason ? { reason: o.reason } : {}),
    })),
    std: "sample standard deviation over the finished seeds (n − 1 in the denominator); null for a single seed",
    metrics: {},
  });
  const summary = metricsSummary(finished.map((o) => o.report!));
  if (summary) {
    const metrics: Record<string, unknown> = {};
    for (const [m, s] of Object.entries(summary)) {
      const values = Object.fromEntries(finished.map((o, i) => [String(o.seed), s.values[i]]));
      metrics[m] = { mean: s.mean, std: Number.isFinite(s.std) ? s.std : null, n: s.values.length, values };
    }
    doc.metrics = metrics;
  }
  const notFinished = outcomes.filter((o) => !finished.includes(o)).map((o) => o.seed);
  if (notFinished.length) Object.assign(doc, { partial: true, not_finished: notFinished });
  return doc;
}

/** seedsSummary over the figures (reportMetrics) that every report holds; undefined for none. */
export function metricsSummary(reports: Record<string, unknown>[]) {
  if (!reports.length) return undefined;
  const records = reports.map((r) => reportMetrics(r));
  const common = Object.keys(records[0]).filter((m) => records.every((r) => m in r));
  if (!common.length) return undefined;
  return seedsSummary(records.map((r) => Object.fromEntries(common.map((m) => [m, r[m]]))));
}

/** table.md of the summary: a heading, how to read it, one row per figure. */
export function seedsMarkdown(outcomes: SeedOutcome[]): string {
  const finished = finishedOf(outcomes);
  const first = finished[0]?.report;
  const what = first ? `${first.method} '${first.name}' on ${first.dataset}` : "runs";
  const lines = [
    `# ${what}: ${outcomes.length} seeds`,
    "",
    `Mean ± sample standard deviation (n − 1 in the denominator) over the finished seeds ` +
    `(${finished.map((o) => o.seed).join(", ") || "none"}), the std to two significant digits (report.json holds ` +
    `every digit), then each seed's value; seed N's run is in seed-N/.`,
  ];
  const rest = outcomes.filter((o) => !finished.includes(o));
  if (rest.length) {
    lines.push(
      "",
      `PARTIAL: not finished: ${
        rest.map((o) => `seed ${o.seed} (${o.status}${o.reason ? `: ${o.reason}` : ""})`).join(", ")
      }.`,
    );
  }
  const summary = metricsSummary(finished.map((o) => o.report!));
  lines.push("", summary ? seedsTable(summary, finished.map((o) => o.seed)) : "No seed has finished.\n");
  return lines.join("\n");
}

/** Writes report.json and table.md of the summary into `out`; returns the report. */
export function writeSeedsSummary(out: string, outcomes: SeedOutcome[]): Record<string, unknown> {
  const report = seedsReport(outcomes);
  files().mkdir(out);
  writeFileAtomic(join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileAtomic(join(out, "table.md"), seedsMarkdown(outcomes));
  return report;
}

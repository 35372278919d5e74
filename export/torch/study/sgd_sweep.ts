// The loop both arms of the λ-free SGD learning-rate sweep share (lambda_sgd.ts trains with the
// exported PyTorch program, lambda_sgd_webgpu.ts with the project's trainer): the study's flags
// plus --lrs and --out, the specs from the study's own plan (one per lr, D, λ), one JSON line per
// run appended to OUT/results.jsonl (a run with a line there is not redone), each trained run
// summarised from its metrics.jsonl and scored by the same evaluator.
import process from "node:process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStudyArgs } from "../../../examples/lambda_free/options.ts";
import { planRuns } from "../../../examples/lambda_free/plan.ts";
import type { PipelineSpec } from "../../../dsl/schema.ts";
import { readMetrics } from "../../../report/metrics.ts";
import { evaluateCheckpoint } from "./evaluate_checkpoint.ts";

/** Trains `spec` below `dir`; says which folder holds the run and, when training failed, why. */
export type TrainArm = (spec: PipelineSpec, dir: string) => Promise<{ run: string; failed?: string }>;

/** `extraFlags`: the arm's own flags with their defaults, taken out of argv before the study parses the rest. */
export async function sgdSweep(
  defaultOut: string,
  extraFlags: Record<string, string>,
  arm: (flags: Record<string, string>) => TrainArm,
) {
  const args = process.argv.slice(2);
  const take = (flag: string, fallback: string) => {
    const i = args.indexOf(flag);
    if (i < 0) return fallback;
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag}: expected a value`);
    args.splice(i, 2);
    return v;
  };
  const lrList = take("--lrs", "1e-5,1e-3,1e-2,0.1,0.2");
  const lrs = lrList.split(",").map(Number);
  if (lrs.some((lr) => !(lr > 0) || !Number.isFinite(lr))) {
    throw new Error(`--lrs: expected positive numbers separated by commas, got '${lrList}'`);
  }
  const out = take("--out", defaultOut);
  const flags = Object.fromEntries(Object.entries(extraFlags).map(([f, d]) => [f, take(f, d)]));
  const trainOne = arm(flags);
  mkdirSync(out, { recursive: true });
  const resultsPath = join(out, "results.jsonl");
  const done = new Set(
    existsSync(resultsPath)
      ? readFileSync(resultsPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).key)
      : [],
  );
  for (const lr of lrs) {
    const o = parseStudyArgs([...args, "--optimizers", "sgd", "--sgd-lr", String(lr), "--out", join(out, `lr${lr}`)]);
    if (o === "help") throw new Error("see examples/lambda_free.ts --help for the study flags");
    for (const r of planRuns(o)) {
      const key = `lr${lr}-${r.key}`;
      if (done.has(key)) continue;
      const rec: Record<string, unknown> = { key, lr, d: r.d, lambda: r.lambda };
      const t0 = performance.now();
      const { run, failed } = await trainOne(r.spec, join(out, `lr${lr}`, r.key));
      rec.seconds = (performance.now() - t0) / 1000;
      const metrics = existsSync(join(run, "metrics.jsonl")) ? readMetrics(join(run, "metrics.jsonl")) : [];
      const erank = [...metrics].reverse().find((m) => typeof m.effective_rank === "number");
      Object.assign(rec, {
        first_loss: metrics[0]?.loss,
        last_loss: metrics[metrics.length - 1]?.loss,
        effective_rank: erank?.effective_rank,
      });
      if (failed) rec.failed = failed;
      else Object.assign(rec, await evaluateCheckpoint(run, r.spec.data.name)); // the data as the user gave the study
      appendFileSync(resultsPath, JSON.stringify(rec) + "\n");
      console.log(JSON.stringify(rec));
    }
  }
}

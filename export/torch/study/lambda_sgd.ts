// The λ-free study's SGD arm over a learning-rate sweep, trained by the exported PyTorch program
// and scored by the project's evaluator (evaluate_checkpoint.ts). Specs come from the study
// itself (examples/lambda_free/plan.ts), one per (lr, D, λ), so the WebGPU arm
// (`examples/lambda_free.ts --optimizers sgd --sgd-lr X …`) trains the very same specs.
//   deno run -A export/torch/study/lambda_sgd.ts --lrs 1e-5,1e-3,1e-2,0.1,0.2 [study flags] --out DIR
// Appends one JSON line per run to DIR/results.jsonl; a run with a line there is not redone.
import process from "node:process";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStudyArgs } from "../../../examples/lambda_free/options.ts";
import { planRuns } from "../../../examples/lambda_free/plan.ts";
import { readMetrics } from "../../../report/metrics.ts";
import { writeTorchProgram } from "../mod.ts";
import { evaluateCheckpoint } from "./evaluate_checkpoint.ts";

const args = process.argv.slice(2);
const take = (flag: string, fallback: string) => {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const lrs = take("--lrs", "1e-5,1e-3,1e-2,0.1,0.2").split(",").map(Number);
const out = take("--out", "runs/lambda-sgd-torch");
const threads = take("--threads", "1");
const python = take("--python", "/usr/bin/python3");
mkdirSync(out, { recursive: true });
const resultsPath = join(out, "results.jsonl");
const done = new Set(existsSync(resultsPath) ? readFileSync(resultsPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).key) : []);

for (const lr of lrs) {
  const o = parseStudyArgs([...args, "--optimizers", "sgd", "--sgd-lr", String(lr), "--out", join(out, `lr${lr}`)]);
  if (o === "help") throw new Error("see examples/lambda_free.ts --help for the study flags");
  for (const r of planRuns(o)) {
    const key = `lr${lr}-${r.key}`;
    if (done.has(key)) continue;
    const dir = join(out, `lr${lr}`, r.key);
    mkdirSync(join(dir, "program"), { recursive: true });
    writeTorchProgram(r.spec, join(dir, "program"));
    const t0 = performance.now();
    const p = spawnSync(python, [join(dir, "program", "train.py"), "--out", join(dir, "run"), "--overwrite", "--threads", threads], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: threads },
    });
    writeFileSync(join(dir, "train.log"), p.stdout + p.stderr);
    const seconds = (performance.now() - t0) / 1000;
    const rec: Record<string, unknown> = { key, lr, d: r.d, lambda: r.lambda, seconds };
    const metrics = existsSync(join(dir, "run", "metrics.jsonl")) ? readMetrics(join(dir, "run", "metrics.jsonl")) : [];
    const last = metrics[metrics.length - 1];
    const erank = [...metrics].reverse().find((m) => typeof m.effective_rank === "number");
    Object.assign(rec, { first_loss: metrics[0]?.loss, last_loss: last?.loss, effective_rank: erank?.effective_rank });
    if (p.status !== 0) rec.failed = (p.stderr.trim().split("\n").pop() ?? `exit ${p.status}`);
    else Object.assign(rec, await evaluateCheckpoint(join(dir, "run")));
    appendFileSync(resultsPath, JSON.stringify(rec) + "\n");
    console.log(JSON.stringify(rec));
  }
}
process.exit(0);


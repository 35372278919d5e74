// The WebGPU arm of the SGD learning-rate sweep (see lambda_sgd.ts): the same specs from the
// λ-free study's plan, trained by the project's trainer (train/trainer.ts) and scored by the same
// evaluator as the PyTorch arm, the trained encoder only (the study's own runner also re-scores
// the random-init encoder and raw pixels for every run, which are the same for every run here).
//   deno run -A export/torch/study/lambda_sgd_webgpu.ts --lrs 0.2,0.1 [study flags] --out DIR
import process from "node:process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStudyArgs } from "../../../examples/lambda_free/options.ts";
import { planRuns } from "../../../examples/lambda_free/plan.ts";
import { loadCheckpoint } from "../../../io/checkpoint.ts";
import { readMetrics } from "../../../report/metrics.ts";
import { train } from "../../../train/trainer.ts";
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
const out = take("--out", "runs/lambda-sgd-webgpu");
mkdirSync(out, { recursive: true });
const resultsPath = join(out, "results.jsonl");
const done = new Set(existsSync(resultsPath) ? readFileSync(resultsPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).key) : []);

for (const lr of lrs) {
  const o = parseStudyArgs([...args, "--optimizers", "sgd", "--sgd-lr", String(lr), "--out", join(out, `lr${lr}`)]);
  if (o === "help") throw new Error("see examples/lambda_free.ts --help for the study flags");
  for (const r of planRuns(o)) {
    const key = `lr${lr}-${r.key}`;
    if (done.has(key)) continue;
    const run = join(out, `lr${lr}`, r.key);
    const rec: Record<string, unknown> = { key, lr, d: r.d, lambda: r.lambda };
    const t0 = performance.now();
    try {
      const finished = existsSync(join(run, "checkpoint.safetensors")) && loadCheckpoint(run).step === r.spec.steps;
      if (!finished) (await train({ spec: r.spec, out: run, log: () => {} })).exec.destroy();
      rec.seconds = (performance.now() - t0) / 1000;
      const metrics = readMetrics(join(run, "metrics.jsonl"));
      const erank = [...metrics].reverse().find((m) => typeof m.effective_rank === "number");
      Object.assign(rec, { first_loss: metrics[0]?.loss, last_loss: metrics[metrics.length - 1]?.loss, effective_rank: erank?.effective_rank });
      Object.assign(rec, await evaluateCheckpoint(run));
    } catch (e) {
      rec.failed = (e as Error).message.split("\n")[0];
    }
    appendFileSync(resultsPath, JSON.stringify(rec) + "\n");
    console.log(JSON.stringify(rec));
  }
}
process.exit(0);

// The λ-free study's SGD arm over a learning-rate sweep, trained by the exported PyTorch program
// and scored by the project's evaluator (evaluate_checkpoint.ts). Specs come from the study
// itself (examples/lambda_free/plan.ts), one per (lr, D, λ), so the WebGPU arm
// (lambda_sgd_webgpu.ts) trains the very same specs; the shared loop is sgd_sweep.ts.
//   deno run -A export/torch/study/lambda_sgd.ts --lrs 1e-5,1e-3,1e-2,0.1,0.2 [study flags] [--threads 1] [--python P] --out DIR
// Appends one JSON line per run to DIR/results.jsonl; a run with a line there is not redone.
import process from "node:process";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeTorchProgram } from "../mod.ts";
import { sgdSweep } from "./sgd_sweep.ts";

await sgdSweep(
  "runs/lambda-sgd-torch",
  { "--threads": "1", "--python": "/usr/bin/python3" },
  (flags) => (spec, dir) => {
    const threads = flags["--threads"];
    mkdirSync(join(dir, "program"), { recursive: true });
    writeTorchProgram(spec, join(dir, "program"));
    const p = spawnSync(flags["--python"], [
      join(dir, "program", "train.py"),
      "--out",
      join(dir, "run"),
      "--overwrite",
      "--threads",
      threads,
    ], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: threads },
    });
    if (p.error) return Promise.resolve({ run: join(dir, "run"), failed: `${flags["--python"]}: ${p.error.message}` });
    writeFileSync(join(dir, "train.log"), p.stdout + p.stderr);
    const failed = p.status !== 0 ? (p.stderr.trim().split("\n").pop() || `exit ${p.status ?? p.signal}`) : undefined;
    return Promise.resolve({ run: join(dir, "run"), failed });
  },
);
process.exit(0);

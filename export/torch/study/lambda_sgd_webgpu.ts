// The WebGPU arm of the SGD learning-rate sweep (see lambda_sgd.ts): the same specs from the
// λ-free study's plan, trained by the project's trainer (train/trainer.ts) and scored by the same
// evaluator as the PyTorch arm, the trained encoder only (the study's own runner also re-scores
// the random-init encoder and raw pixels for every run, which are the same for every run here).
//   deno run -A export/torch/study/lambda_sgd_webgpu.ts --lrs 0.2,0.1 [study flags] --out DIR
import process from "node:process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../../../io/checkpoint.ts";
import { train } from "../../../train/trainer.ts";
import { sgdSweep } from "./sgd_sweep.ts";

await sgdSweep("runs/lambda-sgd-webgpu", {}, () => async (spec, run) => {
  try {
    const finished = existsSync(join(run, "checkpoint.safetensors")) && loadCheckpoint(run).step === spec.steps;
    if (!finished) (await train({ spec, out: run, log: () => {} })).exec.destroy();
    return { run };
  } catch (e) {
    return { run, failed: (e as Error).message.split("\n")[0] };
  }
});
process.exit(0);

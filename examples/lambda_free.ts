// The essay's open question, measured: does the λ-free Barlow Twins loss (λ = 1/(D−1), the
// off-diagonal MEAN of each row) match the searched λ = 0.0051 across projector widths D?
// The two agree only near D ≈ 197; at D = 2048, 1/(D−1) is 10× weaker (docs/lambda_free.md).
//
// For every (D, λ, optimizer) this trains Barlow Twins under the same budget of optimizer steps
// and evaluates it exactly as a pipeline run does: each configuration is one run of
// pipelines/barlow.ts (runPipeline: train, kNN + linear probe, report.json) on a spec file
// written here, in its own process, so a diverging run (NaN loss) or one that does not fit in
// memory is recorded as such and the study goes on. Outputs in --out:
//   results.json   every run's figures      table.md   kNN / linear tables by D
//   accuracy.svg   kNN and linear top-1 against D, one line per (λ, optimizer)
//   runs/<D…>/     each run's folder (spec.json, report.json, checkpoint, plots)
// With --seeds 0,1,2 every configuration runs once per seed, in runs/<D…>/seed-N, laid out as
// a pipeline's --seeds lays them out (runs/<D…>/report.json and table.md summarise its seeds),
// and the study's tables give each configuration's mean ± sample std (n − 1) over its seeds.
// A run whose report.json matches its spec's hash is reused (--fresh runs everything again).
//
// Optimizers. LARS (the preset: lr 0.2, biases 0.0048, η = 1e-3) rescales every layer's step
// to η·‖w‖/‖g‖, so the loss scale does not matter and one lr serves both λ. Plain SGD
// (momentum 0.9) steps by lr·g, and the gradient grows with the loss scale, which λ sets: the
// off-diagonal term λ·Σ_{i≠j} C_ij² has D(D−1) entries, so at D = 2048 λ = 0.0051 weighs it
// ~10× more than λ = 1/(D−1) does. The SGD lr must therefore be stable for the LARGEST loss in
// the sweep, and its gradient grows with D too (≈ √D in the encoder); SGD_LR in
// lambda_free/options.ts gives the measurement. One lr for the whole sweep then gives the
// narrow projectors and, later in training, the λ-free loss smaller steps than LARS would:
// a property of SGD with this loss, reported rather than tuned away (--sgd-lr tries another).
//
// Files: lambda_free/options.ts (flags, defaults, SGD_LR), plan.ts (one spec per run),
// results.ts (records, tables, plot), run.ts (child processes, reuse, memory check).
//
// Cost: a D = 2048 step (default encoder, batch 256) took 8–13 s on this 2-core lavapipe
// machine while other jobs loaded it (load 6–8), so the default budget of 60 steps (1.5 epochs
// of 10000 images) is 8–13 minutes of training per D = 2048 run at that load, less on a quiet
// machine or with a narrower projector. That compares the losses early in training; it does
// not settle the question: give it --budget-steps 1000 (or more) and --train-limit 60000 when time allows.
// Run: deno run -A examples/lambda_free.ts --help
import process from "node:process";
import { FlagError } from "../dsl/cli.ts";
import { parseStudyArgs, studyHelp } from "./lambda_free/options.ts";
import { runStudy } from "./lambda_free/run.ts";

export * from "./lambda_free/options.ts";
export * from "./lambda_free/plan.ts";
export * from "./lambda_free/results.ts";
export * from "./lambda_free/run.ts";

if (import.meta.main) {
  try {
    const o = parseStudyArgs(process.argv.slice(2));
    if (o === "help") console.log(studyHelp());
    else await runStudy(o);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    // user errors (flags, a folder that cannot be used) exit 2
    process.exit(e instanceof FlagError || (e as { exitCode?: number }).exitCode === 2 ? 2 : 1);
  }
}

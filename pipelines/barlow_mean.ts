// The essay's λ-free Barlow Twins: the off-diagonal term is a mean over each row instead of a
// λ-weighted sum, L = Σ_i (1 − C_ii)² + Σ_i (1/(D−1)) Σ_{j≠i} C_ij², i.e. λ = 1/(D−1).
// Everything else (views, shared encoder + projector, LARS) is Barlow Twins.
// Run: deno run -A pipelines/barlow_mean.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

// projector 1024-1024 instead of the preset's 2048-2048 so the default run fits the CPU budget (--proj to change)
export const spec = presets.barlowMean({ proj: [1024, 1024] });

if (isMain(import.meta)) await runPipeline(spec, "pipelines/barlow_mean.ts");

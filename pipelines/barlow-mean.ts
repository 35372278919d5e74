// The seed's λ-free Barlow Twins: the off-diagonal term is a mean over each row instead of a
// λ-weighted sum, L = Σ_i (1 − C_ii)² + Σ_i (1/(D−1)) Σ_{j≠i} C_ij², i.e. λ = 1/(D−1).
// Everything else (views, shared encoder + projector, LARS) is Barlow Twins.
// Run: deno run -A pipelines/barlow-mean.ts --help
import { presets } from "../dsl/presets.ts";
import { runPipeline } from "./run.ts";

export const spec = presets.barlowMean();

if (import.meta.main) await runPipeline(spec, "pipelines/barlow-mean.ts");

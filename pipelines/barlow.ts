// Barlow Twins (Zbontar et al. 2021): two views through one shared encoder + projector; the
// loss drives the cross-correlation of the standardized embeddings towards the identity,
//   L = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²,  λ = 0.0051,
// with LARS (lr 0.2 for weights, 0.0048 for biases and BN, batch-scaled), warmup + cosine.
// Run: deno run -A pipelines/barlow.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

// projector 1024-1024 instead of the preset's 2048-2048 so the default run fits the CPU budget (--proj to change)
export const spec = presets.barlowTwins({ proj: [1024, 1024] });

if (isMain(import.meta)) await runPipeline(spec, "pipelines/barlow.ts");

// VICReg (Bardes et al. 2022): shared encoder + projector; loss 25·MSE(z_a, z_b) (invariance)
// + 25·variance hinge (std of each dimension ≥ 1) + 1·covariance (Σ off-diagonal cov² / D).
// LARS with clipping.
// Run: deno run -A pipelines/vicreg.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

// projector 1024-1024 instead of the preset's 2048-2048 so the default run fits the CPU budget (--proj to change)
export const spec = presets.vicreg({ proj: [1024, 1024] });

if (isMain(import.meta)) await runPipeline(spec, "pipelines/vicreg.ts");

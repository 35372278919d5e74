// BYOL (Grill et al. 2020): online = encoder → projector → predictor; target = an EMA copy of
// encoder → projector behind stop-gradient, τ cosine from 0.99 to 1 per step; loss
// 2 − 2·cos(p, z_target), symmetrized over the two views. LARS as in the BYOL paper (η 1e-3, no clipping).
// Run: deno run -A pipelines/byol.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

export const spec = presets.byol();

if (isMain(import.meta)) await runPipeline(spec, "pipelines/byol.ts");

// BYOL's target network with the Barlow Twins loss. The online branches z1, z2 are the usual
// encoder → projector; the targets t1, t2 are an EMA copy of that path (no gradient, τ cosine
// from 0.99 to 1 per step, as BYOL on short runs). Each online embedding is decorrelated
// against the OTHER view's target embedding, symmetrized:
//   L = ½·BT(z1, t2) + ½·BT(z2, t1)
// Everything else (augmentations, projector, LARS) is the Barlow Twins preset, so a run differs
// from pipelines/barlow.ts only by the momentum target. Flags: --tau, --lambda, --proj, …
// Run: deno run -A examples/byol_barlow.ts --help
import { add, barlowTwins, branch, ema, mul } from "../dsl/builders.ts";
import { type BarlowOptions, presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../step/validate.ts";
import { isMain, runPipeline } from "../pipelines/run.ts";

export interface ByolBarlowOptions extends BarlowOptions {
  /** τ of the target at step 0 (cosine to 1) */
  tau?: number;
}

export function make(o: ByolBarlowOptions = {}): PipelineSpec {
  const bt = presets.barlowTwins({ name: "byol-barlow", ...o });
  const lambda = o.lambda ?? 0.0051;
  const target = ema("z1", o.tau ?? 0.99);
  const path = ["encoder", "projector"];
  return validateSpec({
    ...bt,
    method: "byolBarlow",
    branches: [
      branch("z1", "v1", path),
      branch("z2", "v2", path),
      branch("t1", "v1", path, { ema: target }),
      branch("t2", "v2", path, { ema: target }),
    ],
    loss: add(mul(0.5, barlowTwins("z1", "t2", lambda)), mul(0.5, barlowTwins("z2", "t1", lambda))),
  });
}

export const spec = make();

if (isMain(import.meta)) await runPipeline(spec, "examples/byol_barlow.ts");

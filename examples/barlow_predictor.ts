// Barlow Twins made asymmetric like SimSiam: the online branch gets a predictor
// (encoder → projector → predictor) and the target branch is the same encoder → projector
// behind stop-gradient. The essay's discussion reports that this asymmetry HURTS Barlow Twins
// (it needs no asymmetry to avoid collapse); this example lets one measure by how much.
//   L = ½·BT(p1, stopGrad(z2)) + ½·BT(p2, stopGrad(z1))
// The predictor is a bottleneck MLP D → D/4 (BN, ReLU) → D (SimSiam's shape); the rest is the
// Barlow Twins preset (augmentations, projector, LARS). Flags: --pred, --proj, --lambda, …
// Run: deno run -A examples/barlow_predictor.ts --help
import { add, barlowTwins, branch, mlp, mul } from "../dsl/builders.ts";
import { type BarlowOptions, presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../step/validate.ts";
import { isMain, runPipeline } from "../pipelines/run.ts";
import { outWidth } from "./run_example.ts";

export interface BarlowPredictorOptions extends BarlowOptions {
  /** predictor Linear widths; the last must be the projector's output width D */
  pred?: number[];
}

export function make(o: BarlowPredictorOptions = {}): PipelineSpec {
  const bt = presets.barlowTwins({ name: "barlow-predictor", ...o });
  const d = outWidth(bt);
  const lambda = o.lambda ?? 0.0051;
  const online = ["encoder", "projector", "predictor"], target = ["encoder", "projector"];
  return validateSpec({
    ...bt,
    method: "barlowPredictor",
    modules: { ...bt.modules, predictor: mlp(o.pred ?? [Math.max(1, d >> 2), d], { in: d, bias: false }) },
    branches: [
      branch("p1", "v1", online),
      branch("p2", "v2", online),
      branch("z1", "v1", target, { stopGrad: true }),
      branch("z2", "v2", target, { stopGrad: true }),
    ],
    loss: add(mul(0.5, barlowTwins("p1", "z2", lambda)), mul(0.5, barlowTwins("p2", "z1", lambda))),
  });
}

export const spec = make();

if (isMain(import.meta)) await runPipeline(spec, "examples/barlow_predictor.ts");

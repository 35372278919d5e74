// SimSiam (Chen & He 2021): BYOL without the EMA: the target branch is the online encoder →
// projector itself behind stop-gradient; predictor is a bottleneck MLP with a fixed lr;
// loss −cos(p1, sg(z2))/2 − cos(p2, sg(z1))/2. SGD momentum 0.9.
// Run: deno run -A pipelines/simsiam.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

export const spec = presets.simsiam();

if (isMain(import.meta)) await runPipeline(spec, "pipelines/simsiam.ts");

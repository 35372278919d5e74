// SimCLR (Chen et al. 2020): two views through one shared encoder + projector; NT-Xent over
// the 2N embeddings: each view's positive is its twin, the other 2N − 2 are negatives, cosine
// similarity over a temperature (0.5, the official CIFAR value). LARS.
// Run: deno run -A pipelines/simclr.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

export const spec = presets.simclr();

if (isMain(import.meta)) await runPipeline(spec, "pipelines/simclr.ts");

// MoCo v2 (Chen et al. 2020), symmetric: queries from the online encoder + projector, keys
// from its EMA copy (no gradient, τ = 0.99 constant for short runs); InfoNCE of each query
// against its key (positive) and a FIFO queue of earlier normalized keys (negatives),
// T = 0.2; the queue length is a multiple of the batch. SGD momentum 0.9.
// Run: deno run -A pipelines/moco.ts --help
import { presets } from "../dsl/presets.ts";
import { isMain, runPipeline } from "./run.ts";

export const spec = presets.mocoV2();

if (isMain(import.meta)) await runPipeline(spec, "pipelines/moco.ts");

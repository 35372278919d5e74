// Evaluates a checkpoint of either engine exactly as a pipeline run evaluates its trained encoder
// (eval/evaluate.ts: features on the GPU path, weighted kNN, linear probe), so runs trained by
// the PyTorch program and by WebGPU are scored by one evaluator:
//   deno run -A export/torch/study/evaluate_checkpoint.ts [--data NAME] RUN [RUN …]   → one JSON line per run
// (--data: where the data set is, when the runs' specs name a location; a checkpoint's own
// location is not followed)
import process from "node:process";
import { loadDatasetSync } from "../../../data/load.ts";
import { encoderFeatures, evaluateFeatures } from "../../../eval/evaluate.ts";
import { getGpu } from "../../../runtime/device.ts";
import { DeviceImages } from "../../../runtime/device_images.ts";
import { checkpointEncoder } from "../../../eval/checkpoint_encoder.ts";

/** `data`: the data set's name as the user gave it (defaults to the checkpoint's, if it names a kind only). */
export async function evaluateCheckpoint(run: string, data?: string): Promise<Record<string, unknown>> {
  const { checkpoint, spec, encoder, weights, dataName } = checkpointEncoder(run);
  const sets = loadDatasetSync(dataName(data), { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const gpu = await getGpu();
  const images = { train: DeviceImages.create(gpu, sets.train), test: DeviceImages.create(gpu, sets.test) };
  const figs = await evaluateFeatures(gpu, spec, await encoderFeatures(gpu, spec, encoder, images, weights));
  return { run, spec: spec.name, step: checkpoint.step, knn_top1: figs.knn_top1, linear_top1: figs.linear_top1 };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--data");
  const data = at >= 0 ? args.splice(at, 2)[1] : undefined;
  for (const run of args) console.log(JSON.stringify(await evaluateCheckpoint(run, data)));
  process.exit(0);
}

// Evaluates a checkpoint of either engine exactly as a pipeline run evaluates its trained encoder
// (eval/evaluate.ts: features on the GPU path, weighted kNN, linear probe), so runs trained by
// the PyTorch program and by WebGPU are scored by one evaluator:
//   deno run -A export/torch/study/evaluate_checkpoint.ts RUN [RUN …]   → one JSON line per run
import process from "node:process";
import { loadDatasetSync } from "../../../data/load.ts";
import { validateSpec } from "../../../dsl/validate.ts";
import { encoderFeatures, evaluateFeatures } from "../../../eval/evaluate.ts";
import { loadCheckpoint } from "../../../io/checkpoint.ts";
import { getGpu } from "../../../runtime/device.ts";
import { DeviceImages } from "../../../runtime/device_images.ts";

export async function evaluateCheckpoint(run: string): Promise<Record<string, unknown>> {
  const ck = loadCheckpoint(run);
  const spec = validateSpec(ck.spec, `${run} (its spec)`);
  const data = loadDatasetSync(spec.data.name, { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const gpu = await getGpu();
  const images = { train: DeviceImages.create(gpu, data.train), test: DeviceImages.create(gpu, data.test) };
  const encoder = (spec.branches.find((b) => !b.ema) ?? spec.branches[0]).path[0];
  const weights = (name: string) => Promise.resolve(ck.tensors[name].data);
  const figs = await evaluateFeatures(gpu, spec, await encoderFeatures(gpu, spec, encoder, images, weights));
  return { run, spec: spec.name, step: ck.step, knn_top1: figs.knn_top1, linear_top1: figs.linear_top1 };
}

if (import.meta.main) {
  for (const run of process.argv.slice(2)) console.log(JSON.stringify(await evaluateCheckpoint(run)));
  process.exit(0);
}

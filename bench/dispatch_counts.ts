// Dispatches per training step of the three bench steps (the MLP, small-CNN and ResNet-18 Barlow
// Twins steps), compiled for this adapter as the bench compiles them but not run: the counts
// are deterministic, so they can be compared on a busy machine where timings cannot.
//   node_modules/.bin/deno run -A bench/dispatch_counts.ts
import { getGpu } from "../runtime/device.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import { cnnBtSpec } from "./cnn_step.ts";
import { resnetBtSpec } from "./resnet_step.ts";
import { btSpec } from "./step.ts";

const gpu = await getGpu();
for (
  const [name, { spec, image }] of [["mlp", btSpec()], ["cnn", cnnBtSpec()], ["resnet18", resnetBtSpec()]] as const
) {
  const t = trainingGraph(spec, image);
  const step = compileStep(t, await deviceCompileOptions(gpu, t.graph));
  console.log(`${name}_dispatches_per_step ${step.program.stats.dispatches}`);
}

// Dispatches per training step of the three bench steps (the MLP, small-CNN and ResNet-18 Barlow
// Twins steps), compiled as the bench compiles them but not run: the counts are deterministic,
// so they can be compared on a busy machine where timings cannot. Two programs per step: for
// this adapter, and with the untuned picks of a discrete GPU (shared-memory tiles, no Winograd):
// on a CPU adapter the Winograd convolutions take four passes where an implicit GEMM takes two.
//   node_modules/.bin/deno run -A bench/dispatch_counts.ts
import { getGpu } from "../runtime/device.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import { pickVariants } from "../runtime/autotune.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import { cnnBtSpec } from "./cnn_step.ts";
import { resnetBtSpec } from "./resnet_step.ts";
import { btSpec } from "./step.ts";

/** an adapter description that is not a CPU one: the autotuner's discrete-GPU defaults */
const DISCRETE = "a discrete GPU (untuned defaults)";

const gpu = await getGpu();
for (
  const [name, { spec, image }] of [["mlp", btSpec()], ["cnn", cnnBtSpec()], ["resnet18", resnetBtSpec()]] as const
) {
  const t = trainingGraph(spec, image);
  const here = await deviceCompileOptions(gpu, t.graph);
  const discrete = {
    ...here,
    variant: await pickVariants(gpu.device, t.graph, { adapter: DISCRETE, features: here.features }),
  };
  const [a, b] = [here, discrete].map((o) => compileStep(t, o).program.stats.dispatches);
  console.log(`${name}_dispatches_per_step ${a} (compiled for a discrete GPU: ${b})`);
}

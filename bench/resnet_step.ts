// One Barlow Twins training step with a ResNet-18 encoder (CIFAR stem, full width): batch 32 of
// 3×32×32 images, two augmented views, projector 2048-2048, BT loss, LARS — the conv-heavy twin
// of bench/step.ts, built by the same entry point as the trainer's step.
import { describe } from "../compiler/compile.ts";
import { resnet18 } from "../dsl/builders.ts";
import { presets } from "../dsl/presets.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import type { StepBench } from "./step.ts";

export async function resnetBtStep(gpu: Gpu, o: { batch?: number; width?: number } = {}): Promise<StepBench> {
  const batch = o.batch ?? 32, side = 32;
  const spec = presets.barlowTwins({ batch, imageSize: side, proj: [2048, 2048], encoder: resnet18({ width: o.width ?? 64, stem: "cifar" }) });
  const t = trainingGraph(spec, { c: 3, h: side, w: side });
  // the kernels this adapter would train with (cached autotuner picks or its defaults)
  const step = compileStep(t, await deviceCompileOptions(gpu, t.graph));
  const ex = await Executable.create(gpu, step.program);
  ex.initPersistent(0);
  const img = new Float32Array(batch * 3 * side * side);
  for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761 % 1000) / 1000;
  ex.write("images", img);
  const geometry = { stepsPerEpoch: 200, totalSteps: 1000 };
  let k = 0;
  return {
    description: describe(step.program),
    // convolutions dominate; counted by the PyTorch peer's profile, not here
    gflop: NaN,
    executable: ex,
    async run() {
      ex.setScalars(step.plan.values(k++, geometry));
      ex.run();
      await ex.read("loss");
    },
    destroy: () => ex.destroy(),
  };
}

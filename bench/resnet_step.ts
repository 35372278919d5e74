// One Barlow Twins training step with a ResNet-18 encoder (CIFAR stem, full width): batch 32 of
// 3×32×32 images, two augmented views, projector 2048-2048, BT loss, LARS — the conv-heavy twin
// of bench/step.ts, built by the same entry point as the trainer's step.
import { resnet18 } from "../dsl/builders.ts";
import { presets } from "../dsl/presets.ts";
import type { Gpu } from "../runtime/device.ts";
import { benchStep, type StepBench } from "./step.ts";

/** The bench's ResNet-18 Barlow Twins step: its spec and image shape. */
export function resnetBtSpec(o: { batch?: number; width?: number } = {}) {
  const batch = o.batch ?? 32, side = 32;
  const spec = presets.barlowTwins({
    batch,
    imageSize: side,
    proj: [2048, 2048],
    encoder: resnet18({ width: o.width ?? 64, stem: "cifar" }),
  });
  return { spec, image: { c: 3, h: side, w: side } };
}

export function resnetBtStep(gpu: Gpu, o: { batch?: number; width?: number } = {}): Promise<StepBench> {
  const { spec, image } = resnetBtSpec(o);
  // NaN: the convolutions' and matmuls' FLOPs are counted off the graph
  return benchStep(gpu, spec, image, NaN);
}

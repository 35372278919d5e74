// One Barlow Twins training step with the small CNN encoder (`--encoder cnn:32,64,128`): batch 256
// of 1×28×28 images, two views, per stage conv 3×3 (no bias) → BN → ReLU → 2×2 max-pool, widths
// 32, 64, 128, global average pool, projector 1024-1024, BT loss, LARS — the CPU-sized conv twin
// of bench/step.ts, built by the same entry point as the trainer's step.
import { cnn } from "../dsl/builders.ts";
import { presets } from "../dsl/presets.ts";
import type { Gpu } from "../runtime/device.ts";
import { benchStep, type StepBench } from "./step.ts";

/** The bench's small-CNN Barlow Twins step: its spec and image shape. */
export function cnnBtSpec(o: { batch?: number; channels?: number[] } = {}) {
  const batch = o.batch ?? 256, side = 28;
  const spec = presets.barlowTwins({
    batch,
    imageSize: side,
    proj: [1024, 1024],
    encoder: cnn(o.channels ?? [32, 64, 128]),
  });
  return { spec, image: { c: 1, h: side, w: side } };
}

export function cnnBtStep(gpu: Gpu, o: { batch?: number; channels?: number[] } = {}): Promise<StepBench> {
  const { spec, image } = cnnBtSpec(o);
  // NaN: the convolutions' and matmuls' FLOPs are counted off the graph
  return benchStep(gpu, spec, image, NaN);
}

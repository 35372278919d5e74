// The training step as it trains on this device: the training images laid out for the adapter
// (resident, or a window the host refills in chunks; nothing allocated yet), the training graph
// for that layout (step/build.ts, the one entry point), compiled with this device's kernel
// variants and limits (compile_for.ts). The trainer and --print-step both build their step here,
// so the printed program is the program that trains.
import type { Dataset } from "../data/dataset.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type CompiledStep, compileStep, trainingGraph } from "../step/build.ts";
import { deviceCompileOptions } from "./compile_for.ts";
import type { Gpu } from "./device.ts";
import { DeviceImages } from "./device_images.ts";

export interface DeviceStep {
  step: CompiledStep;
  /** the training images' layout on the device (allocate() uploads them) */
  images: DeviceImages;
  /** streaming: the device holds the rows of this many steps at a time (undefined when resident) */
  chunkSteps?: number;
}

/** `maxDataBytes`: a cap on the images' device buffer (tests: force streaming in chunks). */
export async function deviceStep(
  gpu: Gpu,
  spec: PipelineSpec,
  train: Dataset,
  opts: { maxDataBytes?: number } = {},
): Promise<DeviceStep> {
  const images = new DeviceImages(gpu, train, { maxBytes: opts.maxDataBytes });
  const chunkSteps = images.resident ? undefined : Math.floor(images.rows / spec.batch);
  if (chunkSteps !== undefined && chunkSteps < 1) {
    throw new Error(
      `batch ${spec.batch}: the device buffer for the images of ${train.name} holds only ${images.rows} of them, fewer than one batch; lower --batch`,
    );
  }
  const t = trainingGraph(spec, { c: train.c, h: train.h, w: train.w }, {
    data: { rows: images.rows, dtype: images.dtype, order: images.resident ? "shuffle" : "stored", chunkSteps },
    precision: spec.precision,
    ...(spec.eval.onlineProbe ? { probe: { classes: train.classes } } : {}),
  });
  const step = compileStep(t, await deviceCompileOptions(gpu, t.graph));
  return { step, images, chunkSteps };
}

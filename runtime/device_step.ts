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

/**
 * `maxDataBytes`: a cap on the images' device buffer (tests: force streaming in chunks);
 * `maxBufferBytes`: on any other buffer, below the device's own limits (tests: force one forward
 * per view).
 */
export async function deviceStep(
  gpu: Gpu,
  spec: PipelineSpec,
  train: Dataset,
  opts: { maxDataBytes?: number; maxBufferBytes?: number } = {},
): Promise<DeviceStep> {
  const images = new DeviceImages(gpu, train, { maxBytes: opts.maxDataBytes });
  const chunkSteps = images.resident ? undefined : Math.floor(images.rows / spec.batch);
  if (chunkSteps !== undefined && chunkSteps < 1) {
    throw new Error(
      `batch ${spec.batch}: the device buffer for the images of ${train.name} holds only ${images.rows} of them, fewer than one batch; lower --batch`,
    );
  }
  const build = async (stackViews: boolean) => {
    const t = trainingGraph(spec, { c: train.c, h: train.h, w: train.w }, {
      data: { rows: images.rows, dtype: images.dtype, order: images.resident ? "shuffle" : "stored", chunkSteps },
      precision: spec.precision,
      ...(spec.eval.onlineProbe ? { probe: { classes: train.classes } } : {}),
      stackViews,
    });
    return compileStep(t, await deviceCompileOptions(gpu, t.graph));
  };
  // views stacked into one batch make the encoder's buffers that many times larger: where one
  // would exceed what a buffer may bind and one forward per view fits, the step runs that way
  // (a plan that fits neither way is refused by the memory check, naming its buffers)
  const { maxStorageBufferBindingSize, maxBufferSize } = gpu.device.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize, opts.maxBufferBytes ?? Infinity);
  const fits = (s: CompiledStep) => s.program.storages.every((b) => b.bytes <= limit);
  const stacked = await build(true);
  if (fits(stacked)) return { step: stacked, images, chunkSteps };
  const apart = await build(false);
  return { step: fits(apart) ? apart : stacked, images, chunkSteps };
}

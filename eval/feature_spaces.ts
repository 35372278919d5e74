// The three feature spaces every feature tool compares: the checkpoint's trained encoder, the same
// encoder at its random initialisation (the spec's seed), and raw pixels — a learned
// representation is only interesting where it beats the other two.
import type { Dataset } from "../data/dataset.ts";
import type { Gpu } from "../runtime/device.ts";
import { DeviceImages } from "../runtime/device_images.ts";
import type { CheckpointEncoder } from "./checkpoint_encoder.ts";
import { encoderModel } from "./evaluate.ts";
import { extractFeatures, type FeatureSet } from "./features.ts";
import { pixelFeatures } from "./pixels.ts";

export const SPACES = ["trained", "random", "pixels"] as const;
export type Space = typeof SPACES[number];

/** Features of `ds` in `space`; the encoder spaces run on the GPU (BN in inference mode). */
export async function spaceFeatures(gpu: Gpu, ck: CheckpointEncoder, space: Space, ds: Dataset): Promise<FeatureSet> {
  if (space === "pixels") return pixelFeatures(ds);
  const images = DeviceImages.create(gpu, ds);
  try {
    const weights = space === "trained" ? ck.weights : undefined;
    return await extractFeatures(gpu, encoderModel(ck.spec, ck.encoder, weights), images);
  } finally {
    images.destroy();
  }
}

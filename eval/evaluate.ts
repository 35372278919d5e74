// Evaluation of a run with the same kernel set: frozen encoder features (BN in inference
// mode) → weighted kNN and a linear probe, for the trained encoder, the same encoder at its
// random initialisation, and raw pixels as baselines.
import { applyModule } from "../step/apply_module.ts";
import type { Split } from "../data/dataset.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { extractFeatures, type FeatureModel, type FeatureSet } from "./features.ts";
import { knnEval, knnKFix } from "./knn.ts";
import { linearProbe, probeOptions } from "./linear_probe.ts";
import { pixelKnn } from "./pixels.ts";
import type { Tensor } from "../ir/tensor.ts";
import type { DeviceImages } from "../runtime/device_images.ts";
import type { Gpu } from "../runtime/device.ts";
import type { Executable } from "../runtime/executable.ts";

export interface EvalFigures {
  knn_top1: number;
  linear_top1: number;
  seconds: number;
}

/**
 * The encoder module in inference mode as a feature model. When training views are resized crops
 * of another side, evaluation images are resized (whole image, no randomness) to that side so
 * the encoder sees the geometry it was trained on. `weights` gives each persistent tensor's
 * trained value by name, or is undefined for the random initialisation.
 */
export function encoderModel(
  spec: PipelineSpec,
  encoder: string,
  weights: ((name: string) => Promise<Float32Array>) | undefined,
): FeatureModel {
  return pathModel(spec, [encoder], weights);
}

/** As {@link encoderModel}, for a module path (a branch's: encoder, then a head) in inference mode. */
export function pathModel(
  spec: PipelineSpec,
  path: readonly string[],
  weights: ((name: string) => Promise<Float32Array>) | undefined,
): FeatureModel {
  return {
    forward(x: Tensor) {
      const side = spec.views[0]?.aug.crop?.size;
      const [, , h, w] = x.shape;
      const sized = side !== undefined && (side !== h || side !== w)
        ? x.op("augment", [], { crop: { size: [side, side] } })
        : x;
      return path.reduce((t, m) => applyModule(t, m, spec.modules, false), sized);
    },
    async load(ex: Executable) {
      if (!weights) return void ex.initPersistent(spec.seed);
      for (const name of ex.program.persistent.keys()) ex.write(name, await weights(name));
    },
  };
}

/** Features of the train and test split (both already on the device) under the encoder's weights. */
export async function encoderFeatures(
  gpu: Gpu,
  spec: PipelineSpec,
  encoder: string,
  images: { train: DeviceImages; test: DeviceImages },
  weights: ((name: string) => Promise<Float32Array>) | undefined,
): Promise<{ train: FeatureSet; test: FeatureSet }> {
  const model = encoderModel(spec, encoder, weights);
  return {
    train: await extractFeatures(gpu, model, images.train),
    test: await extractFeatures(gpu, model, images.test),
  };
}

/**
 * Refuses a kNN with more neighbours than training images. Spec validation can only compare
 * eval.knnK with data.trainLimit; this compares it with the training set actually loaded, and
 * is cheap enough to call right after loading the data, before any training.
 */
export function checkKnnK(spec: PipelineSpec, trainImages: number): void {
  const k = spec.eval.knnK;
  if (k > trainImages) {
    throw new EvalSettingsError(
      `eval.knnK: the kNN evaluation asks for ${k} neighbours but the training set of '${spec.data.name}' has only ${trainImages} images; ${
        knnKFix(trainImages)
      }`,
    );
  }
}

/** Evaluation settings the data cannot satisfy (a user error: exit status 2). */
export class EvalSettingsError extends Error {
  override name = "EvalSettingsError";
  readonly exitCode = 2;
}

export async function evaluateFeatures(
  gpu: Gpu,
  spec: PipelineSpec,
  f: { train: FeatureSet; test: FeatureSet },
): Promise<EvalFigures> {
  const t0 = performance.now();
  const e = spec.eval;
  checkKnnK(spec, f.train.n);
  const knn = await knnEval(f.train, f.test, { k: e.knnK, T: e.knnT, gpu });
  const lin = e.linearEpochs > 0
    ? await linearProbe(f.train, f.test, { ...probeOptions(e, f.train.n), gpu })
    : { top1: NaN };
  return { knn_top1: knn.top1, linear_top1: lin.top1, seconds: (performance.now() - t0) / 1000 };
}

export async function pixelsKnn(gpu: Gpu, spec: PipelineSpec, data: Split): Promise<number> {
  checkKnnK(spec, data.train.n);
  return (await pixelKnn(data.train, data.test, { k: spec.eval.knnK, T: spec.eval.knnT, gpu })).top1;
}

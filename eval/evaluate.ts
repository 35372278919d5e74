// Evaluation of a run with the same kernel set: frozen encoder features (BN in inference
// mode) → weighted kNN and a linear probe, for the trained encoder, the same encoder at its
// random initialisation, and raw pixels as baselines.
import { compile } from "../compiler/compile.ts";
import { applyModule } from "../nn/apply.ts";
import type { Split } from "../data/dataset.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { extractFeatures, type FeatureSet } from "./features.ts";
import { knnEval } from "./knn.ts";
import { linearProbe } from "./linear_probe.ts";
import { pixelKnn } from "./pixels.ts";
import { Graph } from "../ir/graph.ts";
import type { Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

export interface EvalFigures {
  knn_top1: number;
  linear_top1: number;
  seconds: number;
}

/**
 * An inference program of the encoder module for `batch` images. When training views are
 * resized crops of another side, evaluation images are resized (whole image, no randomness)
 * to that side so the encoder sees the geometry it was trained on.
 */
export async function encoderProgram(gpu: Gpu, spec: PipelineSpec, encoder: string, img: { c: number; h: number; w: number }, batch: number) {
  const g = new Graph();
  let x = g.input("images", [batch, img.c, img.h, img.w]);
  const side = spec.views[0]?.aug.crop?.size;
  if (side !== undefined && (side !== img.h || side !== img.w)) x = x.op("augment", [], { crop: { size: [side, side] } });
  g.output("features", applyModule(x, encoder, spec.modules, false));
  return await Executable.create(gpu, compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }));
}

/**
 * Features of the train and test split under the encoder's weights: `weights` gives a value
 * for each persistent tensor by name (trained values), or undefined for the random init.
 */
export async function encoderFeatures(
  gpu: Gpu,
  spec: PipelineSpec,
  encoder: string,
  data: Split,
  weights: ((name: string) => Promise<Float32Array>) | undefined,
): Promise<{ train: FeatureSet; test: FeatureSet }> {
  const { train } = data;
  const model = async (batch: number) => {
    const ex = await encoderProgram(gpu, spec, encoder, train, batch);
    if (weights) for (const name of ex.program.persistent.keys()) ex.write(name, await weights(name));
    else ex.initPersistent(spec.seed);
    return ex;
  };
  return { train: await extractFeatures(model, data.train), test: await extractFeatures(model, data.test) };
}

export async function evaluateFeatures(gpu: Gpu, spec: PipelineSpec, f: { train: FeatureSet; test: FeatureSet }): Promise<EvalFigures> {
  const t0 = performance.now();
  const e = spec.eval;
  const k = Math.min(e.knnK, f.train.n);
  const knn = await knnEval(f.train, f.test, { k, T: e.knnT, gpu });
  const lin = e.linearEpochs > 0
    ? await linearProbe(f.train, f.test, { epochs: e.linearEpochs, batch: Math.min(e.linearBatch, f.train.n), gpu })
    : { top1: NaN };
  return { knn_top1: knn.top1, linear_top1: lin.top1, seconds: (performance.now() - t0) / 1000 };
}

export async function pixelsKnn(gpu: Gpu, spec: PipelineSpec, data: Split): Promise<number> {
  return (await pixelKnn(data.train, data.test, { k: Math.min(spec.eval.knnK, data.train.n), T: spec.eval.knnT, gpu })).top1;
}

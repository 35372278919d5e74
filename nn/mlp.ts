// Multi-layer perceptron heads: projectors and predictors of every method are this one
// function with different options.
//
//   hidden layer i (all but the last):  Linear → [BN] → [ReLU]
//   last layer:                         Linear → [BN (affine or not)]
//
// Param names: `${name}.${i}.linear.*` and `${name}.${i}.bn.*` for layer i (see linear.ts,
// batchnorm.ts). Recipes (docs/recipes.md):
//   Barlow Twins / VICReg projector  widths [d, d, d], bn, relu, bias false
//   SimSiam projector               widths [d, d, d], bn, relu, bias false, lastBn, lastBnAffine false
//   SimSiam predictor               widths [h, d], bn, relu, bias false, lastBias true
//   BYOL projector / predictor      widths [h, d], bn, relu, bias true
//   SimCLR / MoCo v2 head           widths [h, d], bn or not, relu, bias true
import type { Tensor } from "../ir/tensor.ts";
import { ShapeError } from "../kernels/op.ts";
import { batchNorm } from "./batchnorm.ts";
import { linear } from "./linear.ts";

export interface MlpOpts {
  /** output width of each layer; the input width comes from x */
  widths: number[];
  /** BN after every hidden Linear (default true) */
  bn?: boolean;
  /** ReLU after every hidden layer (default true) */
  relu?: boolean;
  /** bias in the hidden Linears (default: !bn, since a BN right after makes a bias redundant) */
  bias?: boolean;
  /** bias in the last Linear (default: same as bias) */
  lastBias?: boolean;
  /** BN after the last Linear (default false) */
  lastBn?: boolean;
  /** scale/shift in that last BN (default true; SimSiam uses false) */
  lastBnAffine?: boolean;
  /** passed to every BN */
  training?: boolean;
  momentum?: number;
  eps?: number;
  /** the batch is this many views stacked, normalised apart by every BN (default 1) */
  groups?: number;
}

export function mlp(x: Tensor, name: string, opts: MlpOpts): Tensor {
  const { widths, bn = true, relu = true, lastBn = false, lastBnAffine = true } = opts;
  if (!Array.isArray(widths) || widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new ShapeError(
      "mlp",
      `${name}: widths must be a non-empty list of positive integers, got ${JSON.stringify(widths)}`,
    );
  }
  const bias = opts.bias ?? !bn;
  const lastBias = opts.lastBias ?? bias;
  const bnOpts = { training: opts.training, momentum: opts.momentum, eps: opts.eps, groups: opts.groups };
  let h = x;
  widths.forEach((w, i) => {
    const last = i === widths.length - 1;
    h = linear(h, `${name}.${i}.linear`, w, { bias: last ? lastBias : bias });
    if (last) {
      if (lastBn) h = batchNorm(h, `${name}.${i}.bn`, { ...bnOpts, affine: lastBnAffine });
      return;
    }
    if (bn) h = batchNorm(h, `${name}.${i}.bn`, bnOpts);
    if (relu) h = h.relu();
  });
  return h;
}

// The small CNN encoder of the spec's `cnn` module (28×28 / 32×32 images on a CPU budget):
//   for each width w_i: conv k×k (stride 1, same padding, no bias) → [BN] → ReLU, then a 2×2
//   max-pool while the map is still at least 2×2; finally global average pool → [N, w_last].
// Param names: `${name}.conv${i}.weight`, `${name}.bn${i}.*` (no conv bias: a BN follows).
// This is the only CNN: step/apply_module.ts builds `cnn` modules with it.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import { batchNorm, type BatchNormOpts } from "./batchnorm.ts";
import { conv, globalAvgPool } from "./conv.ts";

export interface SmallCnnOpts {
  /** output channels of each conv stage (default [32, 64, 128]) */
  widths?: number[];
  /** conv kernel side, odd (default 3) */
  kernel?: number;
  /** BatchNorm after each conv with these options, or false for none (default {}) */
  bn?: BatchNormOpts | false;
  /** 2×2 max-pool after each stage while the map is at least 2×2 (default true) */
  pool?: boolean;
}

export function smallCnn(x: Tensor, name: string, opts: SmallCnnOpts = {}): { features: Tensor; dim: number } {
  const { widths = [32, 64, 128], kernel = 3, bn = {}, pool = true } = opts;
  if (x.rank !== 4) throw new ShapeError("smallCnn", `${name}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  let h = x;
  widths.forEach((w, i) => {
    h = conv(h, `${name}.conv${i}`, w, { kernel });
    if (bn) h = batchNorm(h, `${name}.bn${i}`, bn);
    h = h.relu();
    if (pool && h.shape[2] >= 2 && h.shape[3] >= 2) h = h.op("maxPool2d", [], { kernel: 2, stride: 2, pad: 0 });
  });
  return { features: globalAvgPool(h), dim: h.shape[1] };
}

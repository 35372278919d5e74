// A small CNN encoder for 28×28 / 32×32 images on a CPU budget:
//   for each width w_i: conv3×3(w_i) → BN → ReLU, then 2×2 max-pool except after the last,
//   then global average pool → [N, w_last].
// Param names: `${name}.conv${i}.weight`, `${name}.bn${i}.*` (convs have no bias: a BN follows).
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import { batchNorm, type BatchNormOpts } from "./batchnorm.ts";
import { conv, globalAvgPool } from "./conv.ts";

export interface SmallCnnOpts {
  /** channels of each conv stage (default [32, 64, 128]) */
  widths?: number[];
  bn?: BatchNormOpts;
}

export function smallCnn(x: Tensor, name: string, opts: SmallCnnOpts = {}): { features: Tensor; dim: number } {
  const { widths = [32, 64, 128], bn = {} } = opts;
  if (x.rank !== 4) throw new ShapeError("smallCnn", `${name}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  let h = x;
  widths.forEach((w, i) => {
    h = conv(h, `${name}.conv${i}`, w, { kernel: 3 });
    h = batchNorm(h, `${name}.bn${i}`, bn).relu();
    if (i < widths.length - 1) {
      if (h.shape[2] < 2 || h.shape[3] < 2) {
        throw new ShapeError(
          "smallCnn",
          `${name}: feature map ${fmtShape(h.shape)} too small to pool after stage ${i}`,
        );
      }
      h = h.op("maxPool2d", [], { kernel: 2, stride: 2, pad: 0 });
    }
  });
  return { features: globalAvgPool(h), dim: h.shape[1] };
}

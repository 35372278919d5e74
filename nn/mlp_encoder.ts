// The MLP encoder of the small-image experiments (DESIGN.md's reference step uses
// 784→1024→1024): flatten [N, C, H, W] (or take [N, F]) then Linear → BN → ReLU per width.
// Param names: `${name}.${i}.linear.*`, `${name}.${i}.bn.*` (see mlp.ts).
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import type { BatchNormOpts } from "./batchnorm.ts";
import { flatten } from "./conv.ts";
import { mlp } from "./mlp.ts";

export interface MlpEncoderOpts {
  widths: number[];
  /** BN after each Linear (default true) */
  bn?: boolean;
  /** training / momentum / eps of every BN */
  bnOpts?: Omit<BatchNormOpts, "affine">;
}

export function mlpEncoder(x: Tensor, name: string, opts: MlpEncoderOpts): { features: Tensor; dim: number } {
  if (x.rank !== 2 && x.rank !== 4) {
    throw new ShapeError("mlpEncoder", `${name}: input must be [N, C, H, W] or [N, F], got ${fmtShape(x.shape)}`);
  }
  const flat = x.rank === 4 ? flatten(x) : x;
  const bn = opts.bn ?? true;
  // every layer, the last included, is Linear → BN → ReLU: the features are post-activation
  const features = mlp(flat, name, {
    widths: opts.widths,
    bn,
    relu: true,
    lastBn: bn,
    training: opts.bnOpts?.training,
    momentum: opts.bnOpts?.momentum,
    eps: opts.bnOpts?.eps,
  }).relu();
  return { features, dim: features.shape[1] };
}

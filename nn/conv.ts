// 2-D convolution layer over NCHW tensors (square kernels), on the `conv2d` primitive
// (x [N, C, H, W], weight [O, C, K, K], attrs {stride, pad}).
//
// Params:  `${name}.weight` [O, C, K, K] group "default";  `${name}.bias` [O] group "bias" (when bias).
// Init "kaiming_out" is what torchvision's ResNet uses for its convs (normal, std √(2/fan_out),
// fan_out = O·K·K); "pytorch" is nn.Conv2d's default U(±1/√fan_in), fan_in = C·K·K.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";

export interface ConvOpts {
  kernel?: number;
  stride?: number;
  /** zero padding on every side (default ⌊kernel/2⌋: "same" size at stride 1) */
  pad?: number;
  bias?: boolean;
  init?: "kaiming_out" | "pytorch";
}

export function conv(x: Tensor, name: string, out: number, opts: ConvOpts = {}): Tensor {
  const { kernel = 3, stride = 1, bias = false, init = "kaiming_out" } = opts;
  const pad = opts.pad ?? Math.floor(kernel / 2);
  if (x.rank !== 4) throw new ShapeError("conv", `${name}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const c = x.shape[1];
  const fanIn = c * kernel * kernel;
  const wInit = init === "kaiming_out"
    ? { kind: "normal" as const, std: Math.sqrt(2 / (out * kernel * kernel)) }
    : { kind: "uniform" as const, bound: 1 / Math.sqrt(fanIn) };
  const w = x.g.param(`${name}.weight`, [out, c, kernel, kernel], wInit);
  const y = x.op("conv2d", [w], { stride, pad });
  if (!bias) return y;
  const b = x.g.param(`${name}.bias`, [out], { kind: "uniform", bound: 1 / Math.sqrt(fanIn) }, "bias");
  return y.add(b.reshape([1, out, 1, 1]));
}

/** [N, C, H, W] → [N, C]: the mean over each feature map (a plain reduction, so it fuses and
 * differentiates like any other mean). */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError("globalAvgPool", `input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  return x.mean([2, 3]);
}

/** [N, C, H, W] → [N, C·H·W], the row-major flatten PyTorch's nn.Flatten does. */
export function flatten(x: Tensor): Tensor {
  const n = x.shape[0];
  return x.reshape([n, x.shape.slice(1).reduce((a, b) => a * b, 1)]);
}

// ResNet-18 with torchvision's BasicBlock layout and parameter names, and a width multiplier so
// the same graph runs at toy size on a CPU. Two stems:
//   "cifar"     conv1 3×3 stride 1 → bn1 → relu (small images keep their resolution)
//   "imagenet"  conv1 7×7 stride 2 pad 3 → bn1 → relu → 3×3 max-pool stride 2 pad 1 (torchvision;
//               for 64 px and larger images: the stem divides the side by 4)
//   layer1..4: BasicBlocks [2, 2, 2, 2], widths w0·[1, 2, 4, 8] (w0 = 64·widthMult), the first
//              block of layers 2–4 has stride 2 and a 1×1 stride-2 conv + BN shortcut
//   global average pool → [N, 8·w0]
//
// Param/state names follow torchvision under the prefix: `${name}.conv1.weight`, `${name}.bn1.*`,
// `${name}.layer2.0.conv1.weight`, `${name}.layer2.0.bn2.*`, `${name}.layer2.0.downsample.0.weight`,
// `${name}.layer2.0.downsample.1.*`. Convs have no bias (a BN follows each).
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import { batchNorm, type BatchNormOpts } from "./batchnorm.ts";
import { conv, globalAvgPool } from "./conv.ts";

export type ResNetStem = "cifar" | "imagenet";

/** Smallest image side the ImageNet stem accepts: it downsamples by 4, then layers 2–4 by 8. */
export const IMAGENET_STEM_MIN_SIZE = 64;

export interface ResNetOpts {
  /** "cifar" (default) or "imagenet": see the header */
  stem?: ResNetStem;
  /** scales every width (64·m, 128·m, …), rounded, at least 1 (default 1) */
  widthMult?: number;
  /** blocks per stage (default [2, 2, 2, 2] = ResNet-18) */
  blocks?: number[];
  /** passed to every BN */
  bn?: BatchNormOpts;
}

/** One BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
export function basicBlock(x: Tensor, name: string, out: number, stride: number, bn: BatchNormOpts = {}): Tensor {
  let h = conv(x, `${name}.conv1`, out, { kernel: 3, stride });
  h = batchNorm(h, `${name}.bn1`, bn).relu();
  h = conv(h, `${name}.conv2`, out, { kernel: 3 });
  h = batchNorm(h, `${name}.bn2`, bn);
  let short = x;
  if (stride !== 1 || x.shape[1] !== out) {
    short = conv(x, `${name}.downsample.0`, out, { kernel: 1, stride, pad: 0 });
    short = batchNorm(short, `${name}.downsample.1`, bn);
  }
  return h.add(short).relu();
}

/** x [N, 3, H, W] → features [N, dim]. */
export function resnet18(x: Tensor, name: string, opts: ResNetOpts = {}): { features: Tensor; dim: number } {
  const { widthMult = 1, blocks = [2, 2, 2, 2], bn = {}, stem = "cifar" } = opts;
  if (x.rank !== 4) throw new ShapeError("resnet18", `${name}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (!(widthMult > 0)) throw new ShapeError("resnet18", `${name}: widthMult must be > 0, got ${widthMult}`);
  if (stem !== "cifar" && stem !== "imagenet") {
    throw new ShapeError("resnet18", `${name}: stem must be 'cifar' or 'imagenet', got '${stem}'`);
  }
  const width = (w: number) => Math.max(1, Math.round(w * widthMult));
  const w0 = width(64);
  let h: Tensor;
  if (stem === "imagenet") {
    if (Math.min(x.shape[2], x.shape[3]) < IMAGENET_STEM_MIN_SIZE) {
      throw new ShapeError(
        "resnet18",
        `${name}: the 'imagenet' stem needs images of at least ${IMAGENET_STEM_MIN_SIZE} px, got ${
          fmtShape(x.shape)
        }; use stem 'cifar' for small images`,
      );
    }
    h = conv(x, `${name}.conv1`, w0, { kernel: 7, stride: 2, pad: 3 });
    h = batchNorm(h, `${name}.bn1`, bn).relu();
    h = h.op("maxPool2d", [], { kernel: 3, stride: 2, pad: 1 });
  } else {
    h = conv(x, `${name}.conv1`, w0, { kernel: 3, stride: 1 });
    h = batchNorm(h, `${name}.bn1`, bn).relu();
  }
  blocks.forEach((nb, s) => {
    const out = width(64 << s);
    for (let b = 0; b < nb; b++) {
      h = basicBlock(h, `${name}.layer${s + 1}.${b}`, out, s > 0 && b === 0 ? 2 : 1, bn);
    }
  });
  return { features: globalAvgPool(h), dim: h.shape[1] };
}

// 2-D convolution primitives: the op table entries. Layout is NCHW throughout: activations
// [N, C, H, W], weights [O, C, KH, KW] (PyTorch's order), no bias (a bias is a separate broadcast
// add), no groups.
//
//   conv2d(x, w, {stride, pad})                      → y  [N, O, Ho, Wo]
//   conv2dGradInput(g, w, {stride, pad, inShape})    → dx [N, C, H, W]    (transposed convolution)
//   conv2dGradWeight(x, g, {stride, pad, wShape})    → dw [O, C, KH, KW]
//
// stride and pad are a number or a pair [h, w]; Ho = ⌊(H + 2·padH − KH) / strideH⌋ + 1
// (kernels/conv/geometry.ts). All three ops are bilinear, so every VJP is again one of the three:
// second derivatives are available for free. The WGSL lowerings are implicit GEMMs in two
// families: kernels/conv/lavapipe_*.ts are tuned for lavapipe (no shared memory, no barriers);
// the "gemm…" / "sgmat…" variants (kernels/conv/gemm.ts) use the discrete-GPU matmul cores. On
// CPU adapters 3×3 stride-1 layers may instead run as Winograd convolutions ("wino2", "wino4",
// kernels/conv/winograd.ts): fewer multiplications around batched GEMMs on the lavapipe tile.
// runtime/autotune.ts picks per adapter (kernels/conv/variants.ts).
import type { Tensor } from "./op.ts";
import { convGemmForward, convGemmGradInput, convGemmGradWeight } from "./conv/gemm.ts";
import { type ConvKernel, gemmTile } from "./conv/gemm_tile.ts";
import { type ConvGeom, convGeom, forEachTap, gradInputGeom, gradWeightGeom } from "./conv/geometry.ts";
import { lowerConv2dGradWeight } from "./conv/lavapipe_grad_weight.ts";
import { lowerConv2d, lowerConv2dGradInput } from "./conv/lavapipe_tap_gemm.ts";
import { convChoice } from "./conv/variants.ts";
import { winogradLowering } from "./conv/winograd.ts";
import { type Attrs, type KernelCtx, type Lowering, type OpDef, size } from "./op.ts";

const sp = (a: Attrs) => ({ stride: a.stride, pad: a.pad });

/**
 * The lowering the node's variant names, the same order for the three ops: a Winograd
 * convolution, else a discrete-GPU tile, else lavapipe's implicit GEMM (the op's default).
 */
function lowerConv(
  op: string,
  geo: ConvGeom,
  c: KernelCtx,
  gemm: (geo: ConvGeom, t: ConvKernel, label: string) => Lowering,
  lavapipe: (geo: ConvGeom, c: KernelCtx) => Lowering,
): Lowering {
  const wino = winogradLowering(op, c.variant, geo, c.features);
  if (wino) return wino;
  const t = gemmTile(op, c);
  return t ? gemm(geo, t, `${op} ${c.variant}`) : lavapipe(geo, c);
}

export const CONV: Record<string, OpDef> = {
  conv2d: {
    f16Operands: true,
    variants: convChoice("conv2d"),
    kind: "kernel",
    shape: ([x, w], attrs) => {
      const { N, O, Ho, Wo } = convGeom("conv2d", x, w, attrs);
      return [N, O, Ho, Wo];
    },
    cpu: ({ ins: [x, w], inShapes, out, attrs }) => {
      const y = new Float64Array(size(out));
      forEachTap(convGeom("conv2d", inShapes[0], inShapes[1], attrs), (xi, wi, yi) => (y[yi] += x[xi] * w[wi]));
      return y;
    },
    // the weight gradient first: it reads g (or its transposed copy, written by g's kernel:
    // compiler/relayout.ts) right after g is made, so that copy is gone before dx is allocated
    vjp: ({ g, ins: [x, w], attrs }): Tensor[] => {
      const dw = x.op("conv2dGradWeight", [g], { ...sp(attrs), wShape: [...w.shape] });
      return [g.op("conv2dGradInput", [w], { ...sp(attrs), inShape: [...x.shape] }), dw];
    },
    kernel: (c) => {
      const geo = convGeom("conv2d", c.inShapes[0], c.inShapes[1], c.attrs);
      return lowerConv("conv2d", geo, c, convGemmForward, lowerConv2d);
    },
    doc: "conv2d(x [N,C,H,W], w [O,C,KH,KW], {stride, pad}) → [N,O,Ho,Wo]; NCHW, no bias",
  },

  conv2dGradInput: {
    f16Operands: true,
    variants: convChoice("conv2dGradInput"),
    kind: "kernel",
    shape: (s, attrs) => {
      const { N, C, H, W } = gradInputGeom("conv2dGradInput", s, attrs);
      return [N, C, H, W];
    },
    cpu: ({ ins: [g, w], inShapes, out, attrs }) => {
      const dx = new Float64Array(size(out));
      forEachTap(gradInputGeom("conv2dGradInput", inShapes, attrs), (xi, wi, yi) => (dx[xi] += g[yi] * w[wi]));
      return dx;
    },
    // linear in g (adjoint of conv2d in x) and in w
    vjp: ({ g: dd, ins: [g, w], attrs }): Tensor[] => [
      dd.op("conv2d", [w], sp(attrs)),
      dd.op("conv2dGradWeight", [g], { ...sp(attrs), wShape: [...w.shape] }),
    ],
    kernel: (c) => {
      const geo = gradInputGeom("conv2dGradInput", c.inShapes, c.attrs);
      return lowerConv("conv2dGradInput", geo, c, convGemmGradInput, lowerConv2dGradInput);
    },
    doc: "conv2dGradInput(g [N,O,Ho,Wo], w, {stride, pad, inShape}) → dx [N,C,H,W]: transposed convolution",
  },

  conv2dGradWeight: {
    f16Operands: true,
    variants: convChoice("conv2dGradWeight"),
    kind: "kernel",
    shape: (s, attrs) => {
      const { O, C, KH, KW } = gradWeightGeom("conv2dGradWeight", s, attrs);
      return [O, C, KH, KW];
    },
    cpu: ({ ins: [x, g], inShapes, out, attrs }) => {
      const dw = new Float64Array(size(out));
      forEachTap(gradWeightGeom("conv2dGradWeight", inShapes, attrs), (xi, wi, yi) => (dw[wi] += g[yi] * x[xi]));
      return dw;
    },
    vjp: ({ g: dd, ins: [x, g], attrs }): Tensor[] => [
      g.op("conv2dGradInput", [dd], { ...sp(attrs), inShape: [...x.shape] }),
      x.op("conv2d", [dd], sp(attrs)),
    ],
    kernel: (c) => {
      const geo = gradWeightGeom("conv2dGradWeight", c.inShapes, c.attrs);
      return lowerConv("conv2dGradWeight", geo, c, convGemmGradWeight, lowerConv2dGradWeight);
    },
    doc: "conv2dGradWeight(x [N,C,H,W], g [N,O,Ho,Wo], {stride, pad, wShape}) → dw [O,C,KH,KW]",
  },
};

// A convolution's geometry (kernels/window.ts plus the output channels O), validated once for
// each of the three ops, and the index maps every lowering and the float64 references share.
import { type Attrs, fmtShape, type Shape, ShapeError } from "../op.ts";
import { checkCotangent, checkNchw, forEachTapAt, shapeAttr, stridePad, type Window2d, window2d } from "../window.ts";

/** Everything about one convolution's geometry, validated: C input channels, O output channels. */
export interface ConvGeom extends Window2d {
  O: number;
}

/** Geometry of conv2d(x, w) with the given attrs; throws ShapeError naming `op`. */
export function convGeom(op: string, x: Shape, w: Shape, attrs: Attrs): ConvGeom {
  checkNchw(op, "input x", x);
  checkNchw(op, "weight w", w);
  const [, C] = x, [O, Cw, KH, KW] = w;
  if (Cw !== C) {
    throw new ShapeError(
      op,
      `input has ${C} channels but weight ${fmtShape(w)} expects ${Cw} (weight is [O, C, KH, KW])`,
    );
  }
  return { ...window2d(op, x, KH, KW, stridePad(op, attrs, 1)), O };
}

/** Geometry of conv2dGradInput(g, w): the forward conv whose input has shape attrs.inShape. */
export function gradInputGeom(op: string, [gs, w]: Shape[], attrs: Attrs): ConvGeom {
  checkNchw(op, "cotangent g", gs);
  const geo = convGeom(op, shapeAttr(op, "inShape", attrs.inShape), w, attrs);
  checkOut(op, geo, gs);
  return geo;
}

/** Geometry of conv2dGradWeight(x, g): the forward conv with weight shape attrs.wShape. */
export function gradWeightGeom(op: string, [x, gs]: Shape[], attrs: Attrs): ConvGeom {
  checkNchw(op, "cotangent g", gs);
  const geo = convGeom(op, x, shapeAttr(op, "wShape", attrs.wShape), attrs);
  checkOut(op, geo, gs);
  return geo;
}

const checkOut = (op: string, geo: ConvGeom, gs: Shape) =>
  checkCotangent(op, gs, [geo.N, geo.O, geo.Ho, geo.Wo], "the convolution's output");

/**
 * Calls f(xi, wi, yi) for every (input, weight, output) flat-index triple that meets in the
 * convolution sum y[yi] += x[xi] · w[wi]. The three float64 references are each one line over it,
 * so they are consistent with each other by construction.
 */
export function forEachTap(geo: ConvGeom, f: (xi: number, wi: number, yi: number) => void): void {
  const { N, C, H, W, O, KH, KW, Ho, Wo } = geo;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          const yi = ((n * O + o) * Ho + oh) * Wo + ow;
          for (let c = 0; c < C; c++) {
            forEachTapAt(
              geo,
              oh,
              ow,
              (ih, iw, kh, kw) => f(((n * C + c) * H + ih) * W + iw, ((o * C + c) * KH + kh) * KW + kw, yi),
            );
          }
        }
      }
    }
  }
}

/**
 * The input gradient's stride phase `phi` along one axis (input length n, kernel k, stride s,
 * padding p): the input rows it holds, how many kernel taps reach it, the first tap, and the
 * output offset of its first row. dx[h] = Σ g[ho]·w[kh] over h = ho·s − p + kh, so input rows
 * h ≡ φ (mod s) are reached only by the taps kh ≡ φ + p (mod s): both lowerings of
 * conv2dGradInput run one dense GEMM per phase over those taps.
 */
export const stridePhase = (phi: number, n: number, k: number, s: number, p: number) => {
  const k0 = (phi + p) % s;
  return { rows: Math.ceil((n - phi) / s), taps: k0 < k ? Math.ceil((k - k0) / s) : 0, k0, q: (phi + p - k0) / s };
};

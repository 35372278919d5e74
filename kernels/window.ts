// The geometry of a kernel window sliding over NCHW images, shared by the convolutions
// (kernels/conv/) and the pools (kernels/pool.ts): attribute parsing, output size, the check of
// a cotangent against the output, and the index map from an output pixel to the input pixels
// its window covers.
//
//   Ho = ⌊(H + 2·ph − KH) / sh⌋ + 1;  output pixel (oh, ow), tap (kh, kw) reads input pixel
//   (oh·sh − ph + kh, ow·sw − pw + kw), or the zero padding when that lies outside the image.
import { type Attrs, fmtShape, type Shape, ShapeError } from "./op.ts";

/** A window of KH × KW taps at stride [sh, sw] with zero padding [ph, pw] over N × C planes of H × W. */
export interface Window2d {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  Ho: number;
  Wo: number;
}

/** `v` as [h, w]: a number applies to both axes. */
export function pair(op: string, name: string, v: unknown, dflt: number, min: number): [number, number] {
  const p = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    throw new ShapeError(
      op,
      `attrs.${name} must be an integer ≥ ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`,
    );
  }
  return [p[0], p[1]];
}

/** Output length along one axis; an image smaller than the (padded) kernel is an error. */
export function outLen(op: string, axis: string, n: number, k: number, s: number, p: number): number {
  const span = n + 2 * p - k;
  if (span < 0) {
    throw new ShapeError(op, `image ${axis} = ${n} (+ 2·pad ${p}) is smaller than the kernel ${axis} = ${k}`);
  }
  return Math.floor(span / s) + 1;
}

/** Throws unless `s` is 4-D; `what` names the operand ("input x"). */
export function checkNchw(op: string, what: string, s: Shape | undefined): asserts s is Shape {
  if (!s || s.length !== 4) throw new ShapeError(op, `${what} must be 4-D (NCHW), got ${s ? fmtShape(s) : "nothing"}`);
}

/** attrs[name] as a 4-D shape (the inShape / wShape of a gradient op). */
export function shapeAttr(op: string, name: string, v: unknown): Shape {
  if (!Array.isArray(v) || v.length !== 4 || v.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(op, `attrs.${name} must be 4 positive integers, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Stride and padding from attrs.stride (default `stride`: a number or a pair) and attrs.pad (default 0). */
export function stridePad(op: string, attrs: Attrs, stride: unknown): Pick<Window2d, "sh" | "sw" | "ph" | "pw"> {
  const [sh, sw] = pair(op, "stride", attrs.stride ?? stride, 1, 1);
  const [ph, pw] = pair(op, "pad", attrs.pad, 0, 0);
  return { sh, sw, ph, pw };
}

/** The window of a KH × KW kernel over images `x` (4-D, checked by the caller) at stride and padding `sp`. */
export function window2d(op: string, x: Shape, KH: number, KW: number, sp: ReturnType<typeof stridePad>): Window2d {
  const [N, C, H, W] = x, { sh, sw, ph, pw } = sp;
  const Ho = outLen(op, "height", H, KH, sh, ph), Wo = outLen(op, "width", W, KW, sw, pw);
  return { N, C, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo };
}

/** Throws unless the cotangent `g` has the shape `want` of the op's output (`what`: "the pooled output"). */
export function checkCotangent(op: string, g: Shape | undefined, want: Shape, what: string): void {
  if (!g || g.length !== want.length || want.some((d, i) => d !== g[i])) {
    throw new ShapeError(op, `cotangent g is ${g ? fmtShape(g) : "missing"} but ${what} is ${fmtShape(want)}`);
  }
}

/**
 * Calls f(ih, iw, kh, kw) for every tap of output pixel (oh, ow)'s window that lands inside the
 * image (padding skipped), in row-major tap order: the float64 references of both the
 * convolutions and the pools enumerate their windows here.
 */
export function forEachTapAt(
  g: Window2d,
  oh: number,
  ow: number,
  f: (ih: number, iw: number, kh: number, kw: number) => void,
): void {
  for (let kh = 0; kh < g.KH; kh++) {
    const ih = oh * g.sh - g.ph + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (let kw = 0; kw < g.KW; kw++) {
      const iw = ow * g.sw - g.pw + kw;
      if (iw >= 0 && iw < g.W) f(ih, iw, kh, kw);
    }
  }
}

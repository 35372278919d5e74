// Float64 spot checks of a kernel variant's output, for the autotuner (a candidate that fails is
// dropped) and the GPU bench's variant checks: matmul outputs against dot products of the
// inputs, convolutions against sampled outputs computed from their own terms, other ops against
// their whole float64 reference. Inputs are taken as the variant sees them (rounded to f16 for
// variants that multiply in half precision), so one tolerance, that of f32 summation, fits all:
// |got − want| ≤ 1e-5 + 3e-5 · Σ|terms|. Each returns the worst error over that tolerance (≤ 1 passes).
import { batchCount, type MatmulProblem, matmulProblem } from "../kernels/matmul/common.ts";
import { type Attrs, broadcastIndex, type Shape, size } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";

/** Deterministic data in [-1, 1) for tuning and spot checks. */
export function noise(n: number, seed: number): Float32Array {
  const r = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    r[i] = s / 2147483648 - 1;
  }
  return r;
}

/** the values a kernel of this precision multiplies */
const asInputs = (x: Float32Array, precision: "f32" | "f16") => (precision === "f16" ? x.map(Math.f16round) : x);

/**
 * Compare `samples` outputs of C (every one when that covers C) against float64 dot products of
 * the inputs as the variant sees them (rounded to f16 for f16 variants: products of f16 values
 * are exact in f32, so the tolerance stays that of f32 summation). Returns the worst error / tolerance.
 */
export function spotCheckMatmul(
  p: MatmulProblem,
  a0: Float32Array,
  b0: Float32Array,
  c: Float32Array,
  precision: "f32" | "f16",
  samples = 64,
) {
  const { M, N, K } = p;
  const a = asInputs(a0, precision), b = asInputs(b0, precision);
  const P = batchCount(p);
  const all = samples >= P * M * N;
  let worst = 0;
  for (let i = 0; i < (all ? P * M * N : samples); i++) {
    const [z, m, n] = all
      ? [Math.floor(i / (M * N)), Math.floor(i / N) % M, i % N]
      : [(i * 7) % P, (i * 37 + 3) % M, (i * 101 + 5) % N];
    const ao = broadcastIndex(z, p.batch, p.aBatch) * M * K, bo = broadcastIndex(z, p.batch, p.bBatch) * K * N;
    let s = 0, mag = 0;
    for (let k = 0; k < K; k++) {
      const x = a[ao + (p.transA ? k * M + m : m * K + k)] * b[bo + (p.transB ? n * K + k : k * N + n)];
      s += x;
      mag += Math.abs(x);
    }
    worst = Math.max(worst, Math.abs(c[z * M * N + m * N + n] - s) / (1e-5 + 3e-5 * mag));
  }
  return worst;
}

/**
 * The same for any kernel op: a matmul as above, convolutions on `samples` outputs (all when that
 * covers them) computed from their own terms, other ops (reductions) on every output of their
 * float64 reference.
 */
export function spotCheckOp(
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  ins0: Float32Array[],
  out: Float32Array,
  precision: "f32" | "f16",
  samples?: number,
) {
  if (op === "matmul") {
    return spotCheckMatmul(matmulProblem(inShapes, attrs), ins0[0], ins0[1], out, precision, samples);
  }
  const ins = ins0.map((x) => asInputs(x, precision));
  const def = OPS[op];
  const outShape = def.shape(inShapes, attrs);
  const check = (i: number, want: number, mag: number) => Math.abs(out[i] - want) / (1e-5 + 3e-5 * mag);
  let worst = 0;
  if (!op.startsWith("conv2d")) {
    const want = def.cpu({ ins: ins.map((x) => Float64Array.from(x)), inShapes, out: outShape, attrs, scalars: {} });
    const mag = def.cpu({
      ins: ins.map((x) => Float64Array.from(x, Math.abs)),
      inShapes,
      out: outShape,
      attrs,
      scalars: {},
    });
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, check(i, want[i], Math.abs(mag[i])));
    return worst;
  }
  const terms = convTerms(op, inShapes, attrs, ins);
  const n = size(outShape), count = samples ?? 48;
  const all = count >= n;
  for (let s = 0; s < (all ? n : count); s++) {
    const i = all ? s : Math.floor(((s * 2654435761) % 4294967296) / 4294967296 * n);
    const [want, mag] = terms(i);
    worst = Math.max(worst, check(i, want, mag));
  }
  return worst;
}

/** float64 value (and Σ|terms|) of output element i of a convolution op, from its own terms */
function convTerms(op: string, inShapes: Shape[], attrs: Attrs, ins: Float32Array[]): (i: number) => [number, number] {
  const pair = (
    v: unknown,
  ): [number, number] => (typeof v === "number" ? [v, v] : Array.isArray(v) ? [v[0], v[1]] : [0, 0]);
  const [sh, sw] = attrs.stride === undefined ? [1, 1] : pair(attrs.stride);
  const [ph, pw] = pair(attrs.pad);
  const xs = op === "conv2dGradInput" ? (attrs.inShape as number[]) : [...inShapes[0]];
  const ws = op === "conv2dGradWeight" ? (attrs.wShape as number[]) : [...inShapes[1]];
  const [N, C, H, W] = xs, [O, , KH, KW] = ws;
  const Ho = Math.floor((H + 2 * ph - KH) / sh) + 1, Wo = Math.floor((W + 2 * pw - KW) / sw) + 1;
  const xAt = (x: Float32Array, n: number, c: number, ih: number, iw: number) =>
    ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x[((n * C + c) * H + ih) * W + iw];
  return (i) => {
    let s = 0, mag = 0;
    const add = (v: number) => {
      s += v;
      mag += Math.abs(v);
    };
    if (op === "conv2d") {
      const [x, w] = ins;
      const ow = i % Wo,
        oh = Math.floor(i / Wo) % Ho,
        o = Math.floor(i / (Wo * Ho)) % O,
        n = Math.floor(i / (Wo * Ho * O));
      for (let c = 0; c < C; c++) {
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            add(xAt(x, n, c, oh * sh - ph + kh, ow * sw - pw + kw) * w[((o * C + c) * KH + kh) * KW + kw]);
          }
        }
      }
    } else if (op === "conv2dGradInput") {
      const [g, w] = ins;
      const iw = i % W, ih = Math.floor(i / W) % H, c = Math.floor(i / (W * H)) % C, n = Math.floor(i / (W * H * C));
      for (let o = 0; o < O; o++) {
        for (let kh = 0; kh < KH; kh++) {
          const th = ih + ph - kh;
          if (th < 0 || th % sh || th / sh >= Ho) continue;
          for (let kw = 0; kw < KW; kw++) {
            const tw = iw + pw - kw;
            if (tw < 0 || tw % sw || tw / sw >= Wo) continue;
            add(g[((n * O + o) * Ho + th / sh) * Wo + tw / sw] * w[((o * C + c) * KH + kh) * KW + kw]);
          }
        }
      }
    } else {
      const [x, g] = ins;
      const kw = i % KW,
        kh = Math.floor(i / KW) % KH,
        c = Math.floor(i / (KW * KH)) % C,
        o = Math.floor(i / (KW * KH * C));
      for (let n = 0; n < N; n++) {
        for (let oh = 0; oh < Ho; oh++) {
          for (let ow = 0; ow < Wo; ow++) {
            add(g[((n * O + o) * Ho + oh) * Wo + ow] * xAt(x, n, c, oh * sh - ph + kh, ow * sw - pw + kw));
          }
        }
      }
    }
    return [s, mag];
  };
}

// 2-D convolution primitives. Layout is NCHW throughout: activations [N, C, H, W], weights
// [O, C, KH, KW] (PyTorch's order), no bias (a bias is a separate broadcast add), no groups.
//
//   conv2d(x, w, {stride, pad})                      → y  [N, O, Ho, Wo]
//   conv2dGradInput(g, w, {stride, pad, inShape})    → dx [N, C, H, W]    (transposed convolution)
//   conv2dGradWeight(x, g, {stride, pad, wShape})    → dw [O, C, KH, KW]
//
// stride and pad are a number or a pair [h, w]; Ho = ⌊(H + 2·padH − KH) / strideH⌋ + 1.
// All three ops are bilinear, so every VJP is again one of the three: second derivatives are
// available for free. The WGSL lowerings are implicit GEMMs: the ones at the bottom of this file
// are tuned for lavapipe (no shared memory, no barriers); the "gemm…" variants in
// kernels/conv/gemm.ts use the discrete-GPU matmul core. runtime/autotune.ts picks per adapter.
import type { Tensor } from "./op.ts";
import {
  type ConvKernel,
  convGemmForward,
  convGemmGradInput,
  convGemmGradWeight,
  sgmatConvKernel,
  simtConvKernel,
  stridePhase,
} from "./conv/gemm.ts";
import { CONV_CHOICE } from "./conv/variants.ts";
import { parseGemmName } from "./matmul/gemm.ts";
import { parseSgmatName } from "./matmul/sgmat.ts";
import { grid, storageDecls } from "./layout.ts";
import {
  type Attrs,
  type BufRef,
  fmtShape,
  type KernelCtx,
  type Lowering,
  type OpDef,
  type Pass,
  type Shape,
  ShapeError,
  size,
} from "./op.ts";

/** Everything about one convolution's geometry, validated. */
export interface ConvGeom {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
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

const rank4 = (op: string, what: string, s: Shape | undefined) => {
  if (!s || s.length !== 4) throw new ShapeError(op, `${what} must be 4-D (NCHW), got ${s ? fmtShape(s) : "nothing"}`);
};
const shapeAttr = (op: string, name: string, v: unknown): Shape => {
  if (!Array.isArray(v) || v.length !== 4 || v.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(op, `attrs.${name} must be 4 positive integers, got ${JSON.stringify(v)}`);
  }
  return v;
};

/** Geometry of conv2d(x, w) with the given attrs; throws ShapeError naming `op`. */
export function convGeom(op: string, x: Shape, w: Shape, attrs: Attrs): ConvGeom {
  rank4(op, "input x", x);
  rank4(op, "weight w", w);
  const [N, C, H, W] = x, [O, Cw, KH, KW] = w;
  if (Cw !== C) {
    throw new ShapeError(
      op,
      `input has ${C} channels but weight ${fmtShape(w)} expects ${Cw} (weight is [O, C, KH, KW])`,
    );
  }
  const [sh, sw] = pair(op, "stride", attrs.stride, 1, 1);
  const [ph, pw] = pair(op, "pad", attrs.pad, 0, 0);
  const Ho = outLen(op, "height", H, KH, sh, ph), Wo = outLen(op, "width", W, KW, sw, pw);
  return { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo };
}

/** Geometry of conv2dGradInput(g, w): the forward conv whose input has shape attrs.inShape. */
function gradInputGeom(op: string, [gs, w]: Shape[], attrs: Attrs): ConvGeom {
  rank4(op, "cotangent g", gs);
  const geo = convGeom(op, shapeAttr(op, "inShape", attrs.inShape), w, attrs);
  checkOut(op, geo, gs);
  return geo;
}
/** Geometry of conv2dGradWeight(x, g): the forward conv with weight shape attrs.wShape. */
function gradWeightGeom(op: string, [x, gs]: Shape[], attrs: Attrs): ConvGeom {
  rank4(op, "cotangent g", gs);
  const geo = convGeom(op, x, shapeAttr(op, "wShape", attrs.wShape), attrs);
  checkOut(op, geo, gs);
  return geo;
}
function checkOut(op: string, geo: ConvGeom, gs: Shape) {
  const want = [geo.N, geo.O, geo.Ho, geo.Wo];
  if (want.some((d, i) => d !== gs[i])) {
    throw new ShapeError(op, `cotangent g is ${fmtShape(gs)} but the convolution's output is ${fmtShape(want)}`);
  }
}

/**
 * Calls f(xi, wi, yi) for every (input, weight, output) flat-index triple that meets in the
 * convolution sum y[yi] += x[xi] · w[wi]. The three float64 references are each one line over it,
 * so they are consistent with each other by construction.
 */
export function forEachTap(geo: ConvGeom, f: (xi: number, wi: number, yi: number) => void): void {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          const yi = ((n * O + o) * Ho + oh) * Wo + ow;
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * sh - ph + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * sw - pw + kw;
                if (iw < 0 || iw >= W) continue;
                f(((n * C + c) * H + ih) * W + iw, ((o * C + c) * KH + kh) * KW + kw, yi);
              }
            }
          }
        }
      }
    }
  }
}

const sp = (a: Attrs) => ({ stride: a.stride, pad: a.pad });

export const CONV: Record<string, OpDef> = {
  conv2d: {
    f16Operands: true,
    variants: CONV_CHOICE,
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
    vjp: ({ g, ins: [x, w], attrs }): Tensor[] => [
      g.op("conv2dGradInput", [w], { ...sp(attrs), inShape: [...x.shape] }),
      x.op("conv2dGradWeight", [g], { ...sp(attrs), wShape: [...w.shape] }),
    ],
    kernel: (c) => {
      const geo = convGeom("conv2d", c.inShapes[0], c.inShapes[1], c.attrs), t = gemmTile("conv2d", c);
      return t ? convGemmForward(geo, t, `conv2d ${c.variant}`) : lowerConv2d(geo, c);
    },
    doc: "conv2d(x [N,C,H,W], w [O,C,KH,KW], {stride, pad}) → [N,O,Ho,Wo]; NCHW, no bias",
  },

  conv2dGradInput: {
    f16Operands: true,
    variants: CONV_CHOICE,
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
      const geo = gradInputGeom("conv2dGradInput", c.inShapes, c.attrs), t = gemmTile("conv2dGradInput", c);
      return t ? convGemmGradInput(geo, t, `conv2dGradInput ${c.variant}`) : lowerConv2dGradInput(geo, c);
    },
    doc: "conv2dGradInput(g [N,O,Ho,Wo], w, {stride, pad, inShape}) → dx [N,C,H,W]: transposed convolution",
  },

  conv2dGradWeight: {
    f16Operands: true,
    variants: CONV_CHOICE,
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
      const geo = gradWeightGeom("conv2dGradWeight", c.inShapes, c.attrs), t = gemmTile("conv2dGradWeight", c);
      return t ? convGemmGradWeight(geo, t, `conv2dGradWeight ${c.variant}`) : lowerConv2dGradWeight(geo, c);
    },
    doc: "conv2dGradWeight(x [N,C,H,W], g [N,O,Ho,Wo], {stride, pad, wShape}) → dw [O,C,KH,KW]",
  },
};

// ---- WGSL lowering ---------------------------------------------------------------------------
//
// All three ops are implicit GEMMs written for lavapipe's cost model (docs/architecture.md, "The platform"): a storage load
// costs ~20 FMAs and any workgroupBarrier turns the shader into slow coroutines, so there is no
// shared memory and no barrier. Instead, like the fastest matmul found there, a subgroup of L = 8
// lanes computes an R-row × (L·4·OV)-column tile: each lane gathers R/L values of the "A" side
// (an input pixel, with the zero padding done by a select) and hands them to the other lanes with
// subgroupBroadcast, while the "B" side (weights or cotangents, pre-transposed into a zero-padded
// [k, columns] temporary) is read as vec4s. Per reduction step a lane does R/L + OV loads for
// 4·R·OV FMAs. Without subgroups, L = 1: every thread owns a small tile and loads its own A values.
//
//   conv2d:           rows = output pixels (n, oh, ow), columns = O, reduction = (c, kh, kw)
//   conv2dGradInput:  rows = input pixels of one stride phase, columns = C, reduction = (o, taps
//                     that hit that phase) — one pass per phase, so stride 2 wastes no FMAs
//   conv2dGradWeight: rows = (c, kh, kw), columns = O, reduction = (n, oh, ow), optionally split
//                     over n into partial sums that a last pass adds up

/**
 * The discrete-GPU kernel when the variant names one: a SIMT tile ("gemm64x64x16t4x4", "-f16"
 * rounds the inputs to half precision) or a tensor-core tile ("sgmat…", f16 inputs); undefined
 * for the lavapipe variants below.
 */
export function gemmTile(op: string, c: { variant?: string; features: { subgroups: boolean; f16: boolean } }): ConvKernel | undefined {
  const v = c.variant;
  if (!v?.startsWith("gemm") && !v?.startsWith("sgmat")) return undefined;
  let t, s;
  try {
    t = parseGemmName(v);
    s = t ? undefined : parseSgmatName(v);
  } catch (e) {
    throw new ShapeError(op, (e as Error).message);
  }
  if (!t && !s) throw new ShapeError(op, `unknown kernel variant '${v}' (gemm<BM>x<BN>x<BK>t<TM>x<TN>[-f16] or sgmat…)`);
  if (t?.storage === "f16" || s?.storage === "f16") throw new ShapeError(op, `kernel variant '${v}' reads f16 buffers; convolutions read f32`);
  if ((s || t?.elem === "f16") && !c.features.f16) throw new ShapeError(op, `kernel variant '${v}' needs shader-f16`);
  if (s && !c.features.subgroups) throw new ShapeError(op, `kernel variant '${v}' needs subgroups`);
  return t ? simtConvKernel(t) : sgmatConvKernel(s!);
}

/** L lanes share A through subgroupBroadcast (1: no subgroups); each lane holds R rows × OV vec4s. */
export interface ConvVariant {
  L: number;
  R: number;
  OV: number;
}

/**
 * The kernel variant: the autotuner's choice if given — "sg16x1": 8 subgroup lanes sharing a
 * 16-row tile, 1 vec4 of columns per lane (needs subgroups of ≥ 8 lanes, like the matmul);
 * "t4x4": one thread per 4-row × 16-column tile, no subgroups — else the measured default.
 */
export function convVariant(
  op: string,
  c: { variant?: string; features: { subgroups: boolean } },
  cols: number,
): ConvVariant {
  if (c.variant !== undefined) {
    const m = /^(sg|t)(\d+)x(\d+)$/.exec(c.variant);
    const v = m && { L: m[1] === "sg" ? 8 : 1, R: +m[2], OV: +m[3] };
    if (!v || v.R < 1 || v.OV < 1 || v.R % v.L !== 0 || v.R * v.OV > 64) {
      throw new ShapeError(
        op,
        `unknown kernel variant '${c.variant}' (sg<R>x<OV> with R a multiple of 8, or t<R>x<OV>; R·OV ≤ 64)`,
      );
    }
    if (v.L > 1 && !c.features.subgroups) throw new ShapeError(op, `kernel variant '${c.variant}' needs subgroups`);
    return v;
  }
  // measured on lavapipe (bench/conv.ts, N=8 64→64 32×32 3×3): sg16x1 ≈ 1.1–1.3× the speed
  // of the subgroup matmul on the same GEMM; sg8x1 0.6×, sg8x2 0.9×; t4x4 is the best without
  // subgroups at ~0.45×. With ≤ 4 columns (RGB: the stem's dx) a subgroup tile would be ≥ 7/8
  // zero padding; t16x1 (4-column tiles) is then 2.5× faster than sg16x1.
  if (!c.features.subgroups) return { L: 1, R: 4, OV: 4 };
  if (cols <= 4) return { L: 1, R: 16, OV: 1 };
  return { L: 8, R: 16, OV: 1 };
}

const u = (n: number) => `${n}u`;
const i = (n: number) => `(${n}i)`;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Workgroup grid for `tiles` independent tiles, folded into 2-D past 65535 groups. */
function tileGrid(tiles: number, v: ConvVariant) {
  const wg = v.L === 1 ? 64 : v.L;
  const groups = Math.ceil(tiles / (v.L === 1 ? wg : 1));
  const x = Math.min(groups, 65535);
  const id = v.L === 1 ? `gid.x + gid.y * nwg.x * ${wg}u` : "wid.x + wid.y * nwg.x";
  return {
    workgroups: [x, Math.ceil(groups / x), 1] as [number, number, number],
    head: `@compute @workgroup_size(${wg})\n` +
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,\n` +
      `        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {\n` +
      `  let t = ${id};\n  if (t >= ${tiles}u) { return; }\n` +
      `  let lane = ${v.L === 1 ? "0u" : "li"};\n`,
  };
}

/**
 * WGSL: `z`, always 0 (a bound storage array is never empty) but unknown to the shader
 * compiler. The channel / batch / pixel loop bounds get "+ z" so llvmpipe does not fully unroll
 * them (a 3×3 conv over 3 channels then compiled for ~10 s). The small tap loops (≤ KH×KW) are
 * left constant: unrolled they run ~1.5× faster, for ~0.2–0.4 s of compile time per shader.
 */
const OPAQUE_ZERO = `  let z = select(0u, 1u, arrayLength(&Y) == 0u);\n`;

/** decls: A (f32), B (vec4), Y (f32, written) at bindings 0, 1, 2 */
const gemmDecls = (v: ConvVariant) =>
  (v.L > 1 ? "enable subgroups;\n" : "") +
  `@group(0) @binding(0) var<storage, read> A: array<f32>;\n` +
  `@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;\n` +
  `@group(0) @binding(2) var<storage, read_write> Y: array<f32>;\n`;

/** WGSL: value of row-local variable `name{j}` of row rr, as seen by every lane. */
const fromRow = (v: ConvVariant, name: string, rr: number) =>
  v.L === 1 ? `${name}${rr}` : `subgroupBroadcast(${name}${Math.floor(rr / v.L)}, ${rr % v.L}u)`;

/** The FMAs of one reduction step: acc[rr][v] += a(rr) · b[v]. */
function fmaBlock(v: ConvVariant, ind: string): string {
  let s = "";
  for (let rr = 0; rr < v.R; rr++) {
    s += `${ind}{ let s = ${fromRow(v, "a", rr)};`;
    for (let k = 0; k < v.OV; k++) s += ` c${rr}_${k} = fma(vec4<f32>(s), b${k}, c${rr}_${k});`;
    s += " }\n";
  }
  return s;
}
const accDecls = (v: ConvVariant) => {
  let s = "";
  for (let rr = 0; rr < v.R; rr++) for (let k = 0; k < v.OV; k++) s += `  var c${rr}_${k} = vec4<f32>();\n`;
  return s;
};
/** B loads of one reduction step from vec4 row index expression `row`. */
const bLoads = (v: ConvVariant, row: string, ind: string) => {
  let s = `${ind}let br = ${row};\n`;
  for (let k = 0; k < v.OV; k++) s += `${ind}let b${k} = B[br + ${u(k * v.L)}];\n`;
  return s;
};
/**
 * Store the tile. Scattered stores dominate llvmpipe's compile time (each becomes 8 guarded
 * lane stores), so instead of 4·R·OV store statements there is an opaque loop over the R rows
 * that stores row 0's accumulators and then shifts the rows up by one (register moves).
 * `row` is WGSL statements defining `ok` (row r of the tile exists) and `off` (its output
 * offset) from `r`; column o of that row goes to Y[off + o·colStride], padded columns skipped.
 */
function storeRows(v: ConvVariant, row: string, colBase: string, cols: number, colStride: string): string {
  let s = `  for (var r = 0u; r < ${u(v.R)} + z; r++) {\n${row}    if (ok) {\n`;
  const full = cols % (4 * v.OV * v.L) === 0; // no padded columns: no per-lane condition
  for (let k = 0; k < v.OV; k++) {
    for (let e = 0; e < 4; e++) {
      const st = `Y[off + o * ${colStride}] = c0_${k}[${e}];`;
      s += `      { let o = ${colBase} + (${u(k * v.L)} + lane) * 4u + ${u(e)}; ${
        full ? st : `if (o < ${u(cols)}) { ${st} }`
      } }\n`;
    }
  }
  s += "    }\n";
  for (let rr = 0; rr + 1 < v.R; rr++) for (let k = 0; k < v.OV; k++) s += `    c${rr}_${k} = c${rr + 1}_${k};\n`;
  return s + "  }\n";
}

/**
 * One implicit-GEMM pass where every output row is an image position (n, i, j) and the reduction
 * runs over A's channels × a TH×TW grid of taps. Covers conv2d and each phase of its transpose.
 */
interface TapGemm {
  label: string;
  /** rows: (n, i, j) with i < RH, j < RW */
  N: number;
  RH: number;
  RW: number;
  /** A is [N, Cin, AH, AW]; row (i, j), tap (th, tw) reads A at (i·ai + ai0 + th·dh, j·aj + aj0 + tw·dw) */
  Cin: number;
  AH: number;
  AW: number;
  ai: number;
  ai0: number;
  aj: number;
  aj0: number;
  TH: number;
  TW: number;
  dh: number;
  dw: number;
  /** B is [Cin·KH·KW, colsPad]; tap (ci, th, tw) uses B row (ci·KH + bh0 + th·bhs)·KW + bw0 + tw·bws */
  KH: number;
  KW: number;
  bh0: number;
  bhs: number;
  bw0: number;
  bws: number;
  cols: number;
  colsPad: number;
  /** Y is [N, cols, OH, OW]; row (i, j) is written at (i·oi + oi0, j·oj + oj0) */
  OH: number;
  OW: number;
  oi: number;
  oi0: number;
  oj: number;
  oj0: number;
}

function tapGemmPass(g: TapGemm, v: ConvVariant, a: BufRef, b: BufRef, y: BufRef): Pass {
  const m = v.R / v.L, TWD = 4 * v.OV * v.L;
  const rows = g.N * g.RH * g.RW, colT = g.colsPad / TWD, tiles = Math.ceil(rows / v.R) * colT;
  const tg = tileGrid(tiles, v);
  let s = gemmDecls(v) + tg.head;
  s += `  let rt = t / ${u(colT)}; let ct = t % ${u(colT)};\n`;
  for (let j = 0; j < m; j++) {
    s += `  let r${j} = rt * ${u(v.R)} + ${u(j * v.L)} + lane; let ok${j} = r${j} < ${u(rows)};\n` +
      `  let n${j} = r${j} / ${u(g.RH * g.RW)}; let q${j} = r${j} % ${u(g.RH * g.RW)};\n` +
      `  let i${j} = i32(q${j} / ${u(g.RW)}); let j${j} = i32(q${j} % ${u(g.RW)});\n` +
      `  let ah${j} = i${j} * ${i(g.ai)} + ${i(g.ai0)}; let aw${j} = j${j} * ${i(g.aj)} + ${i(g.aj0)};\n` +
      `  let ab${j} = i32(n${j} * ${u(g.Cin * g.AH * g.AW)}) + ah${j} * ${i(g.AW)} + aw${j};\n` +
      // which taps land inside A (bit th of vh, bit tw of vw): the zero padding, decided once
      `  var vh${j} = 0u; var vw${j} = 0u;\n` +
      `  for (var th = 0i; th < ${i(g.TH)}; th++) { let h = ah${j} + th * ${i(g.dh)}; ` +
      `if (ok${j} && h >= 0i && h < ${i(g.AH)}) { vh${j} |= 1u << u32(th); } }\n` +
      `  for (var tw = 0i; tw < ${i(g.TW)}; tw++) { let w = aw${j} + tw * ${i(g.dw)}; ` +
      `if (w >= 0i && w < ${i(g.AW)}) { vw${j} |= 1u << u32(tw); } }\n`;
  }
  s += accDecls(v);
  s += `  let bcol = ct * ${u(TWD / 4)} + lane;\n`;
  s += OPAQUE_ZERO + `  for (var ci = 0u; ci < ${u(g.Cin)} + z; ci++) {\n    let ca = i32(ci * ${u(g.AH * g.AW)});\n`;
  s += `    for (var th = 0u; th < ${u(g.TH)}; th++) {\n      for (var tw = 0u; tw < ${u(g.TW)}; tw++) {\n`;
  const ind = "        ";
  s += `${ind}let off = ca + i32(th) * ${i(g.dh * g.AW)} + i32(tw) * ${i(g.dw)};\n`;
  for (let j = 0; j < m; j++) {
    s += `${ind}let k${j} = ((vh${j} >> th) & (vw${j} >> tw) & 1u) != 0u;\n` +
      `${ind}let a${j} = select(0.0, A[select(0u, u32(ab${j} + off), k${j})], k${j});\n`;
  }
  s += bLoads(
    v,
    `((ci * ${u(g.KH)} + ${u(g.bh0)} + th * ${u(g.bhs)}) * ${u(g.KW)} + ${u(g.bw0)} + tw * ${u(g.bws)}) * ${
      u(g.colsPad / 4)
    } + bcol`,
    ind,
  );
  s += fmaBlock(v, ind) + "      }\n    }\n  }\n";
  const row = `    let row = rt * ${u(v.R)} + r; let ok = row < ${u(rows)};\n` +
    `    let rn = row / ${u(g.RH * g.RW)}; let rq = row % ${u(g.RH * g.RW)};\n` +
    `    let off = rn * ${u(g.cols * g.OH * g.OW)} + (rq / ${u(g.RW)} * ${u(g.oi)} + ${u(g.oi0)}) * ${u(g.OW)} + ` +
    `rq % ${u(g.RW)} * ${u(g.oj)} + ${u(g.oj0)};\n`;
  s += storeRows(v, row, `ct * ${u(TWD)}`, g.cols, u(g.OH * g.OW)) + "}\n";
  return {
    label: g.label,
    wgsl: s,
    bindings: [{ buf: a, write: false }, { buf: b, write: false }, { buf: y, write: true }],
    workgroups: tg.workgroups,
  };
}

/**
 * [P, Cc, Q] → [P, Q, Cp] with columns Cc..Cp-1 zero: puts the GEMM's column axis innermost
 * and pads it to whole vec4 tiles, so the main loop's vec4 loads need no bounds checks.
 */
function padTranspose(label: string, src: BufRef, dst: BufRef, P: number, Cc: number, Q: number, Cp: number): Pass {
  const n = P * Q * Cp, g = grid(n);
  const body = `  let c = i % ${u(Cp)}; let pq = i / ${u(Cp)}; let p = pq / ${u(Q)}; let q = pq % ${u(Q)};\n` +
    `  if (c < ${u(Cc)}) { y[i] = x0[(p * ${u(Cc)} + c) * ${u(Q)} + q]; } else { y[i] = 0.0; }\n`;
  return {
    label,
    wgsl: storageDecls(["x0"], "y") + g.head + body + "}\n",
    bindings: [{ buf: src, write: false }, { buf: dst, write: true }],
    workgroups: g.workgroups,
  };
}

const IN0: BufRef = { kind: "in", i: 0 }, IN1: BufRef = { kind: "in", i: 1 }, OUT: BufRef = { kind: "out" };
const TMP0: BufRef = { kind: "tmp", i: 0 }, TMP1: BufRef = { kind: "tmp", i: 1 };

export function lowerConv2d(geo: ConvGeom, c: KernelCtx): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  const v = convVariant("conv2d", c, O), Op = roundUp(O, 4 * v.OV * v.L), K = C * KH * KW;
  return {
    temps: [K * Op],
    passes: [
      padTranspose("conv2d.weights", IN1, TMP0, 1, O, K, Op),
      tapGemmPass(
        {
          label: "conv2d",
          N,
          RH: Ho,
          RW: Wo,
          Cin: C,
          AH: H,
          AW: W,
          ai: sh,
          ai0: -ph,
          aj: sw,
          aj0: -pw,
          TH: KH,
          TW: KW,
          dh: 1,
          dw: 1,
          KH,
          KW,
          bh0: 0,
          bhs: 1,
          bw0: 0,
          bws: 1,
          cols: O,
          colsPad: Op,
          OH: Ho,
          OW: Wo,
          oi: 1,
          oi0: 0,
          oj: 1,
          oj0: 0,
        },
        v,
        IN0,
        TMP0,
        OUT,
      ),
    ],
  };
}

/**
 * dx[n,c,h,w] = Σ g[n,o,ho,wo]·w[o,c,kh,kw] over h = ho·sh − ph + kh. For input rows of phase
 * h ≡ φ (mod sh) only kh ≡ φ + ph (mod sh) contribute, and then ho = i + q − t for the t-th such
 * kh: each phase is a dense tap GEMM with its own (smaller) tap grid.
 */
export function lowerConv2dGradInput(geo: ConvGeom, c: KernelCtx): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  const v = convVariant("conv2dGradInput", c, C), Cp = roundUp(C, 4 * v.OV * v.L);
  const passes: Pass[] = [padTranspose("conv2dGradInput.weights", IN1, TMP0, O, C, KH * KW, Cp)];
  for (let fh = 0; fh < Math.min(sh, H); fh++) {
    for (let fw = 0; fw < Math.min(sw, W); fw++) {
      const a = stridePhase(fh, H, KH, sh, ph), b = stridePhase(fw, W, KW, sw, pw);
      passes.push(tapGemmPass(
        {
          label: `conv2dGradInput[${fh},${fw}]`,
          N,
          RH: a.rows,
          RW: b.rows,
          Cin: O,
          AH: Ho,
          AW: Wo,
          ai: 1,
          ai0: a.q,
          aj: 1,
          aj0: b.q,
          TH: a.taps,
          TW: b.taps,
          dh: -1,
          dw: -1,
          KH,
          KW,
          bh0: a.k0,
          bhs: sh,
          bw0: b.k0,
          bws: sw,
          cols: C,
          colsPad: Cp,
          OH: H,
          OW: W,
          oi: sh,
          oi0: fh,
          oj: sw,
          oj0: fw,
        },
        v,
        IN0,
        TMP0,
        OUT,
      ));
    }
  }
  return { temps: [O * KH * KW * Cp], passes };
}

/**
 * dw[o, (c,kh,kw)] = Σ_(n,oh,ow) x[n,c,oh·sh−ph+kh, ow·sw−pw+kw] · g[n,o,oh,ow]. Rows are the
 * (c,kh,kw) triples, so lanes of a subgroup gather neighbouring pixels of x; g is transposed to
 * [N·Ho·Wo, O] for vec4 loads. When there are few row tiles the batch is split into S ranges
 * whose partial sums a final pass adds, to keep every core busy.
 */
export function lowerConv2dGradWeight(geo: ConvGeom, c: KernelCtx): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  const v = convVariant("conv2dGradWeight", c, O), m = v.R / v.L, TWD = 4 * v.OV * v.L, Op = roundUp(O, TWD);
  const KR = C * KH * KW, colT = Op / TWD, tiles = Math.ceil(KR / v.R) * colT;
  const S = Math.max(1, Math.min(N, Math.floor(SPLIT_TARGET / tiles))), nPer = Math.ceil(N / S);
  const split = Math.ceil(N / nPer);
  const out: BufRef = split > 1 ? TMP1 : OUT;
  const tg = tileGrid(tiles * split, v);
  let s = gemmDecls(v) + tg.head;
  s += `  let sp = t / ${u(tiles)}; let rt = (t % ${u(tiles)}) / ${u(colT)}; let ct = t % ${u(colT)};\n`;
  for (let j = 0; j < m; j++) {
    s += `  let r${j} = rt * ${u(v.R)} + ${u(j * v.L)} + lane; let ok${j} = r${j} < ${u(KR)};\n` +
      `  let kk${j} = r${j} % ${u(KH * KW)};\n` +
      `  let hh${j} = i32(kk${j} / ${u(KW)}) - ${i(ph)}; let ww${j} = i32(kk${j} % ${u(KW)}) - ${i(pw)};\n` +
      `  let xo${j} = i32((r${j} / ${u(KH * KW)}) * ${u(H * W)}) + hh${j} * ${i(W)} + ww${j};\n`;
  }
  s += accDecls(v);
  s += `  let bcol = ct * ${u(TWD / 4)} + lane;\n`;
  s += OPAQUE_ZERO + `  for (var n = sp * ${u(nPer)}; n < min(${u(N)}, (sp + 1u) * ${u(nPer)}) + z; n++) {\n` +
    `    let xn = i32(n * ${u(C * H * W)});\n` +
    `    for (var oh = 0i; oh < ${i(Ho)} + i32(z); oh++) {\n      let ihb = oh * ${i(sh)};\n`;
  for (let j = 0; j < m; j++) s += `      let okh${j} = ok${j} && ihb + hh${j} >= 0i && ihb + hh${j} < ${i(H)};\n`;
  s += `      let xr = xn + ihb * ${i(W)};\n      let gr = (n * ${u(Ho)} + u32(oh)) * ${u(Wo)};\n` +
    `      for (var ow = 0i; ow < ${i(Wo)} + i32(z); ow++) {\n        let iwb = ow * ${i(sw)};\n`;
  const ind = "        ";
  for (let j = 0; j < m; j++) {
    s += `${ind}let k${j} = okh${j} && iwb + ww${j} >= 0i && iwb + ww${j} < ${i(W)};\n` +
      `${ind}let a${j} = select(0.0, A[select(0u, u32(xr + xo${j} + iwb), k${j})], k${j});\n`;
  }
  s += bLoads(v, `(gr + u32(ow)) * ${u(Op / 4)} + bcol`, ind) + fmaBlock(v, ind) + "      }\n    }\n  }\n";
  const row = `    let k = rt * ${u(v.R)} + r; let ok = k < ${u(KR)}; let off = sp * ${u(O * KR)} + k;\n`;
  s += storeRows(v, row, `ct * ${u(TWD)}`, O, u(KR)) + "}\n";
  const passes: Pass[] = [
    padTranspose("conv2dGradWeight.g", IN1, TMP0, N, O, Ho * Wo, Op),
    {
      label: "conv2dGradWeight",
      wgsl: s,
      bindings: [{ buf: IN0, write: false }, { buf: TMP0, write: false }, { buf: out, write: true }],
      workgroups: tg.workgroups,
    },
  ];
  if (split > 1) {
    const n = O * KR, g = grid(n);
    const body = `  var acc = 0.0;\n  for (var s = 0u; s < ${u(split)}; s++) { acc += x0[s * ${
      u(n)
    } + i]; }\n  y[i] = acc;\n`;
    passes.push({
      label: "conv2dGradWeight.sum",
      wgsl: storageDecls(["x0"], "y") + g.head + body + "}\n",
      bindings: [{ buf: TMP1, write: false }, { buf: OUT, write: true }],
      workgroups: g.workgroups,
    });
  }
  return { temps: split > 1 ? [N * Ho * Wo * Op, split * O * KR] : [N * Ho * Wo * Op], passes };
}
/** gradWeight splits the batch until it has about this many independent tiles */
const SPLIT_TARGET = 32;

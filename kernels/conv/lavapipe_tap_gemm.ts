// conv2d and conv2dGradInput on the lavapipe tile (lavapipe_tile.ts): both are one "tap GEMM"
// pass (per stride phase, for the input gradient) whose rows are image positions.
//
//   conv2d:           rows = output pixels (n, oh, ow), columns = O, reduction = (c, kh, kw)
//   conv2dGradInput:  rows = input pixels of one stride phase, columns = C, reduction = (o, taps
//                     that hit that phase) — one GEMM per phase, so stride 2 wastes no FMAs,
//                     each phase with taps its own pass, those of zeros one together
import type { BufRef, KernelCtx, Lowering, Pass } from "../op.ts";
import { type ConvGeom, stridePhase } from "./geometry.ts";
import {
  accDecls,
  bLoads,
  type ConvVariant,
  convVariant,
  fmaBlock,
  gemmDecls,
  i,
  IN0,
  IN1,
  OPAQUE_ZERO,
  OUT,
  padTranspose,
  roundUp,
  storeRows,
  tileGrid,
  tileIndex,
  TMP0,
  u,
} from "./lavapipe_tile.ts";

/**
 * One implicit GEMM where every output row is an image position (n, i, j) and the reduction
 * runs over A's channels × a TH×TW grid of taps. Covers conv2d and each phase of its transpose.
 */
interface TapGemm {
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

/**
 * The statements computing one tile of `g` (rows, columns) from the tile index `t − first`
 * (`t`, `lane` and `z` are defined by the kernel around them); and how many tiles there are.
 */
function tapGemmTile(g: TapGemm, v: ConvVariant, first: number): { tiles: number; body: string } {
  const m = v.R / v.L, TWD = 4 * v.OV * v.L;
  const rows = g.N * g.RH * g.RW, colT = g.colsPad / TWD, rowT = Math.ceil(rows / v.R), tiles = rowT * colT;
  let s = tileIndex(v, first ? `(t - ${u(first)})` : "t", rowT, colT);
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
  s += `  for (var ci = 0u; ci < ${u(g.Cin)} + z; ci++) {\n    let ca = i32(ci * ${u(g.AH * g.AW)});\n`;
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
  s += storeRows(v, row, `ct * ${u(TWD)}`, g.cols, u(g.OH * g.OW));
  return { tiles, body: s };
}

/**
 * One pass computing the tiles of every GEMM of `gs` (they write disjoint outputs: an input
 * gradient's stride phases without taps) one after another: a tile is one subgroup's
 * workgroup, or one thread, so the choice of GEMM is uniform wherever subgroup operations need
 * it to be.
 */
function tapGemmPass(label: string, gs: TapGemm[], v: ConvVariant, a: BufRef, b: BufRef, y: BufRef): Pass {
  let first = 0, s = "";
  gs.forEach((g, k) => {
    const t = tapGemmTile(g, v, first);
    first += t.tiles;
    s += gs.length === 1 ? t.body : `  ${k ? "else " : ""}if (t < ${u(first)}) {\n${t.body}  }\n`;
  });
  const tg = tileGrid(first, v);
  return {
    label,
    wgsl: gemmDecls(v) + tg.head + OPAQUE_ZERO + s + "}\n",
    bindings: [{ buf: a, write: false }, { buf: b, write: false }, { buf: y, write: true }],
    workgroups: tg.workgroups,
  };
}

export function lowerConv2d(geo: ConvGeom, c: KernelCtx): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  const K = C * KH * KW, v = convVariant("conv2d", c, O, { reduction: K }), Op = roundUp(O, 4 * v.OV * v.L);
  return {
    temps: [K * Op],
    passes: [
      padTranspose("conv2d.weights", IN1, TMP0, 1, O, K, Op),
      tapGemmPass(
        "conv2d",
        [{
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
        }],
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
  const v = convVariant("conv2dGradInput", c, C, { phased: sh * sw > 1, reduction: O * KH * KW }),
    Cp = roundUp(C, 4 * v.OV * v.L);
  const phases: TapGemm[] = [];
  for (let fh = 0; fh < Math.min(sh, H); fh++) {
    for (let fw = 0; fw < Math.min(sw, W); fw++) {
      const a = stridePhase(fh, H, KH, sh, ph), b = stridePhase(fw, W, KW, sw, pw);
      phases.push({
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
      });
    }
  }
  // A pass per phase with taps, and one for the phases without (they only write zeros): the
  // phases in one pass behind `if (t < …)` ran 1.2–1.7× slower on lavapipe than the same tiles
  // one pass each (the ResNet-18's stride-2 input gradients, 1×1 and 3×3).
  const busy = phases.filter((ph) => ph.TH * ph.TW > 0), zero = phases.filter((ph) => ph.TH * ph.TW === 0);
  const one = phases.length === 1 ? "conv2dGradInput" : undefined;
  const passes: Pass[] = [
    padTranspose("conv2dGradInput.weights", IN1, TMP0, O, C, KH * KW, Cp),
    ...busy.map((ph, k) =>
      tapGemmPass(
        one ?? `conv2dGradInput phase ${k + 1}/${busy.length} (${ph.TH}×${ph.TW} taps)`,
        [ph],
        v,
        IN0,
        TMP0,
        OUT,
      )
    ),
    ...(zero.length
      ? [tapGemmPass(one ?? `conv2dGradInput[${zero.length} phases of zeros]`, zero, v, IN0, TMP0, OUT)]
      : []),
  ];
  return { temps: [O * KH * KW * Cp], passes };
}

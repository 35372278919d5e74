// conv2dGradWeight on the lavapipe tile (lavapipe_tile.ts): rows = (c, kh, kw), columns = O,
// reduction = (n, oh, ow), optionally split over n into partial sums that a last pass adds up.
import { grid, storageDecls } from "../layout.ts";
import type { BufRef, KernelCtx, Lowering, Pass } from "../op.ts";
import type { ConvGeom } from "./geometry.ts";
import {
  accDecls,
  bLoads,
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
  TMP1,
  u,
} from "./lavapipe_tile.ts";

/**
 * dw[o, (c,kh,kw)] = Σ_(n,oh,ow) x[n,c,oh·sh−ph+kh, ow·sw−pw+kw] · g[n,o,oh,ow]. Rows are the
 * (c,kh,kw) triples, so lanes of a subgroup gather neighbouring pixels of x; g is transposed to
 * [N·Ho·Wo, O] for vec4 loads. When there are few row tiles the batch is split into S ranges
 * whose partial sums a final pass adds, to keep every core busy.
 */
export function lowerConv2dGradWeight(geo: ConvGeom, c: KernelCtx): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = geo;
  const v = convVariant("conv2dGradWeight", c, O), m = v.R / v.L, TWD = 4 * v.OV * v.L, Op = roundUp(O, TWD);
  const KR = C * KH * KW, colT = Op / TWD, rowT = Math.ceil(KR / v.R), tiles = rowT * colT;
  const S = Math.max(1, Math.min(N, Math.floor(SPLIT_TARGET / tiles))), nPer = Math.ceil(N / S);
  const split = Math.ceil(N / nPer);
  const out: BufRef = split > 1 ? TMP1 : OUT;
  const tg = tileGrid(tiles * split, v);
  let s = gemmDecls(v) + tg.head;
  s += `  let sp = t / ${u(tiles)};\n` + tileIndex(v, `(t % ${u(tiles)})`, rowT, colT);
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

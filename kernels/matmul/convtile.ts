// The matmul on the convolutions' lavapipe tile (kernels/conv/lavapipe_tile.ts): a 1×1
// convolution is a matmul, and that tile runs 42–49 GFLOP/s on llvmpipe where the subgroup
// matmul (subgroup.ts) stays near 30 on the projector's shapes. The tile gathers one scalar of A
// per row and reads B as vec4s along n, at every k: it wants both operands K-major, A as
// [K, M] and B as [K, N] with N a whole number of column tiles. A pass transposes an operand
// into a temporary when it is not:
//  - B stored [N, K] (transB), or N not a whole number of tiles: [K, Np] zero-padded;
//  - A stored [M, K] with K a multiple of 512. Its rows are then 2 KiB apart or a multiple of
//    it, and the R rows one tile gathers at a k fall into the same few L1 sets: measured on
//    llvmpipe, 256×1024×1024 ran at 33 GFLOP/s that way, 43 with K = 1040 and 44 from [K, M].
//    Other strides are gathered in place.
// The compiler drops a transpose whose input an elementwise kernel computes (it writes the
// transposed copy itself, compiler/relayout.ts), as for the convolutions' cotangents.
//
// Variant names: "convtile" takes the convolutions' shape rule for the tile (convVariant: 32 rows
// × 2 vec4 from 64 columns, 64 × 1 for ≤ 32 columns and long reductions, 16 × 1 otherwise,
// 4-column tiles for ≤ 4) and t8x2 without subgroups; "convtile-<tile>" forces one (sg16x1,
// sg32x2c, t4x4, …).
import {
  accDecls,
  bLoads,
  type ConvVariant,
  convVariant,
  fmaBlock,
  gemmDecls,
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
} from "../conv/lavapipe_tile.ts";
import { type BufRef, type Lowering, type Pass, ShapeError, size, wgslBroadcastIndex } from "../op.ts";
import type { MatmulFeatures, MatmulProblem, MatmulVariant } from "./common.ts";

export const CONVTILE = "convtile";

/** A's stored row stride (floats) from which rows alias in L1 and A is transposed first. */
const ALIASING_STRIDE = 512;

/**
 * The tile for this problem: `forced` (the name's suffix), else the convolutions' rule on N with
 * subgroups, and without them 8 rows × 2 vec4 per thread (on llvmpipe with subgroups off, 1.4–2.2×
 * the register-blocked matmul on the Barlow Twins step's shapes, where the convolutions' t4x4
 * gave 1.0–2.1×).
 */
function tileOf(forced: string | undefined, p: MatmulProblem, f: MatmulFeatures): ConvVariant {
  if (forced === undefined && !f.subgroups) return { L: 1, R: 8, OV: 2, byColumn: false };
  return convVariant("matmul", { variant: forced, features: { subgroups: f.subgroups } }, p.N, { reduction: p.K });
}

/** Which operands the tile `v` needs transposed first (see the header). */
function transposes(p: MatmulProblem, v: ConvVariant) {
  return {
    a: !p.transA && p.K % ALIASING_STRIDE === 0,
    b: p.transB || p.N % (4 * v.OV * v.L) !== 0,
  };
}

/**
 * Whether the convtile kernel is the better untuned pick on lavapipe: a transpose moves 8 bytes
 * per element at ~5 GB/s, and pays for itself through the faster product only when the other
 * side of the product is long (measured: a transposed 2048×512 B with M = 32 rows ran at 13
 * GFLOP/s against 28 for the subgroup kernel; with M = 256, 39 against 24).
 */
export function convtileSuits(p: MatmulProblem, f: MatmulFeatures): boolean {
  const t = transposes(p, tileOf(undefined, p, f));
  return (!t.b || p.M >= 128) && (!t.a || p.N >= 128);
}

function lower(forced: string | undefined, p: MatmulProblem, f: MatmulFeatures): Lowering {
  const { M, N, K } = p;
  const v = tileOf(forced, p, f), TWD = 4 * v.OV * v.L, t = transposes(p, v);
  const aBat = size(p.aBatch), bBat = size(p.bBatch);
  const passes: Pass[] = [], temps: number[] = [];
  const temp = (n: number): BufRef => (temps.push(n), temps.length === 1 ? TMP0 : TMP1);

  // A: K-major [K, M] as stored (transA), gathered in place, or transposed into a temporary
  const aKMajor = p.transA || t.a;
  let a: BufRef = IN0;
  if (t.a) {
    a = temp(aBat * K * M);
    passes.push(padTranspose("matmul.A", IN0, a, aBat, M, K, M));
  }
  // B: [K, Np] with Np a whole number of column tiles
  const Np = roundUp(N, TWD);
  let b: BufRef = IN1;
  if (t.b) {
    b = temp(bBat * K * Np);
    passes.push(
      p.transB
        ? padTranspose("matmul.B", IN1, b, bBat, N, K, Np)
        // [K, N] → [K, Np]: the same pass with one row per batch entry and k as the "P" axis
        : padTranspose("matmul.B", IN1, b, bBat * K, N, 1, Np),
    );
  }

  const rowT = Math.ceil(M / v.R), colT = Np / TWD, tiles = rowT * colT;
  const tg = tileGrid(tiles, v);
  if (size(p.batch) > 65535) {
    throw new ShapeError(
      "matmul",
      `convtile: ${size(p.batch)} batch entries exceed the 65535 workgroups per dimension`,
    );
  }
  const m = v.R / v.L;
  let s = OPAQUE_ZERO +
    `  let zb = wid.z;\n` +
    `  let aOff = ${wgslBroadcastIndex("zb", p.batch, p.aBatch)} * ${u(M * K)};\n` +
    `  let bOff = ${wgslBroadcastIndex("zb", p.batch, p.bBatch)} * ${u(K * Np / 4)};\n` +
    `  let cOff = zb * ${u(M * N)};\n` +
    tileIndex(v, "t", rowT, colT);
  // rows past M read row M − 1 (their results are not stored)
  for (let j = 0; j < m; j++) s += `  let r${j} = min(rt * ${u(v.R)} + ${u(j * v.L)} + lane, ${u(M - 1)});\n`;
  s += accDecls(v) + `  let bcol = bOff + ct * ${u(TWD / 4)} + lane;\n`;
  // Two k steps per iteration: each accumulator's masked loop update (see fmaBlock) is paid
  // once per two FMAs: on lavapipe 1.05–1.15× on the projector's products in 8 of 9
  // alternating timings; four steps were 0.7–1.0× (their operands no longer fit the
  // registers). An odd K ends with one step. The sums keep their order.
  /** the A and B loads of reduction step `k`, their names prefixed by `p` */
  const step = (k: string, p: string) => {
    let aLoads = "";
    for (let j = 0; j < m; j++) {
      aLoads += `    let ${p}a${j} = A[aOff + ${aKMajor ? `${k} * ${u(M)} + r${j}` : `r${j} * ${u(K)} + ${k}`}];\n`;
    }
    return aLoads + bLoads(v, `${k} * ${u(Np / 4)} + bcol`, "    ", p);
  };
  const pairs = K - K % 2;
  if (pairs > 0) {
    s += `  for (var k = 0u; k < ${u(pairs)} + z; k += 2u) {\n` + step("k", "p") + step("(k + 1u)", "q") +
      fmaBlock(v, "    ", ["p", "q"]) + "  }\n";
  }
  if (pairs < K) s += `  { let k = ${u(pairs)};\n` + step("k", "") + fmaBlock(v, "    ") + "  }\n";
  const row = `    let row = rt * ${u(v.R)} + r; let ok = row < ${u(M)}; let off = cOff + row * ${u(N)};\n`;
  s += storeRows(v, row, `ct * ${u(TWD)}`, N, "1u");
  passes.push({
    label: `matmul convtile ${v.L > 1 ? "sg" : "t"}${v.R}x${v.OV}${v.byColumn ? "c" : ""} ${M}x${N}x${K}` +
      `${p.transA ? " Aᵀ" : ""}${p.transB ? " Bᵀ" : ""}`,
    wgsl: gemmDecls(v) + tg.head + s + "}\n",
    bindings: [{ buf: a, write: false }, { buf: b, write: false }, { buf: OUT, write: true }],
    workgroups: [tg.workgroups[0], tg.workgroups[1], size(p.batch)],
  });
  return { temps, passes };
}

/** `name`: "convtile" or "convtile-<conv tile>"; undefined when the suffix is not a tile name. */
export function convtileVariant(name: string): MatmulVariant | undefined {
  if (name !== CONVTILE && !name.startsWith(`${CONVTILE}-`)) return undefined;
  const forced = name === CONVTILE ? undefined : name.slice(CONVTILE.length + 1);
  if (forced !== undefined && !/^(sg\d+|t\d+)x\d+c?$/.test(forced)) return undefined;
  return {
    name,
    doc: forced
      ? `the convolutions' lavapipe tile ${forced} as a matmul, K-major operands (transposed into temporaries)`
      : "the convolutions' lavapipe tile as a matmul, their tile rule on N; K-major operands",
    supports: (f) => forced === undefined || !forced.startsWith("sg") || f.subgroups,
    lower: (p, f) => lower(forced, p, f),
  };
}

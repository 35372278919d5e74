// The lavapipe convolution tile, shared by the three lavapipe lowerings (lavapipe_tap_gemm.ts,
// lavapipe_grad_weight.ts). All three ops are implicit GEMMs written for lavapipe's cost model
// (docs/architecture.md, "The platform"): a storage load costs ~20 FMAs and any workgroupBarrier
// turns the shader into slow coroutines, so there is no shared memory and no barrier. Instead,
// like the fastest matmul found there, a subgroup of L = 8 lanes computes an R-row ×
// (L·4·OV)-column tile: each lane gathers R/L values of the "A" side (an input pixel, with the
// zero padding done by a select) and hands them to the other lanes with subgroupBroadcast, while
// the "B" side (weights or cotangents, pre-transposed into a zero-padded [k, columns] temporary)
// is read as vec4s. Per reduction step a lane does R/L + OV loads for 4·R·OV FMAs. Without
// subgroups, L = 1: every thread owns a small tile and loads its own A values.
import { grid, storageDecls } from "../layout.ts";
import { type BufRef, type Pass, ShapeError } from "../op.ts";

/**
 * L lanes share A through subgroupBroadcast (1: no subgroups); each lane holds R rows × OV vec4s.
 * `byColumn`: tiles are numbered column block first, so the cores, which take workgroups in
 * order, work on the same B columns at once and each block of B is reused from cache by every
 * row tile; by default a block of rows is reused across the column blocks instead.
 */
export interface ConvVariant {
  L: number;
  R: number;
  OV: number;
  byColumn: boolean;
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
  gemm: {
    /** the GEMM is one per stride phase (a strided input gradient): fewer taps per row */
    phased?: boolean;
    /** the reduction length, when every row runs it whole (not the weight gradient's split) */
    reduction?: number;
  } = {},
): ConvVariant {
  if (c.variant !== undefined) {
    const m = /^(sg|t)(\d+)x(\d+)(c?)$/.exec(c.variant);
    const v = m && { L: m[1] === "sg" ? 8 : 1, R: +m[2], OV: +m[3], byColumn: m[4] === "c" };
    if (!v || v.R < 1 || v.OV < 1 || v.R % v.L !== 0 || v.R * v.OV > 64) {
      throw new ShapeError(
        op,
        `unknown kernel variant '${c.variant}' (sg<R>x<OV> with R a multiple of 8, or t<R>x<OV>; R·OV ≤ 64; ` +
          `a trailing c orders the tiles by column block)`,
      );
    }
    if (v.L > 1 && !c.features.subgroups) throw new ShapeError(op, `kernel variant '${c.variant}' needs subgroups`);
    return v;
  }
  // measured on lavapipe (bench/conv_tiles.ts, every layer of the ResNet-18 and small-CNN
  // steps): with ≥ 64 columns the 32-row × 2-vec4 tile (sg32x2) is 1.1–1.8× the speed of sg16x1
  // on every 3×3 layer from 64 channels up, because each A value a lane gathers feeds twice the
  // FMAs — except a strided input gradient, whose per-phase GEMMs have few taps (0.7–1.0×);
  // below 64 columns half of its tile would be padding (0.6–0.7×), and sg16x1 stays. t4x4 is
  // the best without subgroups. With ≤ 32 columns and a reduction of ≥ 256 (the small CNN's
  // 64→32 input gradient: 576) the 64-row × 1-vec4 tile is 1.36× sg16x1: as many FMAs per
  // gathered A value as sg32x2 without padding half the columns; with short reductions (a
  // first layer's 9) it is slower. With ≤ 4 columns (RGB: the stem's dx) a subgroup tile would be
  // ≥ 7/8 zero padding; t16x1 (4-column tiles) is then 2.5× faster than sg16x1.
  if (!c.features.subgroups) return { L: 1, R: 4, OV: 4, byColumn: false };
  if (cols <= 4) return { L: 1, R: 16, OV: 1, byColumn: false };
  if (cols >= 64 && !gemm.phased) return { L: 8, R: 32, OV: 2, byColumn: false };
  if (cols <= 32 && !gemm.phased && (gemm.reduction ?? 0) >= 256) return { L: 8, R: 64, OV: 1, byColumn: false };
  return { L: 8, R: 16, OV: 1, byColumn: false };
}

/** WGSL literals: u32, and i32 in parentheses (offsets are often negative) */
export const u = (n: number) => `${n}u`;
export const i = (n: number) => `(${n}i)`;
export const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

export const IN0: BufRef = { kind: "in", i: 0 }, IN1: BufRef = { kind: "in", i: 1 }, OUT: BufRef = { kind: "out" };
export const TMP0: BufRef = { kind: "tmp", i: 0 }, TMP1: BufRef = { kind: "tmp", i: 1 };

/**
 * WGSL: `rt` and `ct`, the row and column block of tile number `tile` (an expression) of a grid
 * of `rowT` × `colT` tiles, in the variant's order.
 */
export const tileIndex = (v: ConvVariant, tile: string, rowT: number, colT: number) =>
  v.byColumn
    ? `  let rt = ${tile} % ${u(rowT)}; let ct = ${tile} / ${u(rowT)};\n`
    : `  let rt = ${tile} / ${u(colT)}; let ct = ${tile} % ${u(colT)};\n`;

/** Workgroup grid for `tiles` independent tiles, folded into 2-D past 65535 groups. */
export function tileGrid(tiles: number, v: ConvVariant) {
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
export const OPAQUE_ZERO = `  let z = select(0u, 1u, arrayLength(&Y) == 0u);\n`;

/** decls: A (f32), B (vec4), Y (f32, written) at bindings 0, 1, 2 */
export const gemmDecls = (v: ConvVariant) =>
  (v.L > 1 ? "enable subgroups;\n" : "") + storageDecls(["A", "B"], "Y", { B: "vec4<f32>" });

/** WGSL: value of row-local variable `name{j}` of row rr, as seen by every lane. */
const fromRow = (v: ConvVariant, name: string, rr: number) =>
  v.L === 1 ? `${name}${rr}` : `subgroupBroadcast(${name}${Math.floor(rr / v.L)}, ${rr % v.L}u)`;

/**
 * The FMAs of reduction steps `steps` (name prefixes of their a and b values, in reduction
 * order): acc[rr][v] += a(rr) · b[v] for each step in turn. llvmpipe masks every loop-carried
 * value with the loop's lanes (a load, a blend and a store per update), so several steps per
 * loop iteration pay that once per accumulator instead of once per FMA. The matmul takes two
 * (kernels/matmul/convtile.ts); the convolutions keep one: two input channels, three taps or
 * (weight gradient) two pixels per iteration measured 0.6–1.25× layer by layer on their default
 * tiles, better only on the small CNN's 32→64 forward, as each step's padding and tap
 * arithmetic adds to the operands held in registers.
 */
export function fmaBlock(v: ConvVariant, ind: string, steps: string[] = [""]): string {
  let s = "";
  for (let rr = 0; rr < v.R; rr++) {
    s += `${ind}{`;
    steps.forEach((p, q) => s += ` let s${q} = ${fromRow(v, `${p}a`, rr)};`);
    for (let k = 0; k < v.OV; k++) {
      const sum = steps.reduce((acc, p, q) => `fma(vec4<f32>(s${q}), ${p}b${k}, ${acc})`, `c${rr}_${k}`);
      s += ` c${rr}_${k} = ${sum};`;
    }
    s += " }\n";
  }
  return s;
}
export const accDecls = (v: ConvVariant) => {
  let s = "";
  for (let rr = 0; rr < v.R; rr++) for (let k = 0; k < v.OV; k++) s += `  var c${rr}_${k} = vec4<f32>();\n`;
  return s;
};
/** B loads of one reduction step from vec4 row index expression `row`, named `${p}b0`, `${p}b1`, … */
export const bLoads = (v: ConvVariant, row: string, ind: string, p = "") => {
  let s = `${ind}let ${p}br = ${row};\n`;
  for (let k = 0; k < v.OV; k++) s += `${ind}let ${p}b${k} = B[${p}br + ${u(k * v.L)}];\n`;
  return s;
};
/**
 * Store the tile. Scattered stores dominate llvmpipe's compile time (each becomes 8 guarded
 * lane stores), so instead of 4·R·OV store statements there is an opaque loop over the R rows
 * that stores row 0's accumulators and then shifts the rows up by one (register moves).
 * `row` is WGSL statements defining `ok` (row r of the tile exists) and `off` (its output
 * offset) from `r`; column o of that row goes to Y[off + o·colStride], padded columns skipped.
 */
export function storeRows(v: ConvVariant, row: string, colBase: string, cols: number, colStride: string): string {
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
 * [P, Cc, Q] → [P, Q, Cp] with columns Cc..Cp-1 zero: puts the GEMM's column axis innermost
 * and pads it to whole vec4 tiles, so the main loop's vec4 loads need no bounds checks.
 */
export function padTranspose(
  label: string,
  src: BufRef,
  dst: BufRef,
  P: number,
  Cc: number,
  Q: number,
  Cp: number,
): Pass {
  const n = P * Q * Cp, g = grid(n);
  const body = `  let c = i % ${u(Cp)}; let pq = i / ${u(Cp)}; let p = pq / ${u(Q)}; let q = pq % ${u(Q)};\n` +
    `  if (c < ${u(Cc)}) { y[i] = x0[(p * ${u(Cc)} + c) * ${u(Q)} + q]; } else { y[i] = 0.0; }\n`;
  return {
    label,
    wgsl: storageDecls(["x0"], "y") + g.head + body + "}\n",
    bindings: [{ buf: src, write: false }, { buf: dst, write: true }],
    workgroups: g.workgroups,
    ...(src.kind === "in" && dst.kind === "tmp" && { relayout: { from: src.i, P, Cc, Q, Cp } }),
  };
}

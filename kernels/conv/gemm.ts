// The convolutions as implicit GEMMs on the discrete-GPU matmul cores: the SIMT one
// (kernels/matmul/simt.ts: shared-memory tiles, register blocking, double buffering; variant
// names as the matmul's "gemm64x64x16t4x4", "-f16" rounding the inputs to half precision) or
// the tensor-core one (kernels/matmul/sgmat.ts, "sgmat…" names, f16 inputs). One operand is read
// through an index computation (im2col on the fly) instead of being materialised.
//
//   conv2d:           C[o, (n,oh,ow)]  = Σ_(c,kh,kw) w[o, (c,kh,kw)] · x[n, c, oh·sh−ph+kh, ow·sw−pw+kw]
//   conv2dGradInput:  per stride phase (fh, fw), rows h = fh + sh·i, w = fw + sw·j:
//                     C[c, (n,i,j)] = Σ_(o,th,tw) w[o, c, kh0+th·sh, kw0+tw·sw] · g[n, o, i+qh−th, j+qw−tw]
//                     (only the kernel taps that land on the phase: stride 2 wastes no FLOPs)
//   conv2dGradWeight: C[o, (c,kh,kw)] = Σ_(n,oh,ow) g[n, o, oh, ow] · x[n, c, oh·sh−ph+kh, ow·sw−pw+kw],
//                     split over the (long) reduction into partial sums that a last pass adds
//
// Rows are channels and columns pixels, so C's columns follow NCHW memory: stores coalesce.
import { grid as grid1d } from "../layout.ts";
import type { Lowering, Pass } from "../op.ts";
import { ShapeError } from "../op.ts";
import type { TileOperand } from "../matmul/staging.ts";
import { type ConvGeom, stridePhase } from "./geometry.ts";
import type { ConvKernel, ConvOutput } from "./gemm_tile.ts";

const u = (n: number) => `${n}u`;
const i32 = (n: number) => `${n}i`;
const IN0 = { kind: "in", i: 0 } as const, IN1 = { kind: "in", i: 1 } as const, OUT = { kind: "out" } as const;

function checkGrid(op: string, x: number, y: number, z: number): [number, number, number] {
  for (const [n, what] of [[x, "column tiles"], [y, "row tiles"], [z, "reduction splits"]] as const) {
    if (n > 65535) throw new ShapeError(op, `${n} ${what} exceed the 65535 workgroups per dimension`);
  }
  return [x, y, z];
}

/** WGSL storage declarations: two read-only inputs and the output, each f32 or vec4<f32>. */
const decls = (in0: boolean, in1: boolean, out: boolean) =>
  [in0, in1, out].map((vec, k) =>
    `@group(0) @binding(${k}) var<storage, ${k < 2 ? "read" : "read_write"}> ${["P", "Q", "Y"][k]}: array<${
      vec ? "vec4<f32>" : "f32"
    }>;`
  ).join("\n") + "\n";

/** scalar read of element `i` of a buffer declared vec4 (`vec`) or scalar */
const at = (buf: string, vec: boolean, i: string) => (vec ? `${buf}[(${i}) >> 2u][(${i}) & 3u]` : `${buf}[${i}]`);

/** Store of a row-major [rows, cols] output (or partials at `base`), vec4 when cols % 4 == 0. */
function rowMajorOut(rows: number, cols: number, base: string): ConvOutput & { vec: boolean } {
  const vec = cols % 4 === 0;
  const at1 = (
    m: string,
    n: string,
  ) => (vec ? `Y[(${base} + ${m} * ${u(cols)} + ${n}) >> 2u][(${n}) & 3u]` : `Y[${base} + ${m} * ${u(cols)} + ${n}]`);
  return {
    M: rows,
    N: cols,
    vec,
    store1: (m, n, v) => `${at1(m, n)} = ${v};`,
    store4: (m, n, v) =>
      vec
        ? `if (${n} < ${u(cols)}) { Y[(${base} + ${m} * ${u(cols)} + ${n}) >> 2u] = ${v}; }`
        : [0, 1, 2, 3].map((c) =>
          `if (${n} + ${u(c)} < ${u(cols)}) { Y[${base} + ${m} * ${u(cols)} + ${n} + ${u(c)}] = ${v}[${c}]; }`
        )
          .join(" "),
  };
}

/**
 * The image operand x[n, c, ·, ·] gathered at output pixel (oh, ow) and tap (c, kh, kw), as a
 * WGSL function `xAt(pix, tap)` where pix = (n·Ho + oh)·Wo + ow and tap = (c·KH + kh)·KW + kw.
 */
function imageGather(g: ConvGeom, buf: string): string {
  const { C, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo } = g;
  return `fn xAt(pix: u32, tap: u32) -> f32 {
  let n = pix / ${u(Ho * Wo)}; let q = pix % ${u(Ho * Wo)};
  let c = tap / ${u(KH * KW)}; let r = tap % ${u(KH * KW)};
  let ih = i32(q / ${u(Wo)}) * ${i32(sh)} - ${i32(ph)} + i32(r / ${u(KW)});
  let iw = i32(q % ${u(Wo)}) * ${i32(sw)} - ${i32(pw)} + i32(r % ${u(KW)});
  let ok = ih >= 0i && ih < ${i32(H)} && iw >= 0i && iw < ${i32(W)};
  let i = ((n * ${u(C)} + c) * ${u(H)} + u32(clamp(ih, 0i, ${i32(H - 1)}))) * ${u(W)} + u32(clamp(iw, 0i, ${
    i32(W - 1)
  }));
  return select(0.0, ${buf}[i], ok);
}
`;
}

const setup = (BM: number, BN: number, extra = "") =>
  `  let m0 = wg.y * ${u(BM)};\n  let n0 = wg.x * ${u(BN)};${extra}`;

/** conv2d: rows o (weights, contiguous along the reduction), columns the output pixels. */
export function convGemmForward(g: ConvGeom, t: ConvKernel, label: string): Lowering {
  const { N, C, O, KH, KW, Ho, Wo } = g;
  const CKK = C * KH * KW, HW = Ho * Wo, cols = N * HW;
  const wVec = CKK % 4 === 0, yVec = HW % 4 === 0;
  const A: TileOperand = {
    MN: O,
    K: CKK,
    fast: "k",
    elem: "f32",
    read: (o, k) => at("Q", wVec, `(${o}) * ${u(CKK)} + ${k}`),
    read4: wVec ? (o, k) => `Q[((${o}) * ${u(CKK)} + ${k}) >> 2u]` : undefined,
  };
  const B: TileOperand = { MN: cols, K: CKK, fast: "mn", elem: "f32", read: (p, k) => `xAt(${p}, ${k})` };
  const addr = (o: string, jj: string) => `(${jj} / ${u(HW)} * ${u(O)} + ${o}) * ${u(HW)} + ${jj} % ${u(HW)}`;
  const out: ConvOutput = {
    M: O,
    N: cols,
    store1: (o, j, v) => yVec ? `{ let i = ${addr(o, j)}; Y[i >> 2u][i & 3u] = ${v}; }` : `Y[${addr(o, j)}] = ${v};`,
    store4: (o, j, v) => {
      const addr1 = (jj: string) => addr(o, jj);
      return yVec
        ? `if (${j} < ${u(cols)}) { Y[(${addr1(j)}) >> 2u] = ${v}; }`
        : [0, 1, 2, 3].map((c) =>
          `{ let jj = ${j} + ${u(c)}; if (jj < ${u(cols)}) { Y[${addr1("jj")}] = ${v}[${c}]; } }`
        ).join(" ");
    },
  };
  const wgsl = t.shader(A, B, out, decls(false, wVec, yVec) + imageGather(g, "P"), setup(t.BM, t.BN));
  return {
    passes: [{
      label,
      wgsl,
      bindings: [{ buf: IN0, write: false }, { buf: IN1, write: false }, { buf: OUT, write: true }],
      workgroups: checkGrid("conv2d", Math.ceil(cols / t.BN), Math.ceil(O / t.BM), 1),
    }],
  };
}

/** conv2dGradInput: one GEMM per stride phase; a phase no tap reaches is zero-filled. */
export function convGemmGradInput(g: ConvGeom, t: ConvKernel, label: string): Lowering {
  const { N, C, H, W, O, KH, KW, sh, sw, ph, pw, Ho, Wo } = g;
  const passes: Pass[] = [];
  for (let fh = 0; fh < Math.min(sh, H); fh++) {
    for (let fw = 0; fw < Math.min(sw, W); fw++) {
      const a = stridePhase(fh, H, KH, sh, ph), b = stridePhase(fw, W, KW, sw, pw);
      const RHW = a.rows * b.rows, cols = N * RHW, taps = a.taps * b.taps, K = O * taps;
      const dst = (c: string, col: string) =>
        `((${col} / ${u(RHW)} * ${u(C)} + ${c}) * ${u(H)} + ${fh}u + ${u(sh)} * (${col} % ${u(RHW)} / ${
          u(b.rows)
        })) * ${u(W)} + ${fw}u + ${u(sw)} * (${col} % ${u(b.rows)})`;
      const tag = `${label}[${fh},${fw}]`;
      if (K === 0) {
        const z = grid1d(C * cols);
        passes.push({
          label: `${tag} (no taps: zeros)`,
          wgsl: `@group(0) @binding(0) var<storage, read_write> Y: array<f32>;\n${z.head}` +
            `  let c = i / ${u(cols)}; let col = i % ${u(cols)};\n  Y[${dst("c", "col")}] = 0.0;\n}\n`,
          bindings: [{ buf: OUT, write: true }],
          workgroups: z.workgroups,
        });
        continue;
      }
      const A: TileOperand = {
        MN: C,
        K,
        fast: "k",
        elem: "f32",
        read: (c, k) =>
          `Q[((${k} / ${u(taps)} * ${u(C)} + ${c}) * ${u(KH)} + ${u(a.k0)} + ${k} % ${u(taps)} / ${u(b.taps)} * ${
            u(sh)
          }) * ${u(KW)} + ${u(b.k0)} + ${k} % ${u(b.taps)} * ${u(sw)}]`,
      };
      const B: TileOperand = { MN: cols, K, fast: "mn", elem: "f32", read: (col, k) => `gAt(${col}, ${k})` };
      const gAt = `fn gAt(col: u32, k: u32) -> f32 {
  let n = col / ${u(RHW)}; let q = col % ${u(RHW)};
  let o = k / ${u(taps)}; let r = k % ${u(taps)};
  let ho = i32(q / ${u(b.rows)}) + ${i32(a.q)} - i32(r / ${u(b.taps)});
  let wo = i32(q % ${u(b.rows)}) + ${i32(b.q)} - i32(r % ${u(b.taps)});
  let ok = ho >= 0i && ho < ${i32(Ho)} && wo >= 0i && wo < ${i32(Wo)};
  let i = ((n * ${u(O)} + o) * ${u(Ho)} + u32(clamp(ho, 0i, ${i32(Ho - 1)}))) * ${u(Wo)} + u32(clamp(wo, 0i, ${
        i32(Wo - 1)
      }));
  return select(0.0, P[i], ok);
}
`;
      const out: ConvOutput = {
        M: C,
        N: cols,
        store1: (c, col, v) => `Y[${dst(c, col)}] = ${v};`,
        store4: (c, col, v) =>
          [0, 1, 2, 3].map((e) =>
            `{ let cc = ${col} + ${u(e)}; if (cc < ${u(cols)}) { Y[${dst(c, "cc")}] = ${v}[${e}]; } }`
          )
            .join(" "),
      };
      passes.push({
        label: tag,
        wgsl: t.shader(A, B, out, decls(false, false, false) + gAt, setup(t.BM, t.BN)),
        bindings: [{ buf: IN0, write: false }, { buf: IN1, write: false }, { buf: OUT, write: true }],
        workgroups: checkGrid("conv2dGradInput", Math.ceil(cols / t.BN), Math.ceil(C / t.BM), 1),
      });
    }
  }
  return { passes };
}

/** workgroups a split reduction aims for: a few per multiprocessor of a large GPU */
const SPLIT_TARGET = 512;

/** conv2dGradWeight: rows o, columns (c,kh,kw), the batch × pixels reduction split over workgroups. */
export function convGemmGradWeight(g: ConvGeom, t: ConvKernel, label: string): Lowering {
  const { N, C, O, KH, KW, Ho, Wo } = g;
  const CKK = C * KH * KW, HW = Ho * Wo, K = N * HW;
  const gVec = HW % 4 === 0;
  const tiles = Math.ceil(O / t.BM) * Math.ceil(CKK / t.BN), slicesAll = Math.ceil(K / t.BK);
  const want = Math.max(1, Math.min(slicesAll, Math.round(SPLIT_TARGET / tiles)));
  const slices = Math.ceil(slicesAll / want), splits = Math.ceil(slicesAll / slices);
  const A: TileOperand = {
    MN: O,
    K,
    fast: "k",
    elem: "f32",
    read: (o, k) => at("Q", gVec, `(${k} / ${u(HW)} * ${u(O)} + ${o}) * ${u(HW)} + ${k} % ${u(HW)}`),
    read4: gVec ? (o, k) => `Q[((${k} / ${u(HW)} * ${u(O)} + ${o}) * ${u(HW)} + ${k} % ${u(HW)}) >> 2u]` : undefined,
  };
  const B: TileOperand = { MN: CKK, K, fast: "k", elem: "f32", read: (tap, pix) => `xAt(${pix}, ${tap})` };
  const out = rowMajorOut(O, CKK, splits > 1 ? `wg.z * ${u(O * CKK)}` : "0u");
  const wgsl = t.shader(A, B, out, decls(false, gVec, out.vec) + imageGather(g, "P"), setup(t.BM, t.BN), {
    slices,
    kBase: `wg.z * ${u(slices * t.BK)}`,
    checkK: splits * slices * t.BK > K,
  });
  const main: Pass = {
    label: splits > 1 ? `${label} (${splits} partial sums)` : label,
    wgsl,
    bindings: [{ buf: IN0, write: false }, { buf: IN1, write: false }, {
      buf: splits > 1 ? { kind: "tmp", i: 0 } : OUT,
      write: true,
    }],
    workgroups: checkGrid("conv2dGradWeight", Math.ceil(CKK / t.BN), Math.ceil(O / t.BM), splits),
  };
  if (splits === 1) return { passes: [main] };
  const n = O * CKK, s = grid1d(n);
  return {
    temps: [splits * n],
    passes: [main, {
      label: `${label}.sum`,
      wgsl:
        `@group(0) @binding(0) var<storage, read> T: array<f32>;\n@group(0) @binding(1) var<storage, read_write> Y: array<f32>;\n` +
        s.head +
        `  var acc = T[i];\n  for (var p = 1u; p < ${u(splits)}; p++) { acc += T[p * ${
          u(n)
        } + i]; }\n  Y[i] = acc;\n}\n`,
      bindings: [{ buf: { kind: "tmp", i: 0 }, write: false }, { buf: OUT, write: true }],
      workgroups: s.workgroups,
    }],
  };
}

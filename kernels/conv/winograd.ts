// 3×3 stride-1 convolutions in the Winograd domain, F(m×m, 3×3): an m×m block of outputs comes
// from an (m+2)×(m+2) block of inputs with (m+2)² multiplications per channel pair instead of
// 9·m² (m = 4: 36 instead of 144). The work becomes four passes, the third a batched GEMM:
//
//   U[ξ, rc, oc]   = (G k G^T)[ξ]    weights, k = the 3×3 kernel of (oc, rc)      [α², RC, OCp]
//   V[ξ, rc, tile] = (B^T d B)[ξ]    input blocks d, zero outside the image        [α², RC, T]
//   M[ξ]           = V[ξ]^T · U[ξ]   α² GEMMs on the matmul's lavapipe tile        [α², T, OCp]
//   y block        = A^T M A         per (tile, oc), written into NCHW
//
// with α = m + 2, ξ running over the α×α transform points and T = N·⌈OH/m⌉·⌈OW/m⌉ blocks.
// conv2d is y[n,oc,i,j] = Σ x[n,rc,i−p+kh,j−q+kw]·w[oc,rc,kh,kw]; the input gradient of a stride-1
// convolution is the same sum over the cotangent with the kernel flipped and its channels swapped
// (rc = o, oc = c, padding KH−1−p), so both ops share this lowering. The weight gradient runs in
// the same domain: dU[ξ] = Σ over blocks of (A dy A^T)[ξ] ⊗ V[ξ], one GEMM per point reducing
// over the blocks, then dw = G^T dU G. On llvmpipe the FMAs are what the tiles pay for
// (docs/architecture.md, "The platform"): per output and channel pair the products do 2.25
// multiply-adds instead of 9, while the transforms' loads, adds and stores come per output and
// channel, not per pair.
//
// Variant names: "wino2" (F(2×2, 3×3), α = 4) and "wino4" (F(4×4, 3×3), α = 6). Both are exact
// in real arithmetic. In f32 their error scales with the sum of the terms' magnitudes, not with
// the result: within 5% of the bound the autotuner checks every variant against (1e-5 + 3e-5 ·
// Σ|terms|, runtime/spot_check.ts) on the tested shapes, while on outputs that cancel to near
// zero F(4×4) (its points ±2, and G's 1/6 and 1/24) misses a 1e-4 relative check that the direct
// sum passes.
import { grid, storageDecls } from "../layout.ts";
import { convtileVariant } from "../matmul/convtile.ts";
import type { MatmulFeatures } from "../matmul/common.ts";
import { type BufRef, type Lowering, type Pass, ShapeError } from "../op.ts";
import type { ConvGeom } from "./geometry.ts";
import { IN0, IN1, OUT, roundUp, u } from "./lavapipe_tile.ts";

/** The transform matrices of F(m×m, 3×3): B^T (α×α), G (α×3), A^T (m×α). */
interface Transform {
  m: number;
  BT: number[][];
  G: number[][];
  AT: number[][];
}
const F2: Transform = {
  m: 2,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
// points 0, ±1, ±2 and ∞
const F4: Transform = {
  m: 4,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};
export const WINOGRAD: Record<string, Transform> = { wino2: F2, wino4: F4 };

/** Σ c_k · terms_k in WGSL, zero coefficients skipped, ±1 without a multiplication. */
function lin(coefs: number[], terms: string[]): string {
  let s = "";
  coefs.forEach((c, k) => {
    if (c === 0) return;
    const mag = Math.abs(c), t = mag === 1 ? terms[k] : `${mag} * ${terms[k]}`;
    s += s === "" ? (c < 0 ? `-${t}` : t) : ` ${c < 0 ? "-" : "+"} ${t}`;
  });
  return s === "" ? "0.0" : s;
}

/**
 * WGSL statements for out = L · D · L^T, D the square matrix of scalars `d(i, j)`: defines
 * `${out}${r}_${s}` for r, s < rows of L.
 */
function sandwich(L: number[][], d: (i: number, j: number) => string, out: string): string {
  const n = L[0].length;
  let s = "";
  for (let r = 0; r < L.length; r++) {
    for (let j = 0; j < n; j++) s += `  let ${out}t${r}_${j} = ${lin(L[r], L[r].map((_, k) => d(k, j)))};\n`;
  }
  for (let r = 0; r < L.length; r++) {
    for (let c = 0; c < L.length; c++) {
      s += `  let ${out}${r}_${c} = ${lin(L[c], L[c].map((_, j) => `${out}t${r}_${j}`))};\n`;
    }
  }
  return s;
}

/**
 * One Winograd convolution: y[n, oc, i, j] = Σ_{rc,kh,kw} x[n, rc, i − ph + kh, j − pw + kw] ·
 * k(oc, rc, kh, kw), x [N, RC, H, W], y [N, OC, OH, OW], k read from input 1 at `kernelAt`.
 */
export interface WinogradConv {
  N: number;
  RC: number;
  H: number;
  W: number;
  OC: number;
  OH: number;
  OW: number;
  ph: number;
  pw: number;
  /** WGSL index into input 1 of k(oc, rc, kh, kw), from u32 expressions oc, rc and constants */
  kernelAt: (oc: string, rc: string, kh: number, kw: number) => string;
}

/** Whether a convolution (or, for the input gradient, its forward) can run in the Winograd domain. */
export const winogradApplies = (geo: ConvGeom): boolean =>
  geo.KH === 3 && geo.KW === 3 && geo.sh === 1 && geo.sw === 1 && geo.ph <= 2 && geo.pw <= 2;

/**
 * The largest temporary the lowerings bind: 128 MiB, the maxStorageBufferBindingSize every
 * WebGPU adapter offers (lavapipe's too), so that a program that compiles also binds.
 */
export const WINOGRAD_MAX_BYTES = 128 * 2 ** 20;

/** Bytes of the largest temporary of variant `name` for a node of `op` (a conv2d-family op) of geometry `geo`. */
export function winogradBytes(op: string, name: string, geo: ConvGeom): number {
  return 4 * Math.max(...tempSizes(asWinograd(op, geo), WINOGRAD[name]));
}

/** The Winograd convolution a node of `op` computes (the weight gradient's: its forward's) */
const asWinograd = (op: string, geo: ConvGeom) =>
  op === "conv2dGradInput" ? winogradGradInput(geo) : winogradForward(geo);

/**
 * The lowering of a node of `op` (a conv2d-family op) when `variant` names a Winograd variant,
 * else undefined; throws for a node that variant cannot run (winogradFits).
 */
export function winogradLowering(
  op: string,
  variant: string | undefined,
  geo: ConvGeom,
  f: MatmulFeatures,
): Lowering | undefined {
  if (!winogradFits(op, variant, geo)) return undefined;
  const label = `${op} ${variant}`;
  return op === "conv2dGradWeight"
    ? lowerWinogradGradWeight(label, variant!, geo, f)
    : lowerWinograd(label, variant!, asWinograd(op, geo), f);
}

/** Whether variant `name` can lower a node of `op` of geometry `geo`: the shape, and temporaries that bind. */
export const winogradUsable = (op: string, name: string, geo: ConvGeom): boolean =>
  winogradApplies(geo) && winogradBytes(op, name, geo) <= WINOGRAD_MAX_BYTES;

/** Whether `name` is a Winograd variant; throws for one that cannot run this node. */
export function winogradFits(op: string, name: string | undefined, geo: ConvGeom): boolean {
  if (name === undefined || !(name in WINOGRAD)) return false;
  if (!winogradApplies(geo)) {
    throw new ShapeError(
      op,
      `kernel variant '${name}' needs a 3×3 kernel at stride 1 with padding ≤ 2, got ${geo.KH}×${geo.KW} stride ` +
        `[${geo.sh}, ${geo.sw}] pad [${geo.ph}, ${geo.pw}]`,
    );
  }
  const bytes = winogradBytes(op, name, geo);
  if (bytes > WINOGRAD_MAX_BYTES) {
    throw new ShapeError(
      op,
      `kernel variant '${name}' needs a ${(bytes / 2 ** 20).toFixed(0)} MiB temporary for a batch of ${geo.N}, more ` +
        `than the ${WINOGRAD_MAX_BYTES / 2 ** 20} MiB a storage binding is sure to hold; a smaller batch or the ` +
        `default kernel fits`,
    );
  }
  return true;
}

/** conv2d as a Winograd convolution */
export const winogradForward = (g: ConvGeom): WinogradConv => ({
  N: g.N,
  RC: g.C,
  H: g.H,
  W: g.W,
  OC: g.O,
  OH: g.Ho,
  OW: g.Wo,
  ph: g.ph,
  pw: g.pw,
  kernelAt: (oc, rc, kh, kw) => `((${oc} * ${u(g.C)} + ${rc}) * 3u + ${u(kh)}) * 3u + ${u(kw)}`,
});

/** conv2dGradInput (stride 1) as a Winograd convolution over the cotangent [N, O, Ho, Wo] */
export const winogradGradInput = (g: ConvGeom): WinogradConv => ({
  N: g.N,
  RC: g.O,
  H: g.Ho,
  W: g.Wo,
  OC: g.C,
  OH: g.H,
  OW: g.W,
  ph: 2 - g.ph,
  pw: 2 - g.pw,
  kernelAt: (oc, rc, kh, kw) => `((${rc} * ${u(g.C)} + ${oc}) * 3u + ${u(2 - kh)}) * 3u + ${u(2 - kw)}`,
});

const TMP = (i: number): BufRef => ({ kind: "tmp", i });
const sameBuf = (a: BufRef, b: BufRef) => a.kind === b.kind && (a as { i?: number }).i === (b as { i?: number }).i;

/** The block grid of a Winograd convolution: T blocks of m×m outputs, TW to a row. */
function blocks(c: WinogradConv, tr: Transform) {
  const TH = Math.ceil(c.OH / tr.m), TW = Math.ceil(c.OW / tr.m);
  return { TH, TW, T: c.N * TH * TW, a: tr.m + 2, A2: (tr.m + 2) ** 2 };
}

/** WGSL: `n`, `h0`, `w0`, the image and the top-left output of block `tile` (offset by `ph`, `pw` when given, as i32) */
const blockOrigin = (c: WinogradConv, tr: Transform, TW: number, TH: number, pad?: boolean) =>
  `  let n = tile / ${u(TH * TW)}; let q = tile % ${u(TH * TW)};\n` +
  (pad
    ? `  let h0 = i32(q / ${u(TW)}) * ${tr.m}i - ${c.ph}i; let w0 = i32(q % ${u(TW)}) * ${tr.m}i - ${c.pw}i;\n`
    : `  let h0 = q / ${u(TW)} * ${u(tr.m)}; let w0 = q % ${u(TW)} * ${u(tr.m)};\n`);

/**
 * WGSL: a thread whose column `oc` is padding (≥ OC) writes zeros to its element `i` of every
 * plane of `buf` (planes `stride` apart) and returns.
 */
function zeroPadding(buf: string, planes: number, stride: number, OC: number): string {
  let s = `  if (oc >= ${u(OC)}) {\n`;
  for (let x = 0; x < planes; x++) s += `    ${buf}[${u(x * stride)} + i] = 0.0;\n`;
  return s + "    return;\n  }\n";
}

/** WGSL: stores of the α×α values `${v}r_s` at element `i` of the planes of `buf`, `stride` apart */
function planeStores(buf: string, a: number, stride: number, v: string): string {
  let s = "";
  for (let r = 0; r < a; r++) {
    for (let q = 0; q < a; q++) s += `  ${buf}[${u((r * a + q) * stride)} + i] = ${v}${r}_${q};\n`;
  }
  return s;
}

/** WGSL: `${v}r_s`, the α×α values at element `src` of the planes of `buf`, `stride` apart */
function planeLoads(buf: string, a: number, stride: number, v: string): string {
  let s = "";
  for (let r = 0; r < a; r++) {
    for (let q = 0; q < a; q++) s += `  let ${v}${r}_${q} = ${buf}[${u((r * a + q) * stride)} + src];\n`;
  }
  return s;
}

/** WGSL: the conditions that output (h0 + r, w0 + q) of a block lies inside the map ("" where it always does) */
function inside(c: WinogradConv, m: number, r: number, q: number): string {
  return [
    ...(c.OH % m !== 0 && r > 0 ? [`h0 + ${u(r)} < ${u(c.OH)}`] : []),
    ...(c.OW % m !== 0 && q > 0 ? [`w0 + ${u(q)} < ${u(c.OW)}`] : []),
  ].join(" && ");
}

const transpose = (M: number[][]) => M[0].map((_, k) => M.map((row) => row[k]));

/** the three temporaries' sizes in floats: input blocks [α², RC, T], kernels [α², RC, OCp], products [α², T, OCp] */
function tempSizes(c: WinogradConv, tr: Transform): number[] {
  const { T, A2 } = blocks(c, tr), OCp = padColumns(c.OC);
  return [A2 * c.RC * T, A2 * c.RC * OCp, A2 * T * OCp];
}

/** the GEMM's columns padded to whole tiles of the matmul's rule (64 from 33 columns, else 32): it reads its B in place */
const padColumns = (n: number) => roundUp(n, n > 32 ? 64 : 32);

/**
 * The input blocks d of every (rc, tile) transformed, B^T d B, into V: element ξ of thread i at
 * V[ξ·RC·T + i]. `tileMajor`: i = tile·RC + rc (V[ξ] is [T, RC], the weight gradient's GEMM
 * operand), else i = rc·T + tile ([RC, T]).
 */
function blocksPass(label: string, c: WinogradConv, tr: Transform, tileMajor: boolean, V: BufRef): Pass {
  const { TH, TW, T, a } = blocks(c, tr), g = grid(c.RC * T);
  let s = tileMajor
    ? `  let rc = i % ${u(c.RC)}; let tile = i / ${u(c.RC)};\n`
    : `  let tile = i % ${u(T)}; let rc = i / ${u(T)};\n`;
  s += blockOrigin(c, tr, TW, TH, true) +
    `  let base = i32((n * ${u(c.RC)} + rc) * ${u(c.H * c.W)}) + h0 * ${c.W}i + w0;\n`;
  for (let r = 0; r < a; r++) s += `  let hr${r} = h0 + ${r}i >= 0i && h0 + ${r}i < ${c.H}i;\n`;
  for (let q = 0; q < a; q++) s += `  let wc${q} = w0 + ${q}i >= 0i && w0 + ${q}i < ${c.W}i;\n`;
  for (let r = 0; r < a; r++) {
    for (let q = 0; q < a; q++) {
      s += `  let d${r}_${q} = select(0.0, X[select(0u, u32(base + ${r * c.W + q}i), hr${r} && wc${q})], ` +
        `hr${r} && wc${q});\n`;
    }
  }
  s += sandwich(tr.BT, (i, j) => `d${i}_${j}`, "v");
  s += planeStores("V", a, c.RC * T, "v");
  return {
    label: `${label}.blocks (Winograd F(${tr.m}×${tr.m}, 3×3), ${T} blocks)`,
    wgsl: storageDecls(["X"], "V") + g.head + s + "}\n",
    bindings: [{ buf: IN0, write: false }, { buf: V, write: true }],
    workgroups: g.workgroups,
  };
}

/** The α² products C[ξ] = A[ξ]^T · B[ξ] ([K, M] and [K, N] operands) on the matmul's lavapipe tile. */
function productPasses(
  label: string,
  p: { M: number; N: number; K: number; A2: number },
  bufs: { a: BufRef; b: BufRef; c: BufRef },
  f: MatmulFeatures,
): Pass[] {
  const batch = [p.A2];
  const gemm = convtileVariant("convtile")!.lower(
    { M: p.M, N: p.N, K: p.K, transA: true, transB: false, batch, aBatch: batch, bBatch: batch },
    f,
  );
  const gl = "passes" in gemm ? gemm : { passes: [gemm] };
  if (gl.temps?.length) throw new Error(`${label}: the Winograd GEMM wants its operands transposed (internal)`);
  const remap = (b: BufRef) => (sameBuf(b, IN0) ? bufs.a : sameBuf(b, IN1) ? bufs.b : sameBuf(b, OUT) ? bufs.c : b);
  return gl.passes.map((q) => ({
    ...q,
    label: `${label}.products (Winograd, ${p.A2}× ${q.label})`,
    bindings: q.bindings.map((b) => ({ ...b, buf: remap(b.buf) })),
  }));
}

/** conv2d or the input gradient: U from the kernel, V from the input, the products, then A^T M A into Y. */
function lowerWinograd(label: string, name: string, c: WinogradConv, f: MatmulFeatures): Lowering {
  const tr = WINOGRAD[name], { m } = tr, { TH, TW, T, a, A2 } = blocks(c, tr);
  const OCp = padColumns(c.OC);
  const V = TMP(0), U = TMP(1), Mo = TMP(2);

  // weights: one thread per (rc, column), zeros in the padded columns
  const wg = grid(c.RC * OCp);
  let ws = `  let oc = i % ${u(OCp)}; let rc = i / ${u(OCp)};\n` + zeroPadding("U", A2, c.RC * OCp, c.OC);
  for (let kh = 0; kh < 3; kh++) {
    for (let kw = 0; kw < 3; kw++) ws += `  let k${kh}_${kw} = K[${c.kernelAt("oc", "rc", kh, kw)}];\n`;
  }
  ws += sandwich(tr.G, (i, j) => `k${i}_${j}`, "g");
  ws += planeStores("U", a, c.RC * OCp, "g");
  const weights: Pass = {
    label: `${label}.weights (Winograd F(${m}×${m}, 3×3))`,
    wgsl: storageDecls(["K"], "U") + wg.head + ws + "}\n",
    bindings: [{ buf: IN1, write: false }, { buf: U, write: true }],
    workgroups: wg.workgroups,
  };

  // outputs: one thread per (tile, oc), oc innermost (neighbouring threads read neighbours)
  const og = grid(T * c.OC);
  let os = `  let oc = i % ${u(c.OC)}; let tile = i / ${u(c.OC)};\n` + blockOrigin(c, tr, TW, TH) +
    `  let src = tile * ${u(OCp)} + oc;\n` +
    `  let base = ((n * ${u(c.OC)} + oc) * ${u(c.OH)} + h0) * ${u(c.OW)} + w0;\n`;
  os += planeLoads("P", a, T * OCp, "p") + sandwich(tr.AT, (i, j) => `p${i}_${j}`, "y");
  for (let r = 0; r < m; r++) {
    for (let s = 0; s < m; s++) {
      const ok = inside(c, m, r, s), st = `Y[base + ${u(r * c.OW + s)}] = y${r}_${s};`;
      os += ok ? `  if (${ok}) { ${st} }\n` : `  ${st}\n`;
    }
  }
  const outputs: Pass = {
    label: `${label}.outputs (Winograd F(${m}×${m}, 3×3))`,
    wgsl: storageDecls(["P"], "Y") + og.head + os + "}\n",
    bindings: [{ buf: Mo, write: false }, { buf: OUT, write: true }],
    workgroups: og.workgroups,
  };
  return {
    temps: tempSizes(c, tr),
    passes: [
      weights,
      blocksPass(label, c, tr, false, V),
      ...productPasses(label, { M: T, N: OCp, K: c.RC, A2 }, { a: V, b: U, c: Mo }, f),
      outputs,
    ],
  };
}

/**
 * conv2dGradWeight (stride 1): with the forward y = A^T [U ⊙ V] A per block, the gradient of U
 * is Σ over blocks of (A dy A^T) ⊙ V, one GEMM per transform point reducing over the blocks, and
 * dw = G^T dU G. dy is zero past the output's edge, so partial blocks add nothing there.
 */
function lowerWinogradGradWeight(label: string, name: string, geo: ConvGeom, f: MatmulFeatures): Lowering {
  const tr = WINOGRAD[name], { m } = tr;
  const c = asWinograd("conv2dGradWeight", geo);
  const { TH, TW, T, a, A2 } = blocks(c, tr), OCp = padColumns(c.OC);
  const [blocksN, kernelsN, productsN] = tempSizes(c, tr);
  const V = TMP(0), D = TMP(1), P = TMP(2);

  // cotangent blocks: one thread per (tile, column), A dy A^T, zeros in the padded columns
  const dg = grid(T * OCp);
  let ds = `  let oc = i % ${u(OCp)}; let tile = i / ${u(OCp)};\n` + zeroPadding("D", A2, T * OCp, c.OC) +
    blockOrigin(c, tr, TW, TH) +
    `  let base = ((n * ${u(c.OC)} + oc) * ${u(c.OH)} + h0) * ${u(c.OW)} + w0;\n`;
  for (let r = 0; r < m; r++) {
    for (let s = 0; s < m; s++) {
      const ok = inside(c, m, r, s), at = `base + ${u(r * c.OW + s)}`;
      ds += ok
        ? `  let e${r}_${s} = select(0.0, G[select(0u, ${at}, ${ok})], ${ok});\n`
        : `  let e${r}_${s} = G[${at}];\n`;
    }
  }
  ds += sandwich(transpose(tr.AT), (i, j) => `e${i}_${j}`, "t") + planeStores("D", a, T * OCp, "t");
  const cotangent: Pass = {
    label: `${label}.cotangent blocks (Winograd F(${m}×${m}, 3×3))`,
    wgsl: storageDecls(["G"], "D") + dg.head + ds + "}\n",
    bindings: [{ buf: IN1, write: false }, { buf: D, write: true }],
    workgroups: dg.workgroups,
  };

  // the kernel gradient: one thread per (rc, oc), G^T dU G from dU[ξ] = P[ξ][rc][oc]; oc
  // innermost, so that neighbouring threads read neighbours (36 loads against 9 stores)
  const kg = grid(c.OC * c.RC);
  let ks = `  let oc = i % ${u(c.OC)}; let rc = i / ${u(c.OC)};\n  let src = rc * ${u(OCp)} + oc;\n`;
  ks += planeLoads("P", a, c.RC * OCp, "p") + sandwich(transpose(tr.G), (i, j) => `p${i}_${j}`, "k");
  for (let kh = 0; kh < 3; kh++) {
    for (let kw = 0; kw < 3; kw++) ks += `  W[(oc * ${u(c.RC)} + rc) * 9u + ${u(kh * 3 + kw)}] = k${kh}_${kw};\n`;
  }
  const kernel: Pass = {
    label: `${label}.kernel (Winograd F(${m}×${m}, 3×3))`,
    wgsl: storageDecls(["P"], "W") + kg.head + ks + "}\n",
    bindings: [{ buf: P, write: false }, { buf: OUT, write: true }],
    workgroups: kg.workgroups,
  };
  return {
    // V [α², T, RC], D [α², T, OCp], P [α², RC, OCp]: the forward's three sizes in another order
    temps: [blocksN, productsN, kernelsN],
    passes: [
      blocksPass(label, c, tr, true, V),
      cotangent,
      ...productPasses(label, { M: c.RC, N: OCp, K: T, A2 }, { a: V, b: D, c: P }, f),
      kernel,
    ],
  };
}

// Variant family "sgmat" — the tensor-core matmul through WebGPU's experimental subgroup
// matrices (WGSL `chromium_experimental_subgroup_matrix`; Vulkan's cooperative matrices). The
// adapter lists the fragment shapes it multiplies in hardware (GPUSubgroupMatrixConfig); on
// NVIDIA through Vulkan those take f16 or int8 inputs only, so this variant rounds A and B to
// f16 while staging them into workgroup memory and accumulates in f32 (a config whose result
// type is f32). Usable only where the adapter lists such a config and runs a fixed subgroup size.
//
// A workgroup of WM×WN subgroups computes a BM×BN tile of C, BM = WM·FM·fm and BN = WN·FN·fn:
// each subgroup owns FM×FN result fragments of fm×fn. Slices of BK k's are double buffered
// exactly as in the SIMT kernel (kernels/matmul/staging.ts does the copy). Full tiles store
// their fragments straight into C; tiles hanging over an edge go through a small workgroup
// scratch and guarded scalar stores.
//
// The same generator can emit plain-WGSL stand-ins for the fragment builtins (`emulate`), with
// the same offsets, strides and majorness: tests run that on llvmpipe, which has no tensor cores,
// so the tiling, staging and epilogue arithmetic is checked against float64 everywhere.
//
//   sgmat<fm>x<fn>x<fk>-s<S>-w<WM>x<WN>-f<FM>x<FN>-k<BK>[-f16s][-emu][-argsyntax]
import {
  batchOffsets,
  bindings,
  describe,
  grid,
  type MatmulProblem,
  type MatmulVariant,
  type SubgroupMatrixConfig,
  u,
} from "./common.ts";
import { declareOperands, matmulOperands } from "./operands.ts";
import type { KSplit } from "./simt.ts";
import { doubleBufferedKLoop, type Elem, stageTile, type TileOperand, type TileSink } from "./staging.ts";

export interface SgmatOptions {
  /** fragment shape (the adapter's config M, N, K) */
  fm: number;
  fn: number;
  fk: number;
  /** subgroup size the kernel is built for (the adapter's fixed size) */
  S: number;
  /** subgroups per workgroup along m and n */
  WM: number;
  WN: number;
  /** result fragments per subgroup along m and n */
  FM: number;
  FN: number;
  /** k's per staged slice (a multiple of fk) */
  BK: number;
  /** element type of A and B in storage */
  storage: Elem;
  /** plain-WGSL stand-ins for the fragment builtins (tests on adapters without tensor cores) */
  emulate?: boolean;
  /**
   * "template": subgroupMatrixLoad<T, row_major>(p, offset, stride), the form current Dawn takes
   * (and the npm webgpu 0.6.2 build parses); "argument": the earlier, now deprecated
   * subgroupMatrixLoad<T>(p, offset, col_major, stride), for Dawn builds from before the change.
   */
  syntax?: "template" | "argument";
}

export const sgmatTile = (o: SgmatOptions) => ({
  BM: o.WM * o.FM * o.fm,
  BN: o.WN * o.FN * o.fn,
  threads: o.WM * o.WN * o.S,
});

export const sgmatName = (o: SgmatOptions) =>
  `sgmat${o.fm}x${o.fn}x${o.fk}-s${o.S}-w${o.WM}x${o.WN}-f${o.FM}x${o.FN}-k${o.BK}` +
  `${o.storage === "f16" ? "-f16s" : ""}${o.emulate ? "-emu" : ""}${o.syntax === "argument" ? "-argsyntax" : ""}`;

export function parseSgmatName(name: string): SgmatOptions | undefined {
  const m = /^sgmat(\d+)x(\d+)x(\d+)-s(\d+)-w(\d+)x(\d+)-f(\d+)x(\d+)-k(\d+)(-f16s)?(-emu)?(-argsyntax)?$/.exec(name);
  if (!m) return undefined;
  const n = m.slice(1, 10).map(Number);
  const o: SgmatOptions = {
    fm: n[0],
    fn: n[1],
    fk: n[2],
    S: n[3],
    WM: n[4],
    WN: n[5],
    FM: n[6],
    FN: n[7],
    BK: n[8],
    storage: m[10] ? "f16" : "f32",
    emulate: !!m[11],
    syntax: m[12] ? "argument" : "template",
  };
  const bad = validateSgmat(o);
  if (bad) throw new Error(`matmul variant '${name}': ${bad}`);
  return o;
}

export function validateSgmat(o: SgmatOptions): string | undefined {
  if (o.BK % o.fk !== 0) return `BK ${o.BK} is not a multiple of the fragment K ${o.fk}`;
  if (o.fm % 8 || o.fn % 8 || o.fk % 8) return "fragment sides must be multiples of 8 (16-byte aligned f16 rows)";
  const { threads } = sgmatTile(o);
  if (threads > 1024) return `${threads} invocations per workgroup (at most 1024)`;
  return undefined;
}

/** Workgroup memory in bytes: two f16 slices of A and B plus the f32 edge scratch. */
export function sgmatWorkgroupBytes(o: SgmatOptions): number {
  const { BM, BN } = sgmatTile(o);
  return 2 * 2 * (BM * (o.BK + 8) + o.BK * (BN + 8)) + 4 * o.WM * o.WN * o.fm * o.fn;
}

/**
 * The config the tensor-core kernel is built on: f16 inputs with f32 results (f16 sums over
 * thousands of k's would lose the precision the training step needs), the largest fragment.
 */
export function chooseSubgroupMatrixConfig(configs: readonly SubgroupMatrixConfig[]): SubgroupMatrixConfig | undefined {
  const ok = configs.filter((c) => c.componentType === "f16" && c.resultComponentType === "f32");
  return ok.sort((a, b) => b.M * b.N * b.K - a.M * a.N * a.K || b.K - a.K)[0];
}

/** The tile layouts tried per adapter for config `c` at subgroup size S. */
export function sgmatCandidates(c: SubgroupMatrixConfig, S: number): SgmatOptions[] {
  const base = { fm: c.M, fn: c.N, fk: c.K, S, storage: "f32" as Elem };
  const BK = Math.max(32, c.K);
  return [
    { ...base, WM: 4, WN: 2, FM: 2, FN: 4, BK }, // 8 subgroups, 2×4 fragments each
    { ...base, WM: 2, WN: 2, FM: 4, FN: 4, BK }, // 4 subgroups, 4×4 fragments each
    { ...base, WM: 2, WN: 2, FM: 2, FN: 2, BK }, // small tiles for small problems
  ].filter((o) => !validateSgmat(o));
}

const range = (n: number) => [...Array(n).keys()];

/** The WGSL of one fragment operation, real or emulated. */
interface FragmentOps {
  header: string;
  types: string;
  /** statements at the start of main */
  init?: string;
  zero: string;
  loadA(off: string, stride: string): string;
  loadB(off: string, stride: string): string;
  mma(a: string, b: string, acc: string): string;
  /** statement storing fragment `v` row-major at `off` with row stride `stride` into C or Cs */
  store(dst: "C" | "Cs", off: string, stride: string, v: string): string;
}

function realOps(o: SgmatOptions): FragmentOps {
  const L = `subgroup_matrix_left<f16, ${o.fk}, ${o.fm}>`;
  const R = `subgroup_matrix_right<f16, ${o.fn}, ${o.fk}>`;
  const Cm = `subgroup_matrix_result<f32, ${o.fn}, ${o.fm}>`;
  const arg = o.syntax === "argument";
  const load = (T: string, buf: string, off: string, stride: string) =>
    arg
      ? `subgroupMatrixLoad<${T}>(&${buf}, ${off}, false, ${stride})`
      : `subgroupMatrixLoad<${T}, row_major>(&${buf}, ${off}, ${stride})`;
  return {
    header: "enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n" +
      // offsets come from subgroup_id: uniform within a subgroup, which is what the builtins need
      "diagnostic(off, chromium.subgroup_matrix_uniformity);\n",
    types: `alias FragA = ${L};\nalias FragB = ${R};\nalias FragC = ${Cm};\n`,
    zero: "FragC()",
    loadA: (off, stride) => load("FragA", "As", off, stride),
    loadB: (off, stride) => load("FragB", "Bs", off, stride),
    mma: (a, b, acc) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${acc})`,
    store: (dst, off, stride, v) =>
      arg
        ? `subgroupMatrixStore(&${dst}, ${off}, ${v}, false, ${stride});`
        : `subgroupMatrixStore<row_major>(&${dst}, ${off}, ${v}, ${stride});`,
  };
}

/** Every invocation holds whole fragments (row-major private arrays) and does all the work itself. */
function emulatedOps(o: SgmatOptions, direct: boolean): FragmentOps {
  const { fm, fn, fk } = o;
  return {
    header: "enable f16;\nenable subgroups;\n",
    // EZ is an opaque zero (set in main): it keeps llvmpipe from unrolling these
    // loops completely, which took 20–35 s of shader compile per kernel
    types: `alias FragA = array<f32, ${fm * fk}>;\nalias FragB = array<f32, ${fk * fn}>;\nalias FragC = array<f32, ${
      fm * fn
    }>;
var<private> EZ: u32;
fn emuLoadA(off: u32, stride: u32) -> FragA {
  var r: FragA;
  for (var i = 0u; i < ${u(fm)} + EZ; i++) { for (var j = 0u; j < ${u(fk)} + EZ; j++) { r[i * ${
      u(fk)
    } + j] = f32(As[off + i * stride + j]); } }
  return r;
}
fn emuLoadB(off: u32, stride: u32) -> FragB {
  var r: FragB;
  for (var i = 0u; i < ${u(fk)} + EZ; i++) { for (var j = 0u; j < ${u(fn)} + EZ; j++) { r[i * ${
      u(fn)
    } + j] = f32(Bs[off + i * stride + j]); } }
  return r;
}
fn emuMma(a: FragA, b: FragB, c: FragC) -> FragC {
  var r = c;
  for (var i = 0u; i < ${u(fm)} + EZ; i++) {
    for (var j = 0u; j < ${u(fn)} + EZ; j++) {
      var s = r[i * ${u(fn)} + j];
      for (var k = 0u; k < ${u(fk)} + EZ; k++) { s = fma(a[i * ${u(fk)} + k], b[k * ${u(fn)} + j], s); }
      r[i * ${u(fn)} + j] = s;
    }
  }
  return r;
}
${
      direct
        ? `fn emuStoreC(off: u32, stride: u32, v: FragC) {
  for (var i = 0u; i < ${u(fm)} + EZ; i++) { for (var j = 0u; j < ${
          u(fn)
        } + EZ; j++) { C[off + i * stride + j] = v[i * ${u(fn)} + j]; } }
}
`
        : ""
    }fn emuStoreCs(off: u32, stride: u32, v: FragC) {
  for (var i = 0u; i < ${u(fm)} + EZ; i++) { for (var j = 0u; j < ${
      u(fn)
    } + EZ; j++) { Cs[off + i * stride + j] = v[i * ${u(fn)} + j]; } }
}
`,
    // wg.z < 65536, which the shader compiler cannot know: EZ is an opaque zero
    init: "  EZ = wg.z >> 31u;\n",
    zero: "FragC()",
    loadA: (off, stride) => `emuLoadA(${off}, ${stride})`,
    loadB: (off, stride) => `emuLoadB(${off}, ${stride})`,
    mma: (a, b, acc) => `emuMma(${a}, ${b}, ${acc})`,
    store: (dst, off, stride, v) => `emuStore${dst}(${off}, ${stride}, ${v});`,
  };
}

/** Where the kernel's results go. */
export interface FragmentOutput {
  M: number;
  N: number;
  /** WGSL statement storing f32 `v` as C(m, n) (m < M and n < N are checked by the caller) */
  store1(m: string, n: string, v: string): string;
  /**
   * When C is a row-major f32 array `C` with 16-byte aligned rows: WGSL u32 offset of C(m, n),
   * so full tiles store their fragments straight into it.
   */
  direct?: { offset(m: string, n: string): string; stride: number };
}

/**
 * The WGSL entry point for operands A (rows m) and B (rows n) and output `out`. `decls` declares
 * the storage buffers (and `C` when `out.direct`); `setup` runs first in main and defines u32
 * `m0`, `n0` from `wg` (and whatever the reads use). With `split`, workgroup z covers
 * `split.slices` slices from k = `split.kBase` (partial sums, added by a later pass).
 */
export function sgmatKernel(
  o: SgmatOptions,
  a: TileOperand,
  b: TileOperand,
  out: FragmentOutput,
  decls: string,
  setup: string,
  split?: KSplit,
): string {
  const bad = validateSgmat(o);
  if (bad) throw new Error(`sgmat ${sgmatName(o)}: ${bad}`);
  const { fm, fn, fk, S, WN, FM, FN, BK } = o;
  const { BM, BN, threads } = sgmatTile(o);
  const { M, N } = out;
  const alwaysFull = out.direct !== undefined && M % BM === 0 && N % BN === 0;
  const ops = o.emulate ? emulatedOps(o, out.direct !== undefined) : realOps(o);
  const BKp = BK + 8, BNp = BN + 8, FRAG = fm * fn;
  const KT = split ? split.slices : Math.ceil(a.K / BK);
  const kBase = split ? `${split.kBase} + ` : "";
  const checkK = split !== undefined && split.checkK !== false;
  const sinkA: TileSink = {
    elem: "f16",
    write: (buf, m, k, v) => `As[(${buf} * ${u(BM)} + ${m}) * ${u(BKp)} + ${k}] = ${v};`,
  };
  const sinkB: TileSink = {
    elem: "f16",
    write: (buf, n, k, v) => `Bs[(${buf} * ${u(BK)} + ${k}) * ${u(BNp)} + ${n}] = ${v};`,
  };
  const sa = stageTile("ra", a, sinkA, BM, BK, threads, { mn0: "m0", k0: "k0", t: "t", checkK });
  const sb = stageTile("rb", b, sinkB, BN, BK, threads, { mn0: "n0", k0: "k0", t: "t", checkK });
  const acc = (i: number, j: number) => `acc${i}_${j}`;
  const frags = range(FM).flatMap((i) => range(FN).map((j) => [i, j] as const));
  const rowOf = (i: number) => `m0 + wm * ${u(FM * fm)} + ${u(i * fm)}`;
  const colOf = (j: number) => `n0 + wn * ${u(FN * fn)} + ${u(j * fn)}`;

  const compute = `    for (var kk = 0u; kk < ${u(BK)}; kk += ${u(fk)}) {
${
    range(FM).map((i) =>
      `      let fa${i} = ${
        ops.loadA(`(cur * ${u(BM)} + wm * ${u(FM * fm)} + ${u(i * fm)}) * ${u(BKp)} + kk`, u(BKp))
      };`
    ).join("\n")
  }
${
    range(FN).map((j) =>
      `      let fb${j} = ${
        ops.loadB(`(cur * ${u(BK)} + kk) * ${u(BNp)} + wn * ${u(FN * fn)} + ${u(j * fn)}`, u(BNp))
      };`
    ).join("\n")
  }
${frags.map(([i, j]) => `      ${acc(i, j)} = ${ops.mma(`fa${i}`, `fb${j}`, acc(i, j))};`).join("\n")}
    }`;

  // full tiles store fragments straight into C; tiles over an edge go through the scratch Cs
  const direct = out.direct
    ? frags.map(([i, j]) =>
      `    ${ops.store("C", out.direct!.offset(rowOf(i), colOf(j)), u(out.direct!.stride), acc(i, j))}`
    ).join("\n")
    : "";
  const viaScratch = frags.map(([i, j]) =>
    `    ${ops.store("Cs", `sg * ${u(FRAG)}`, u(fn), acc(i, j))}
    workgroupBarrier();
    for (var e = lane; e < ${u(FRAG)}; e += ${u(S)}) {
      let gm = ${rowOf(i)} + e / ${u(fn)};
      let gn = ${colOf(j)} + e % ${u(fn)};
      if (gm < ${u(M)} && gn < ${u(N)}) { ${out.store1("gm", "gn", `Cs[sg * ${u(FRAG)} + e]`)} }
    }
    workgroupBarrier();`
  ).join("\n");
  const epilogue = alwaysFull
    ? direct
    : !out.direct
    ? viaScratch
    : `  if (m0 + ${u(BM)} <= ${u(M)} && n0 + ${u(BN)} <= ${u(N)}) {
${direct}
  } else {
${viaScratch}
  }`;

  return `${ops.header}${decls}
var<workgroup> As: array<f16, ${2 * BM * BKp}>;
var<workgroup> Bs: array<f16, ${2 * BK * BNp}>;
${alwaysFull && !o.emulate ? "" : `var<workgroup> Cs: array<f32, ${o.WM * WN * FRAG}>;`}
${ops.types}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
${setup}
  let wm = sg / ${u(WN)};
  let wn = sg % ${u(WN)};
${ops.init ?? ""}${frags.map(([i, j]) => `  var ${acc(i, j)} = ${ops.zero};`).join("\n")}
${doubleBufferedKLoop(sa, sb, kBase, KT, BK, compute)}${epilogue}
}
`;
}

/** The matmul kernel for one problem (exported for the WGSL-generation tests). */
export function sgmatShader(p: MatmulProblem, o: SgmatOptions): string {
  const { N } = p;
  const { a, b } = matmulOperands(p, o.storage);
  return sgmatKernel(
    o,
    a,
    b,
    {
      M: p.M,
      N,
      store1: (m, n, v) => `C[cOff + ${m} * ${u(N)} + ${n}] = ${v};`,
      // 16-byte aligned rows of C: N a multiple of 4
      direct: N % 4 === 0 ? { offset: (m, n) => `cOff + (${m}) * ${u(N)} + ${n}`, stride: N } : undefined,
    },
    declareOperands(p, o.storage, true),
    `  ${batchOffsets(p, "wg.z")}\n  let m0 = wg.y * ${u(sgmatTile(o).BM)};\n  let n0 = wg.x * ${u(sgmatTile(o).BN)};`,
  );
}

export function sgmatVariant(o: SgmatOptions): MatmulVariant {
  const name = sgmatName(o);
  const { BM, BN, threads } = sgmatTile(o);
  return {
    name,
    doc: `${o.emulate ? "EMULATED (plain WGSL) " : ""}tensor cores: ${o.fm}×${o.fn}×${o.fk} f16 fragments, f32 sums; ` +
      `${BM}×${BN} tiles of ${o.WM}×${o.WN} subgroups of ${o.S}, ${threads} invocations`,
    supports: (f) => {
      if (!f.subgroups || f.f16 === false) return false;
      // known sizes must match: the workgroup is built from subgroups of exactly S lanes
      if (f.subgroupMaxSize !== undefined && (f.subgroupMaxSize !== o.S || f.subgroupMinSize !== o.S)) return false;
      if (o.emulate || f.subgroupMatrix === undefined) return true;
      return f.subgroupMatrix.some((c) =>
        c.M === o.fm && c.N === o.fn && c.K === o.fk && c.componentType === "f16" && c.resultComponentType === "f32"
      );
    },
    lower: (p) => ({
      wgsl: sgmatShader(p, o),
      bindings,
      workgroups: grid(p, BN, BM, name),
      label: `matmul ${name} ${describe(p)}`,
    }),
    inputType: "f16",
    storageType: o.storage,
  };
}

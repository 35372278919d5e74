// The discrete-GPU GEMM core: a workgroup computes a BM×BN tile of C from BK-deep slices of A
// and B staged in workgroup memory, each invocation a TM×TN block of outputs held in vec4
// registers (register blocking). The next slice is loaded from device memory into registers
// while the current one is multiplied, then stored into the other of two workgroup buffers
// (double buffering, one barrier per slice). The operands are abstract (kernels/matmul/staging.ts),
// so the convolutions' implicit GEMMs reuse this kernel with gathering reads.
//
// An invocation's rows are TM/4 groups of 4 consecutive rows spaced BM/(TM/4) apart (likewise
// columns), so the vec4 reads of a slice by neighbouring invocations are neighbouring addresses
// (no workgroup-memory bank conflicts on the compute side), and stores of C are vec4 along n.
import { doubleBufferedKLoop, type Elem, stageTile, type TileOperand, type TileSink } from "./staging.ts";

export interface SimtTile {
  BM: number;
  BN: number;
  BK: number;
  /** outputs per invocation along m and n: 4 or 8 */
  TM: 4 | 8;
  TN: 4 | 8;
  /** element type of the workgroup tiles: f16 rounds the inputs to half precision (f32 products and sums) */
  elem: Elem;
}

/** How the kernel writes its results. */
export interface TileOutput {
  M: number;
  N: number;
  /** WGSL statements storing vec4<f32> `v` as C(m, n..n+3), skipping columns ≥ N (the caller guards m < M) */
  store4(m: string, n: string, v: string): string;
}

export const simtThreads = (c: SimtTile) => (c.BM / c.TM) * (c.BN / c.TN);

/**
 * Tiles staged across their fast axis (A stored [M, K], B stored [N, K]) are written as scalars
 * down a column of the workgroup tile; padding each row by one vec4 spreads those writes over
 * the banks.
 */
const pad = (fast: "mn" | "k") => (fast === "k" ? 4 : 0);

export function validateSimtTile(c: SimtTile): string | undefined {
  if (![4, 8].includes(c.TM) || ![4, 8].includes(c.TN)) return "TM and TN must be 4 or 8";
  if (c.BM % c.TM || c.BN % c.TN) return "BM and BN must be multiples of TM and TN";
  if (c.BK % 4) return "BK must be a multiple of 4";
  const threads = simtThreads(c);
  if (threads < 32 || threads > 1024) return `${threads} invocations per workgroup (allowed 32–1024)`;
  return undefined;
}

const u = (n: number) => `${n}u`;
const range = (n: number) => [...Array(n).keys()];

/** A reduction split over workgroups (split-K): each covers `slices` slices from WGSL u32 `kBase`. */
export interface KSplit {
  slices: number;
  kBase: string;
  /** whether some split's range runs past K (default true) */
  checkK?: boolean;
}

/**
 * The WGSL compute entry point. `decls` declares the storage buffers (and enables); `setup` is
 * WGSL run first in main, which must define u32 `m0` and `n0` (the tile origin) from `wg`
 * (the workgroup id) and whatever offsets the operand reads and `out` use.
 */
export function simtShader(
  c: SimtTile,
  A: TileOperand,
  B: TileOperand,
  out: TileOutput,
  decls: string,
  setup: string,
  split?: KSplit,
): string {
  const bad = validateSimtTile(c);
  if (bad) throw new Error(`simt GEMM tile ${JSON.stringify(c)}: ${bad}`);
  if (A.K !== B.K) throw new Error(`simt GEMM: A has K=${A.K}, B has K=${B.K}`);
  const { BM, BN, BK, TM, TN } = c;
  const E = c.elem;
  const threads = simtThreads(c);
  const TX = BN / TN;
  const GM = TM / 4, GN = TN / 4;
  const BMp = BM + pad(A.fast), BNp = BN + pad(B.fast);
  const KT = split ? split.slices : Math.ceil(A.K / BK);
  const kBase = split ? `${split.kBase} + ` : "";
  const checkK = split !== undefined && split.checkK !== false;
  const sink = (name: string, rowLen: number): TileSink => {
    const idx = (buf: string, mn: string, k: string) => `((${buf} * ${u(BK)} + ${k}) * ${u(rowLen)} + ${mn})`;
    return {
      elem: E,
      write: (buf, mn, k, v) => `{ let i = ${idx(buf, mn, k)}; ${name}[i >> 2u][i & 3u] = ${v}; }`,
      vecAxis: "mn",
      write4: (buf, mn, k, v) => `${name}[${idx(buf, mn, k)} >> 2u] = ${v};`,
    };
  };
  const at = (mn0: string) => ({ mn0, k0: "k0", t: "t", checkK });
  const sa = stageTile("ra", A, sink("As", BMp), BM, BK, threads, at("m0"));
  const sb = stageTile("rb", B, sink("Bs", BNp), BN, BK, threads, at("n0"));
  const acc = (g: number, r: number, h: number) => `c${g}_${r}_${h}`;
  const accs = range(GM).flatMap((g) => range(4).flatMap((r) => range(GN).map((h) => acc(g, r, h))));
  const f32 = (v: string) => (E === "f32" ? v : `vec4<f32>(${v})`);

  const compute = `    for (var kk = 0u; kk < ${u(BK)}; kk++) {
      let ar = (cur * ${u(BK)} + kk) * ${u(BMp / 4)} + ty;
      let br = (cur * ${u(BK)} + kk) * ${u(BNp / 4)} + tx;
${range(GM).map((g) => `      let a${g} = ${f32(`As[ar + ${u((g * BM) / GM / 4)}]`)};`).join("\n")}
${range(GN).map((h) => `      let b${h} = ${f32(`Bs[br + ${u((h * BN) / GN / 4)}]`)};`).join("\n")}
${
    range(GM).flatMap((g) =>
      range(4).flatMap((r) =>
        range(GN).map((h) => `      ${acc(g, r, h)} = fma(vec4<f32>(a${g}[${r}]), b${h}, ${acc(g, r, h)});`)
      )
    ).join("\n")
  }
    }`;

  const stores = range(GM).flatMap((g) =>
    range(4).map((r) => {
      const m = `m0 + ${u((g * BM) / GM)} + ty * 4u + ${u(r)}`;
      const body = range(GN).map((h) => out.store4("m", `(n0 + ${u((h * BN) / GN)} + tx * 4u)`, acc(g, r, h))).join(
        " ",
      );
      return `  { let m = ${m}; ${out.M % BM === 0 ? body : `if (m < ${u(out.M)}) { ${body} }`} }`;
    })
  );

  const enableF16 = (E === "f16" || /\bf16\b/.test(decls)) && !/enable f16;/.test(decls) ? "enable f16;\n" : "";
  return `${enableF16}${decls}
var<workgroup> As: array<vec4<${E}>, ${(2 * BK * BMp) / 4}>;
var<workgroup> Bs: array<vec4<${E}>, ${(2 * BK * BNp) / 4}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
${setup}
  let tx = t % ${u(TX)};
  let ty = t / ${u(TX)};
${accs.map((a) => `  var ${a} = vec4<f32>(0.0);`).join("\n")}
${doubleBufferedKLoop(sa, sb, kBase, KT, BK, compute)}${stores.join("\n")}
}
`;
}

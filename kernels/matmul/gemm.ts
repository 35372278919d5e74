// Variant family "gemm" — the discrete-GPU matmul: shared-memory tiles with register blocking and
// double buffering (kernels/matmul/simt.ts), for every transpose and batch layout. A variant's
// name spells its tile, so any tile can be named, cached and rebuilt:
//
//   gemm<BM>x<BN>x<BK>t<TM>x<TN>[-f16|-f16s]
//
// "-f16" stages f32 storage into f16 workgroup tiles (inputs rounded to half precision, f32
// products and sums: half the workgroup memory); "-f16s" reads f16 storage directly.
// On llvmpipe the barriers make these slower than the barrier-free variants; the autotuner
// decides per adapter and shape (runtime/autotune.ts).
import {
  batchCount,
  batchOffsets,
  bindings,
  describe,
  grid,
  type MatmulElem,
  type MatmulProblem,
  type MatmulVariant,
  store4,
  u,
} from "./common.ts";
import { declareOperands, matmulOperands } from "./operands.ts";
import { simtShader, simtThreads, type SimtTile, validateSimtTile } from "./simt.ts";

export interface GemmOptions extends SimtTile {
  storage: MatmulElem;
}

export const gemmName = (o: GemmOptions) =>
  `gemm${o.BM}x${o.BN}x${o.BK}t${o.TM}x${o.TN}${o.elem === "f32" ? "" : o.storage === "f16" ? "-f16s" : "-f16"}`;

/** The options a gemm variant name spells, or undefined for another name. Throws on a bad tile. */
export function parseGemmName(name: string): GemmOptions | undefined {
  const m = /^gemm(\d+)x(\d+)x(\d+)t(\d)x(\d)(-f16s?)?$/.exec(name);
  if (!m) return undefined;
  const elem: MatmulElem = m[6] ? "f16" : "f32";
  const o: GemmOptions = {
    BM: +m[1],
    BN: +m[2],
    BK: +m[3],
    TM: +m[4] as 4 | 8,
    TN: +m[5] as 4 | 8,
    elem,
    storage: m[6] === "-f16s" ? "f16" : "f32",
  };
  const bad = validateSimtTile(o);
  if (bad) throw new Error(`matmul variant '${name}': ${bad}`);
  return o;
}

function lower(p: MatmulProblem, o: GemmOptions) {
  const { a, b } = matmulOperands(p, o.storage);
  const wgsl = simtShader(
    o,
    a,
    b,
    { M: p.M, N: p.N, store4: (m, n, v) => store4(p, m, n, v) },
    declareOperands(p, o.storage),
    `  ${batchOffsets(p, "wg.z")}\n  let m0 = wg.y * ${u(o.BM)};\n  let n0 = wg.x * ${u(o.BN)};`,
  );
  const name = gemmName(o);
  return { wgsl, bindings, workgroups: grid(p, o.BN, o.BM, name), label: `matmul ${name} ${describe(p)}` };
}

export function gemmVariant(o: GemmOptions): MatmulVariant {
  const name = gemmName(o);
  return {
    name,
    doc: `${o.BM}×${o.BN} workgroup tiles, ${o.BK}-deep double-buffered slices in workgroup memory, ${o.TM}×${o.TN} ` +
      `outputs per invocation (${simtThreads(o)} per workgroup)${
        o.elem === "f16" ? `, inputs rounded to f16 (${o.storage} storage), f32 accumulation` : ""
      } (discrete GPUs)`,
    supports: (f) => o.elem === "f32" || f.f16 === true,
    lower: (p) => lower(p, o),
    inputType: o.elem,
    storageType: o.storage,
  };
}

/**
 * The tiles registered by name (any other parses on demand). 128×128 with 8×8 per invocation
 * for large squares; 64×64 and 32×64 keep enough workgroups in flight when M is a batch of 256;
 * (BK = 16 at 128×128 in f32 needs 33 KB of workgroup memory: name it where the adapter allows.)
 */
export const GEMM_TILES: GemmOptions[] = [
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, elem: "f32", storage: "f32" },
  { BM: 128, BN: 64, BK: 8, TM: 8, TN: 4, elem: "f32", storage: "f32" },
  { BM: 64, BN: 128, BK: 8, TM: 4, TN: 8, elem: "f32", storage: "f32" },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, elem: "f32", storage: "f32" },
  { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4, elem: "f32", storage: "f32" },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, elem: "f16", storage: "f32" },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, elem: "f16", storage: "f32" },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, elem: "f16", storage: "f16" },
];

/**
 * The untuned pick on a discrete GPU: the largest tile that still gives at least `target`
 * workgroups (a few per multiprocessor on a large card), else the smallest.
 */
export function defaultGemm(p: MatmulProblem, target = 256): string {
  const fits = (bm: number, bn: number) => Math.ceil(p.M / bm) * Math.ceil(p.N / bn) * batchCount(p) >= target;
  if (fits(128, 128)) return "gemm128x128x8t8x8";
  if (fits(64, 64)) return "gemm64x64x16t4x4";
  return "gemm32x64x16t4x4";
}

// A and B of a plain (strided, batched) matmul as tile operands for the shared-memory kernels,
// with their storage declarations in f32 or f16. C is always f32.
import { type MatmulProblem, u, vecLayout } from "./common.ts";
import type { Elem, TileOperand } from "./staging.ts";

/**
 * Storage declarations of A (binding 0), B (1) in `elem` and C (2) in f32; vec4 arrays where
 * aligned (C always scalar with `scalarC`). f16 needs `enable f16;` ahead of these.
 */
export function declareOperands(p: MatmulProblem, elem: Elem, scalarC = false): string {
  const v = vecLayout(p);
  const t = (vec: boolean, e: Elem) => (vec ? `array<vec4<${e}>>` : `array<${e}>`);
  return [
    `@group(0) @binding(0) var<storage, read> A: ${t(v.a, elem)};`,
    `@group(0) @binding(1) var<storage, read> B: ${t(v.b, elem)};`,
    `@group(0) @binding(2) var<storage, read_write> C: ${t(v.c && !scalarC, "f32")};`,
  ].join("\n");
}

/** scalar read of element `i` of a buffer declared vec4 (`vec`) or scalar */
const at = (buf: string, vec: boolean, i: string) => (vec ? `${buf}[(${i}) >> 2u][(${i}) & 3u]` : `${buf}[${i}]`);

/**
 * A(m, k) and B(k, n) of batch entry `aOff`/`bOff` (WGSL names of u32 element offsets). The
 * fast axis is whichever is contiguous in storage, so staging reads coalesce for every
 * transpose; vec4 reads are offered when that axis has a multiple of 4 elements.
 */
export function matmulOperands(p: MatmulProblem, elem: Elem): { a: TileOperand; b: TileOperand } {
  const { M, N, K } = p;
  const v = vecLayout(p);
  const aIdx = (
    m: string,
    k: string,
  ) => (p.transA ? `aOff + (${k}) * ${u(M)} + ${m}` : `aOff + (${m}) * ${u(K)} + ${k}`);
  const bIdx = (
    n: string,
    k: string,
  ) => (p.transB ? `bOff + (${n}) * ${u(K)} + ${k}` : `bOff + (${k}) * ${u(N)} + ${n}`);
  const a: TileOperand = {
    MN: M,
    K,
    fast: p.transA ? "mn" : "k",
    elem,
    read: (m, k) => at("A", v.a, aIdx(m, k)),
    read4: v.a ? (m, k) => `A[(${aIdx(m, k)}) >> 2u]` : undefined,
  };
  const b: TileOperand = {
    MN: N,
    K,
    fast: p.transB ? "k" : "mn",
    elem,
    read: (n, k) => at("B", v.b, bIdx(n, k)),
    read4: v.b ? (n, k) => `B[(${bIdx(n, k)}) >> 2u]` : undefined,
  };
  return { a, b };
}

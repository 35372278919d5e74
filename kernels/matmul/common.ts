// What every matmul kernel variant shares: the problem description derived from the op's
// shapes, the per-batch buffer offsets, buffer declarations and the "load 4 consecutive
// floats" helper that picks vec4 or clamped scalar loads depending on alignment.
import {
  type Attrs,
  fmtShape,
  type Lowering,
  type Pass,
  type Shape,
  ShapeError,
  size,
  wgslBroadcastIndex,
} from "../op.ts";

/**
 * One matmul C[b] = op(A[b]) · op(B[b]) with op = transpose when the flag is set.
 * A is stored [..., M, K] (transA: [..., K, M]); B is [..., K, N] (transB: [..., N, K]).
 * Batch dims broadcast like numpy (size 1 or missing dims repeat).
 */
export interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** output batch shape; aBatch/bBatch are left-padded with 1s to the same rank */
  batch: number[];
  aBatch: number[];
  bBatch: number[];
}

const flag = (attrs: Attrs, name: string): boolean => {
  const v = attrs[name] ?? false;
  if (typeof v !== "boolean") {
    throw new ShapeError("matmul", `attrs.${name} must be a boolean, got ${JSON.stringify(v)}`);
  }
  return v;
};

/** Validate shapes and attrs; the single source of truth for the shape rule and the kernels. */
export function matmulProblem(inShapes: Shape[], attrs: Attrs): MatmulProblem {
  if (inShapes.length !== 2) throw new ShapeError("matmul", `expects 2 inputs (a, b), got ${inShapes.length}`);
  const [a, b] = inShapes;
  const transA = flag(attrs, "transA"), transB = flag(attrs, "transB");
  for (const [name, s] of [["a", a], ["b", b]] as const) {
    if (s.length < 2) {
      throw new ShapeError(
        "matmul",
        `${name} must have rank >= 2 (reshape a vector to [1, n] or [n, 1]), got ${fmtShape(s)}`,
      );
    }
  }
  const [ar, ac] = a.slice(-2), [br, bc] = b.slice(-2);
  const M = transA ? ac : ar, Ka = transA ? ar : ac;
  const Kb = transB ? bc : br, N = transB ? br : bc;
  if (Ka !== Kb) {
    throw new ShapeError(
      "matmul",
      `contraction sizes differ: a ${fmtShape(a)}${transA ? "ᵀ" : ""} has K=${Ka}, b ${fmtShape(b)}${
        transB ? "ᵀ" : ""
      } has K=${Kb}`,
    );
  }
  const rank = Math.max(a.length, b.length) - 2;
  const pad = (s: Shape) => [...new Array(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const aBatch = pad(a), bBatch = pad(b);
  const batch = aBatch.map((da, i) => {
    const db = bBatch[i];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        "matmul",
        `batch dims of a ${fmtShape(a)} and b ${fmtShape(b)} do not broadcast (${da} vs ${db})`,
      );
    }
    return Math.max(da, db);
  });
  return { M, N, K: Ka, transA, transB, batch, aBatch, bBatch };
}

export const batchCount = (p: MatmulProblem): number => size(p.batch);

/** One tensor-core shape an adapter offers (WebGPU's GPUSubgroupMatrixConfig). */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** GPU-side facts a variant may rely on. */
/**
 * The subgroup kernels (the lavapipe matmul and convolution tiles) run one 8-invocation workgroup
 * as one subgroup and share values with subgroupBroadcast across its 8 lanes, so they need every
 * subgroup to have at least 8 lanes. SwiftShader's have 4 (measured in Chromium: the subgroup
 * matmul then returned wrong values), as do some mobile GPUs. An adapter that does not report its
 * smallest subgroup size is not trusted with them.
 */
export const SUBGROUP_LANES_NEEDED = 8;

/** Whether the subgroup kernels may run: the feature is on and the smallest subgroup is wide enough. */
export function subgroupsUsable(feature: boolean, subgroupMinSize: number | undefined): boolean {
  return feature && (subgroupMinSize ?? 0) >= SUBGROUP_LANES_NEEDED;
}

export interface MatmulFeatures {
  subgroups: boolean;
  /** shader-f16 */
  f16?: boolean;
  /** the adapter's subgroup-matrix configurations when the device enabled the feature */
  subgroupMatrix?: readonly SubgroupMatrixConfig[];
  /** the adapter's subgroup size range */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

/** Element type of matmul operands. */
export type MatmulElem = "f32" | "f16";

/** A kernel variant: one WGSL generator plus when it may be used. */
export interface MatmulVariant {
  name: string;
  doc: string;
  supports(f: MatmulFeatures): boolean;
  /** one pass, or passes with temporaries (a transpose first) */
  lower(p: MatmulProblem, f: MatmulFeatures): Pass | Lowering;
  /**
   * Precision of the multiplicands. "f16" rounds A and B to half precision before multiplying
   * (products and sums stay f32): a different numeric contract, so the autotuner only picks such
   * a variant when asked for f16 precision. Default "f32".
   */
  inputType?: MatmulElem;
  /** Element type A and B are stored in. The compiler's storages are f32; "f16" variants serve
   * f16 buffers (the standalone runner, benchmarks). Default "f32". */
  storageType?: MatmulElem;
}

/** A variant's lowering as passes and temporaries. */
export const asLowering = (x: Pass | Lowering): Lowering => ("passes" in x ? x : { passes: [x] });

/** Can a 4-float chunk along each operand's contiguous axis be read as one aligned vec4? */
export function vecLayout(p: MatmulProblem) {
  return {
    // A's contiguous axis is k (stored [M, K]) or m (stored [K, M])
    a: (p.transA ? p.M : p.K) % 4 === 0,
    // B's contiguous axis is n (stored [K, N]) or k (stored [N, K])
    b: (p.transB ? p.K : p.N) % 4 === 0,
    c: p.N % 4 === 0,
  };
}

/** Storage declarations for A (binding 0), B (1) and C (2); vec4 arrays where aligned. */
export function declareBuffers(p: MatmulProblem): string {
  const v = vecLayout(p);
  const t = (vec: boolean) => (vec ? "array<vec4<f32>>" : "array<f32>");
  return [
    `@group(0) @binding(0) var<storage, read> A: ${t(v.a)};`,
    `@group(0) @binding(1) var<storage, read> B: ${t(v.b)};`,
    `@group(0) @binding(2) var<storage, read_write> C: ${t(v.c)};`,
  ].join("\n");
}

export const bindings: Pass["bindings"] = [
  { buf: { kind: "in", i: 0 }, write: false },
  { buf: { kind: "in", i: 1 }, write: false },
  { buf: { kind: "out" }, write: true },
];

/** WGSL lines defining aOff, bOff, cOff (element offsets of batch `z`, a u32 expression). */
export function batchOffsets(p: MatmulProblem, z: string): string {
  const { M, N, K } = p;
  return [
    `let aOff = ${wgslBroadcastIndex(z, p.batch, p.aBatch)} * ${M * K}u;`,
    `let bOff = ${wgslBroadcastIndex(z, p.batch, p.bBatch)} * ${K * N}u;`,
    `let cOff = ${z} * ${M * N}u;`,
  ].join("\n  ");
}

/** u32 literal */
export const u = (n: number) => `${n}u`;

/** Flat index (WGSL u32) of logical A(m, k) and B(k, n), without batch offset. */
export const aIndex = (
  p: MatmulProblem,
  m: string,
  k: string,
) => (p.transA ? `${k} * ${u(p.M)} + ${m}` : `${m} * ${u(p.K)} + ${k}`);
export const bIndex = (
  p: MatmulProblem,
  k: string,
  n: string,
) => (p.transB ? `${n} * ${u(p.K)} + ${k}` : `${k} * ${u(p.N)} + ${n}`);

/**
 * WGSL vec4 of buf[base + col + c] for c = 0..3: four consecutive floats of one stored row
 * that has `ncols` columns. With `vec` the caller guarantees base and col are multiples of 4
 * and one aligned vec4 load is used. With `clamp` the column may run past the row (rows or
 * columns outside the output tile): indices are clamped into the row so every load stays in
 * bounds; those values only feed outputs that are never stored.
 */
export function load4(buf: string, vec: boolean, base: string, col: string, ncols: number, clamp: boolean): string {
  if (vec) return `${buf}[(${base} + ${clamp ? `min(${col}, ${u(ncols - 4)})` : col}) >> 2u]`;
  const at = (c: number) => {
    const cc = c === 0 ? col : `${col} + ${u(c)}`;
    return `${buf}[${base} + ${clamp ? `min(${cc}, ${u(ncols - 1)})` : cc}]`;
  };
  return `vec4<f32>(${[0, 1, 2, 3].map(at).join(", ")})`;
}

/** WGSL scalar read of a buffer declared vec4 or f32, at flat element index `i`. */
export const load1 = (
  buf: string,
  vec: boolean,
  i: string,
) => (vec ? `${buf}[(${i}) >> 2u][(${i}) & 3u]` : `${buf}[${i}]`);

/** WGSL statements storing vec4 `v` as C(m, n..n+3), skipping columns >= N. Caller checks m < M. */
export function store4(p: MatmulProblem, m: string, n: string, v: string): string {
  const row = `cOff + ${m} * ${u(p.N)}`;
  if (vecLayout(p).c) return `if (${n} < ${u(p.N)}) { C[(${row} + ${n}) >> 2u] = ${v}; }`;
  return [0, 1, 2, 3].map((c) => `if (${n} + ${u(c)} < ${u(p.N)}) { C[${row} + ${n} + ${u(c)}] = ${v}[${c}]; }`).join(
    " ",
  );
}

/** Workgroup counts, with a clear error when a dimension exceeds WebGPU's default limit. */
export function grid(p: MatmulProblem, tileN: number, tileM: number, label: string): [number, number, number] {
  const g: [number, number, number] = [Math.ceil(p.N / tileN), Math.ceil(p.M / tileM), batchCount(p)];
  const names = ["N tiles", "M tiles", "batch"];
  g.forEach((n, i) => {
    if (n > 65535) {
      throw new ShapeError("matmul", `${label}: ${n} ${names[i]} exceed the 65535 workgroups per dimension`);
    }
  });
  return g;
}

export const describe = (p: MatmulProblem) =>
  `${p.batch.length ? `${p.batch.join("x")}x` : ""}${p.M}x${p.N}x${p.K}${p.transA ? " Aᵀ" : ""}${
    p.transB ? " Bᵀ" : ""
  }`;

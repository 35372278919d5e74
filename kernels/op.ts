// The contract every primitive op fulfils. One op = one table entry (see kernels/registry.ts):
// shape rule, float64 CPU reference, VJP in other primitives, and a WGSL lowering.
import type { MatmulFeatures } from "./matmul/common.ts";

export type Shape = readonly number[];
/** Element types a buffer can hold: f32 everywhere, u8 for image data kept in its stored type. */
export type Dtype = "f32" | "u8";
export type Attrs = Record<string, unknown>;

/** Inputs to the float64 reference of one op. `scalars` maps per-step scalar names to values. */
export interface CpuArgs {
  ins: Float64Array[];
  inShapes: Shape[];
  out: Shape;
  attrs: Attrs;
  scalars: Record<string, number>;
}

type T = Tensor | number;

/**
 * A symbolic tensor, as VJP rules build with it: the IR's Tensor (ir/tensor.ts) implements this,
 * and the op table depends only on this contract, not on the IR that uses the table.
 */
export interface Tensor {
  /** the node's id in its graph */
  readonly id: number;
  readonly shape: Shape;
  readonly rank: number;
  /** the graph the tensor belongs to: new nodes by op name, and constants */
  readonly g: {
    add(op: string, inputs: (Tensor | number)[], attrs?: Attrs): Tensor;
    const(value: number, shape?: Shape): Tensor;
  };
  op(name: string, others?: Tensor[], attrs?: Attrs): Tensor;
  add(x: T): Tensor;
  sub(x: T): Tensor;
  mul(x: T): Tensor;
  div(x: T): Tensor;
  pow(x: T): Tensor;
  maximum(x: T): Tensor;
  minimum(x: T): Tensor;
  neg(): Tensor;
  exp(): Tensor;
  log(): Tensor;
  sqrt(): Tensor;
  rsqrt(): Tensor;
  square(): Tensor;
  abs(): Tensor;
  relu(): Tensor;
  sigmoid(): Tensor;
  tanh(): Tensor;
  stopGrad(): Tensor;
  gt(x: T): Tensor;
  lt(x: T): Tensor;
  eq(x: T): Tensor;
  where(a: T, b: T): Tensor;
  sum(axes?: number[], keepdims?: boolean): Tensor;
  mean(axes?: number[], keepdims?: boolean): Tensor;
  max(axes?: number[], keepdims?: boolean): Tensor;
  logsumexp(axis?: number, keepdims?: boolean): Tensor;
  softmax(axis?: number): Tensor;
  matmul(b: Tensor, transA?: boolean, transB?: boolean): Tensor;
  reshape(shape: Shape): Tensor;
  transpose(perm?: number[]): Tensor;
  readonly T: Tensor;
  slice(axis: number, start: number, end: number): Tensor;
}

/** What the VJP rule sees: the forward node's inputs and output as tensors, plus its attrs. */
export interface VjpArgs {
  ins: Tensor[];
  out: Tensor;
  attrs: Attrs;
  /** cotangent of the output, same shape as `out` */
  g: Tensor;
}

/**
 * Context for an elementwise expression. Elementwise ops are fused by the compiler: an op only
 * returns a WGSL f32 expression of its (already loaded, broadcast) input expressions.
 * `idx` is the flat index (u32 expression) of the element in the op's own output shape.
 */
export interface EwCtx {
  idx: string;
  outShape: Shape;
  attrs: Attrs;
  /** WGSL f32 expression reading a named per-step scalar (lr, tau, seed…); u32 bits via scalarU32 */
  scalar(name: string): string;
  scalarU32(name: string): string;
}

/** A buffer a pass binds: an input of the op, its output, or one of the op's temporaries. */
/** A pass's buffer: input i, the output (i ≥ 1: a kernel's further outputs, e.g. sibling
 * reductions computed together), temporary i. */
export type BufRef = { kind: "in"; i: number } | { kind: "out"; i?: number } | { kind: "tmp"; i: number };

export interface Pass {
  /** complete WGSL module; buffers at @group(0) @binding(k) in the order of `bindings` */
  wgsl: string;
  bindings: { buf: BufRef; write: boolean }[];
  /** when true the module declares the step uniform (see UNIFORM_DECL) at binding UNIFORM_BINDING */
  uniform?: boolean;
  workgroups: [number, number, number];
  /** label shown in errors and profiles */
  label?: string;
  /**
   * The pass only transposes input `from`, read as [P, Cc, Q], into the temporary it writes, as
   * [P, Q, Cp] with columns Cc…Cp−1 zero: the compiler may instead have the kernel computing that
   * input write the transposed copy too (compiler/relayout.ts) and drop the pass.
   */
  relayout?: Relayout;
}

/** A [P, Cc, Q] → [P, Q, Cp] transpose of a pass's input `from` (see Pass.relayout). */
export interface Relayout {
  from: number;
  P: number;
  Cc: number;
  Q: number;
  Cp: number;
}

export interface KernelCtx {
  inShapes: Shape[];
  outShape: Shape;
  attrs: Attrs;
  /** WGSL expression for a per-step scalar; sets the pass's need for the uniform */
  scalar(name: string): string;
  scalarU32(name: string): string;
  /** adapter facts for kernel-variant selection */
  features: { subgroups: boolean; f16: boolean };
  /** kernel variant chosen by the autotuner for this op+shape, if any */
  variant?: string;
}

export interface Lowering {
  /** temporary buffers in f32 elements */
  temps?: number[];
  passes: Pass[];
}

/** The variant name that stands for an op's own lowering (KernelCtx.variant undefined). */
export const DEFAULT_VARIANT = "default";

/** The adapter a variant is chosen for: its description (runtime/autotune.ts adapterKey) and features. */
export interface VariantTarget {
  adapter: string;
  features: MatmulFeatures;
}

/**
 * The kernel variants of an op that the autotuner (runtime/autotune.ts) times, and what it picks
 * untimed. Every tuned op is handled the same way from this entry; names are what
 * KernelCtx.variant receives, DEFAULT_VARIANT standing for the op's own lowering.
 */
export interface VariantChoice {
  /** the candidates in the order tried; "f16": only variants that round their inputs to f16 */
  candidates(t: VariantTarget, precision: "f32" | "f16"): string[];
  /** the untimed pick of an f32 variant */
  fallback(t: VariantTarget, inShapes: Shape[], attrs: Attrs): string;
  /** whether nodes of these shapes are worth timing (default: every node) */
  worthTuning?(inShapes: Shape[]): boolean;
  /** whether candidate `name` can lower these shapes at all (default: every candidate can) */
  fits?(name: string, inShapes: Shape[], attrs: Attrs): boolean;
  /** the problem part of the cache key (default: op, input shapes, attrs that are set) */
  key?(inShapes: Shape[], attrs: Attrs): string;
  /** whether a name found in the cache may be used (default: it is one of the candidates) */
  usable?(name: string, t: VariantTarget): boolean;
  /** whether a variant multiplies its inputs rounded to f16 (its spot check rounds them too) */
  roundsToF16?(name: string): boolean;
}

export interface OpDef {
  /** 'leaf' ops have no computation (inputs, params, state); 'view' ops alias their input's buffer */
  kind: "leaf" | "elementwise" | "kernel" | "view";
  shape(inShapes: Shape[], attrs: Attrs): Shape;
  cpu(a: CpuArgs): Float64Array;
  /** one entry per input: its cotangent, or null when no gradient flows there */
  vjp?(a: VjpArgs): (Tensor | null)[];
  ew?(args: string[], c: EwCtx): string;
  /** WGSL helper functions an `ew` expression calls (e.g. Philox); included once per fused kernel */
  lib?: string;
  kernel?(c: KernelCtx): Lowering;
  /** under mixed precision its operands are rounded to f16 (matmul, convolutions): the tensor-core ops */
  f16Operands?: boolean;
  /**
   * elementwise, and each element depends on its inputs' values at that element only (no index,
   * no shape): the op may be evaluated at any shape that holds the same elements in the same order
   */
  pointwise?: boolean;
  /** kernel variants the autotuner chooses among (absent: the op's one lowering is used) */
  variants?: VariantChoice;
  /** one line for readers of the op table: the signature, layouts and meaning */
  doc?: string;
}

export class ShapeError extends Error {
  constructor(op: string, msg: string) {
    super(`${op}: ${msg}`);
    this.name = "ShapeError";
  }
}

/** The step scalars every RNG op (random draws, augmentations) keys its Philox stream with (u32). */
export const RNG_SEED = "seed";
export const RNG_STEP = "step";

export const UNIFORM_BINDING = 15;
export const MAX_SCALARS = 64;
/** Bytes of one step's scalars (a uniform slot); also WebGPU's 256-byte dynamic-offset alignment. */
export const SLOT_BYTES = MAX_SCALARS * 4;
/** The step uniform: 64 32-bit slots, read as f32 or u32. Written once per step. */
export const UNIFORM_DECL = `struct StepScalars { v: array<vec4<u32>, ${MAX_SCALARS / 4}> }\n` +
  `@group(0) @binding(${UNIFORM_BINDING}) var<uniform> STEP: StepScalars;\n` +
  `fn stepU32(i: u32) -> u32 { return STEP.v[i / 4u][i % 4u]; }\n` +
  `fn stepF32(i: u32) -> f32 { return bitcast<f32>(STEP.v[i / 4u][i % 4u]); }\n`;

export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);
export const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);
export const fmtShape = (s: Shape) => `[${s.join(", ")}]`;

/** Row-major strides. */
export function strides(s: Shape): number[] {
  const st = new Array(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1];
  return st;
}

/** Numpy broadcasting of two shapes (right-aligned); throws on mismatch. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `cannot broadcast ${fmtShape(a)} with ${fmtShape(b)} (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Flat index into `inShape` of the element at flat index `i` of the (broadcast) `outShape`. */
export function broadcastIndex(i: number, outShape: Shape, inShape: Shape): number {
  let rem = i, j = 0, mul = 1;
  for (let ax = outShape.length - 1, ia = inShape.length - 1; ax >= 0; ax--, ia--) {
    const c = rem % outShape[ax];
    rem = Math.floor(rem / outShape[ax]);
    if (ia >= 0) {
      if (inShape[ia] !== 1) j += c * mul;
      mul *= inShape[ia];
    }
  }
  return j;
}

/** WGSL: u32 expression computing the broadcast index into `inShape` from flat index `idx` of `outShape`. */
export function wgslBroadcastIndex(idx: string, outShape: Shape, inShape: Shape): string {
  if (sameShape(outShape, inShape)) return idx;
  if (size(inShape) === 1) return "0u";
  const terms: string[] = [];
  const os = strides(outShape);
  let mul = 1;
  for (let ax = outShape.length - 1, ia = inShape.length - 1; ia >= 0; ax--, ia--) {
    if (inShape[ia] !== 1) {
      const coord = `((${idx} / ${os[ax]}u) % ${outShape[ax]}u)`;
      terms.push(mul === 1 ? coord : `${coord} * ${mul}u`);
    }
    mul *= inShape[ia];
  }
  return terms.length ? `(${terms.join(" + ")})` : "0u";
}

/** Sum a cotangent of broadcast shape `from` back down to shape `to` (the VJP of broadcasting). */
export function unbroadcast(g: Tensor, to: Shape): Tensor {
  if (sameShape(g.shape, to)) return g;
  const axes: number[] = [];
  const lead = g.shape.length - to.length;
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (to[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? g.op("sum", [], { axes, keepdims: true }) : g;
  return summed.reshape(to);
}

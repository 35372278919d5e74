// Shared test helpers: float64 references, finite-difference VJP checks, tolerant comparisons.
import { evaluate } from "../../cpu/reference.ts";
import { grad } from "../../ir/autodiff.ts";
import { Graph } from "../../ir/graph.ts";
import type { Attrs, Shape } from "../../kernels/op.ts";
import { size } from "../../kernels/op.ts";

export interface Arg {
  shape: Shape;
  data: ArrayLike<number>;
}

/** Deterministic pseudo-random numbers in [lo, hi) for test data (mulberry32). */
export function rand(n: number, seed = 1, lo = -1, hi = 1): Float64Array {
  let a = seed >>> 0;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    r[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return r;
}
export const randArg = (shape: Shape, seed = 1, lo = -1, hi = 1): Arg => ({
  shape,
  data: rand(size(shape), seed, lo, hi),
});

/** Build a one-op graph over input leaves x0, x1, … */
export function opGraph(op: string, args: Arg[], attrs: Attrs = {}) {
  const g = new Graph();
  const ins = args.map((a, i) => g.input(`x${i}`, a.shape));
  const out = g.add(op, ins, attrs);
  const leaves = new Map(args.map((a, i) => [`x${i}`, Float64Array.from(a.data)] as [string, Float64Array]));
  return { g, ins, out, leaves };
}

/** Evaluate one op with the float64 reference. */
export function cpuOp(op: string, args: Arg[], attrs: Attrs = {}, scalars: Record<string, number> = {}): Float64Array {
  const { g, out, leaves } = opGraph(op, args, attrs);
  return evaluate(g, { leaves, scalars })[out.id];
}

/**
 * Finite-difference check of an op's VJP in float64: for a random cotangent w,
 * d/dx_k sum(w * op(x)) from the VJP vs central differences. Checks inputs listed in `wrt`
 * (default: all). Returns the max relative error.
 */
export function checkVjp(
  op: string,
  args: Arg[],
  attrs: Attrs = {},
  opts: { wrt?: number[]; eps?: number; tol?: number; scalars?: Record<string, number> } = {},
): number {
  const eps = opts.eps ?? 1e-6, tol = opts.tol ?? 1e-5;
  const scalars = opts.scalars ?? {};
  const wrt = opts.wrt ?? args.map((_, i) => i);
  const { g, ins, out, leaves } = opGraph(op, args, attrs);
  const w = g.input("w", out.shape);
  const wv = rand(size(out.shape), 99);
  leaves.set("w", wv);
  const f = out.mul(w).sum();
  const grads = grad(g, f, wrt.map((i) => ins[i]));
  const vals = evaluate(g, { leaves, scalars });
  const fval = (l: Map<string, Float64Array>) => evaluate(g, { leaves: l, scalars })[f.id][0];
  let worst = 0;
  wrt.forEach((k, j) => {
    const gk = grads[j];
    if (!gk) throw new Error(`${op}: VJP gave no gradient for input ${k}`);
    const analytic = vals[gk.id];
    const x = leaves.get(`x${k}`)!;
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + eps;
      const fp = fval(leaves);
      x[i] = keep - eps;
      const fm = fval(leaves);
      x[i] = keep;
      const num = (fp - fm) / (2 * eps);
      const err = Math.abs(num - analytic[i]) / Math.max(1, Math.abs(num));
      if (err > tol) {
        throw new Error(
          `${op}: d/dx${k}[${i}] VJP ${analytic[i]} vs finite difference ${num} (err ${err.toExponential(2)})`,
        );
      }
      worst = Math.max(worst, err);
    }
  });
  return worst;
}

/** |a - b| <= atol + rtol * |b| elementwise; the message names the first bad index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-4, atol = 1e-5 }: { rtol?: number; atol?: number } = {},
  what = "",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}: index ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

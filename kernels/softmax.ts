// softmax (attrs {axis}) and logsumexp (attrs {axis, keepdims}) along one axis, both
// max-subtracted so that large logits (NT-Xent and InfoNCE divide by T = 0.1) do not overflow.
//
// Kernel: one thread per row (the input seen as [outer, n, inner] around the axis). It makes
// one "online" pass keeping the running max m and Σ exp(x − m), rescaling the sum when m
// grows, so x is read once for logsumexp and twice for softmax (loads dominate on lavapipe).
import { around, grid, storageDecls } from "./layout.ts";
import { type Attrs, fmtShape, type KernelCtx, type Lowering, type OpDef, type Shape, ShapeError, size } from "./op.ts";

function axisOf(op: string, s: Shape, attrs: Attrs): number {
  const a = attrs.axis;
  if (!Number.isInteger(a) || (a as number) < -s.length || (a as number) >= s.length) {
    throw new ShapeError(op, `axis ${a} out of range for rank ${s.length} input ${fmtShape(s)}`);
  }
  return (a as number) < 0 ? (a as number) + s.length : (a as number);
}

/** per row (outer a, inner b): m = max, l = log Σ exp(x − m), in float64 */
function rowStats(x: Float64Array, s: Shape, axis: number, f: (a: number, b: number, m: number, l: number) => void) {
  const [outer, n, inner] = around(s, axis);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const at = (j: number) => x[(a * n + j) * inner + b];
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, at(j));
      let t = 0;
      for (let j = 0; j < n; j++) t += Math.exp(at(j) - m);
      f(a, b, m, Math.log(t));
    }
  }
}

/** WGSL computing m and t = Σ exp(x − m) of the row starting at `base` with step `inner`. */
function onlineRow(n: number, inner: number): string {
  const at = (j: string) => `x0[base + ${j} * ${inner}u]`;
  // branch-free (two exps per element): a data-dependent rescale branch measured no faster
  return `  var m = ${at("0u")};\n  var t = 1.0;\n` +
    `  for (var j = 1u; j < ${n}u; j++) {\n` +
    `    let v = ${at("j")}; let mn = max(m, v);\n` +
    `    t = t * exp(m - mn) + exp(v - mn); m = mn;\n  }\n`;
}

function rowKernel(op: "softmax" | "logsumexp", c: KernelCtx): Lowering {
  const s = c.inShapes[0], axis = axisOf(op, s, c.attrs), [outer, n, inner] = around(s, axis);
  const g = grid(outer * inner);
  let body = `  let a = i / ${inner}u; let b = i % ${inner}u; let base = a * ${n * inner}u + b;\n` +
    onlineRow(n, inner);
  body += op === "logsumexp"
    ? `  y[i] = m + log(t);\n`
    : `  let k = 1.0 / t;\n  for (var j = 0u; j < ${n}u; j++) { let at = base + j * ${inner}u; y[at] = exp(x0[at] - m) * k; }\n`;
  return {
    passes: [{
      label: op,
      wgsl: storageDecls(["x0"], "y") + g.head + body + "}\n",
      bindings: [{ buf: { kind: "in", i: 0 }, write: false }, { buf: { kind: "out" }, write: true }],
      workgroups: g.workgroups,
    }],
  };
}

export const SOFTMAX: Record<string, OpDef> = {
  softmax: {
    kind: "kernel",
    shape: ([s], attrs) => (axisOf("softmax", s, attrs), s),
    cpu: ({ ins: [x], inShapes: [s], attrs }) => {
      const axis = axisOf("softmax", s, attrs), [, n, inner] = around(s, axis);
      const r = new Float64Array(x.length);
      rowStats(x, s, axis, (a, b, m, l) => {
        for (let j = 0; j < n; j++) {
          const at = (a * n + j) * inner + b;
          r[at] = Math.exp(x[at] - m - l);
        }
      });
      return r;
    },
    // dx = y ⊙ (g − Σ_axis g ⊙ y)
    vjp: ({ g, out, attrs }) => {
      const axis = axisOf("softmax", out.shape, attrs);
      return [out.mul(g.sub(g.mul(out).sum([axis], true)))];
    },
    kernel: (c) => rowKernel("softmax", c),
    doc: "softmax(x, {axis}): exp(x − max) / Σ exp(x − max) along axis",
  },

  logsumexp: {
    kind: "kernel",
    shape: ([s], attrs) => {
      const axis = axisOf("logsumexp", s, attrs);
      return attrs.keepdims ? s.map((d, i) => (i === axis ? 1 : d)) : s.filter((_, i) => i !== axis);
    },
    cpu: ({ ins: [x], inShapes: [s], out, attrs }) => {
      const axis = axisOf("logsumexp", s, attrs), [, , inner] = around(s, axis);
      const r = new Float64Array(size(out));
      rowStats(x, s, axis, (a, b, m, l) => (r[a * inner + b] = m + l));
      return r;
    },
    // dx = g ⊙ softmax(x) = g ⊙ exp(x − lse), with g and lse broadcast along the axis
    vjp: ({ g, ins: [x], out, attrs }) => {
      const axis = axisOf("logsumexp", x.shape, attrs);
      const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
      return [x.sub(out.reshape(kept)).exp().mul(g.reshape(kept))];
    },
    kernel: (c) => rowKernel("logsumexp", c),
    doc: "logsumexp(x, {axis, keepdims}): max + log Σ exp(x − max) along axis",
  },
};

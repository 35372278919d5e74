// Elementwise primitives: one table row per op. The compiler fuses chains of these into one
// generated kernel, so an op here is just a WGSL expression, a float64 function and a VJP.
import type { Tensor } from "./op.ts";
import {
  broadcastIndex,
  broadcastShapes,
  type CpuArgs,
  type OpDef,
  type Shape,
  ShapeError,
  size,
  unbroadcast,
  type VjpArgs,
} from "./op.ts";

type Unary = { f: (x: number) => number; w: (x: string) => string; d?: (a: VjpArgs) => (Tensor | null)[] };
type Binary = {
  f: (a: number, b: number) => number;
  w: (a: string, b: string) => string;
  d?: (a: VjpArgs) => (Tensor | null)[];
};

function unary(u: Unary): OpDef {
  return {
    kind: "elementwise",
    pointwise: true,
    shape: ([s]) => s,
    cpu: ({ ins: [x] }) => x.map(u.f),
    ew: ([x]) => u.w(x),
    vjp: u.d,
  };
}

function binary(name: string, b: Binary): OpDef {
  return {
    kind: "elementwise",
    pointwise: true,
    shape: ([x, y]) => broadcastShapes(name, x, y),
    cpu: ({ ins: [x, y], inShapes, out }) => {
      const r = new Float64Array(size(out));
      for (let i = 0; i < r.length; i++) {
        r[i] = b.f(x[broadcastIndex(i, out, inShapes[0])], y[broadcastIndex(i, out, inShapes[1])]);
      }
      return r;
    },
    ew: ([x, y]) => b.w(x, y),
    vjp: b.d ? (a) => b.d!(a).map((g, i) => (g ? unbroadcast(g, a.ins[i].shape) : null)) : undefined,
  };
}

const cmp = (name: string, f: (a: number, b: number) => boolean, w: string) =>
  binary(name, {
    f: (a, b) => (f(a, b) ? 1 : 0),
    w: (a, b) => `select(0.0, 1.0, ${a} ${w} ${b})`,
    d: () => [null, null],
  });

const shapeOfAttr = (op: string) => (_: Shape[], attrs: Record<string, unknown>): Shape => {
  const s = attrs.shape as number[];
  if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(op, `attrs.shape must be positive integers, got ${JSON.stringify(s)}`);
  }
  return s;
};

export const ELEMENTWISE: Record<string, OpDef> = {
  neg: unary({ f: (x) => -x, w: (x) => `(-${x})`, d: ({ g }) => [g.neg()] }),
  exp: unary({ f: Math.exp, w: (x) => `exp(${x})`, d: ({ g, out }) => [g.mul(out)] }),
  log: unary({ f: Math.log, w: (x) => `log(${x})`, d: ({ g, ins: [x] }) => [g.div(x)] }),
  sqrt: unary({ f: Math.sqrt, w: (x) => `sqrt(${x})`, d: ({ g, out }) => [g.div(out.mul(2))] }),
  rsqrt: unary({
    f: (x) => 1 / Math.sqrt(x),
    w: (x) => `inverseSqrt(${x})`,
    d: ({ g, out }) => [g.mul(out.mul(out).mul(out)).mul(-0.5)],
  }),
  square: unary({ f: (x) => x * x, w: (x) => `(${x} * ${x})`, d: ({ g, ins: [x] }) => [g.mul(x).mul(2)] }),
  abs: unary({ f: Math.abs, w: (x) => `abs(${x})`, d: ({ g, ins: [x] }) => [g.mul(x.op("sign"))] }),
  sign: unary({ f: Math.sign, w: (x) => `sign(${x})`, d: () => [null] }),
  relu: unary({ f: (x) => (x > 0 ? x : 0), w: (x) => `max(${x}, 0.0)`, d: ({ g, ins: [x] }) => [x.gt(0).mul(g)] }),
  sigmoid: unary({
    f: (x) => 1 / (1 + Math.exp(-x)),
    w: (x) => `(1.0 / (1.0 + exp(-${x})))`,
    d: ({ g, out }) => [g.mul(out).mul(out.neg().add(1))],
  }),
  tanh: unary({ f: Math.tanh, w: (x) => `tanh(${x})`, d: ({ g, out }) => [g.mul(out.mul(out).neg().add(1))] }),
  /** identity whose VJP is zero: the target side of BYOL/SimSiam/MoCo */
  stopGrad: unary({ f: (x) => x, w: (x) => x, d: () => [null] }),
  /** identity that the compiler always materialises (used to snapshot a value) */
  copy: { ...unary({ f: (x) => x, w: (x) => x, d: ({ g }) => [g] }), pointwise: false },

  add: binary("add", { f: (a, b) => a + b, w: (a, b) => `(${a} + ${b})`, d: ({ g }) => [g, g] }),
  sub: binary("sub", { f: (a, b) => a - b, w: (a, b) => `(${a} - ${b})`, d: ({ g }) => [g, g.neg()] }),
  mul: binary("mul", {
    f: (a, b) => a * b,
    w: (a, b) => `(${a} * ${b})`,
    d: ({ g, ins: [x, y] }) => [g.mul(y), g.mul(x)],
  }),
  div: binary("div", {
    f: (a, b) => a / b,
    w: (a, b) => `(${a} / ${b})`,
    d: ({ g, ins: [, y], out }) => [g.div(y), g.mul(out).div(y).neg()],
  }),
  pow: binary("pow", {
    f: Math.pow,
    // WGSL pow is undefined for x < 0; integer exponents of negatives are handled by sign folding
    w: (a, b) =>
      `select(pow(abs(${a}), ${b}) * select(1.0, -1.0, (${a} < 0.0) && (fract(${b} * 0.5) != 0.0)), pow(${a}, ${b}), ${a} >= 0.0)`,
    d: ({ g, ins: [x, y], out }) => [g.mul(y).mul(x.pow(y.sub(1))), g.mul(out).mul(x.abs().log())],
  }),
  maximum: binary("maximum", {
    f: Math.max,
    w: (a, b) => `max(${a}, ${b})`,
    d: ({ g, ins: [x, y] }) => {
      const m = x.op("ge", [y]);
      return [g.mul(m), g.mul(m.neg().add(1))];
    },
  }),
  minimum: binary("minimum", {
    f: Math.min,
    w: (a, b) => `min(${a}, ${b})`,
    d: ({ g, ins: [x, y] }) => {
      const m = x.op("le", [y]);
      return [g.mul(m), g.mul(m.neg().add(1))];
    },
  }),
  gt: cmp("gt", (a, b) => a > b, ">"),
  ge: cmp("ge", (a, b) => a >= b, ">="),
  lt: cmp("lt", (a, b) => a < b, "<"),
  le: cmp("le", (a, b) => a <= b, "<="),
  eq: cmp("eq", (a, b) => a === b, "=="),

  /** where(cond, a, b): a where cond != 0, else b; all three broadcast */
  where: {
    kind: "elementwise",
    pointwise: true,
    shape: ([c, a, b]) => broadcastShapes("where", broadcastShapes("where", c, a), b),
    cpu: ({ ins: [c, a, b], inShapes, out }: CpuArgs) => {
      const r = new Float64Array(size(out));
      for (let i = 0; i < r.length; i++) {
        r[i] = c[broadcastIndex(i, out, inShapes[0])] !== 0
          ? a[broadcastIndex(i, out, inShapes[1])]
          : b[broadcastIndex(i, out, inShapes[2])];
      }
      return r;
    },
    ew: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0.0)`,
    vjp: ({ g, ins: [c, a, b] }) => [null, unbroadcast(c.where(g, 0), a.shape), unbroadcast(c.where(0, g), b.shape)],
  },

  const: {
    kind: "elementwise",
    shape: (_s, attrs) => (attrs.shape as number[]) ?? [],
    cpu: ({ out, attrs }) => new Float64Array(size(out)).fill(attrs.value as number),
    ew: (_a, c) => f32Literal(c.attrs.value as number),
  },
  scalar: {
    kind: "elementwise",
    shape: () => [],
    cpu: ({ attrs, scalars }) => {
      const v = scalars[attrs.name as string];
      if (v === undefined) throw new Error(`scalar '${attrs.name}' was not provided for this step`);
      return Float64Array.of(v);
    },
    ew: (_a, c) => c.scalar(c.attrs.name as string),
  },
  /** broadcast to a larger shape (explicit, so a fused kernel can produce it) */
  broadcast: {
    kind: "elementwise",
    shape: ([s], attrs) => {
      const to = shapeOfAttr("broadcast")([s], attrs);
      const b = broadcastShapes("broadcast", s, to);
      if (b.join() !== to.join()) throw new ShapeError("broadcast", `cannot broadcast [${s}] to [${to}]`);
      return to;
    },
    cpu: ({ ins: [x], inShapes, out }) => {
      const r = new Float64Array(size(out));
      for (let i = 0; i < r.length; i++) r[i] = x[broadcastIndex(i, out, inShapes[0])];
      return r;
    },
    ew: ([x]) => x,
    vjp: ({ g, ins: [x] }) => [unbroadcast(g, x.shape)],
  },
};

export function f32Literal(v: number): string {
  // WGSL rejects non-finite constant expressions; ±∞ becomes the largest finite f32
  if (Number.isNaN(v)) throw new Error("a NaN constant cannot be written in WGSL");
  if (v === Infinity || v >= 3.4028234663852886e38) return "f32(3.40282347e+38)";
  if (v === -Infinity || v <= -3.4028234663852886e38) return "f32(-3.40282347e+38)";
  const s = Math.fround(v).toPrecision(9);
  return s.includes(".") || s.includes("e") ? `f32(${s})` : `f32(${s}.0)`;
}

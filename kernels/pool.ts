// Pooling primitives, NCHW like conv.ts, over the window geometry of kernels/window.ts. attrs:
// kernel (number or [kh, kw]), stride (default: the kernel), pad (default 0, at most half the
// kernel so every window holds a real pixel).
//
//   maxPool2d(x)          → [N, C, Ho, Wo]   max over each window (padding never wins)
//   maxPool2dGrad(x, g)   → [N, C, H, W]     g routed to each window's argmax (first in row-major
//                                            order on ties, the same rule on CPU and GPU)
//   avgPool2d(x)          → [N, C, Ho, Wo]   window sum / (kh·kw), padding counted as zeros
//                                            (PyTorch's count_include_pad = True)
//   avgPool2dGrad(g)      → [N, C, H, W]     its adjoint (attrs.inShape); avgPool2d is the adjoint back
//   globalAvgPool(x)      → [N, C]           mean over H·W (the ResNet head); VJP by broadcast ops
//
// maxPool2dGrad has no VJP of its own (it would need a gather-at-argmax primitive; nothing in
// the project differentiates twice through a max pool).
import type { Tensor } from "./op.ts";
import { grid, storageDecls } from "./layout.ts";
import { type Attrs, type Lowering, type OpDef, type Pass, type Shape, ShapeError, size } from "./op.ts";
import {
  checkCotangent,
  checkNchw,
  forEachTapAt,
  pair,
  shapeAttr,
  stridePad,
  type Window2d,
  window2d,
} from "./window.ts";

/** A pool's window: kernels/window.ts, with the pad at most half the kernel. */
function poolGeom(op: string, x: Shape | undefined, attrs: Attrs): Window2d {
  checkNchw(op, "input", x);
  if (attrs.kernel === undefined) throw new ShapeError(op, "attrs.kernel is required (a number or [kh, kw])");
  const [KH, KW] = pair(op, "kernel", attrs.kernel, 1, 1);
  const sp = stridePad(op, attrs, [KH, KW]);
  if (2 * sp.ph > KH || 2 * sp.pw > KW) {
    throw new ShapeError(
      op,
      `pad [${sp.ph}, ${sp.pw}] must be at most half the kernel [${KH}, ${KW}] (a window would hold only padding)`,
    );
  }
  return window2d(op, x, KH, KW, sp);
}
const outShape = (p: Window2d) => [p.N, p.C, p.Ho, p.Wo];

const checkG = (op: string, p: Window2d, g: Shape | undefined) =>
  checkCotangent(op, g, outShape(p), "the pooled output");

/** Calls f(outIndex, [inIndex…]) for every output window with the flat indices of its real pixels, row-major. */
function forEachWindow(p: Window2d, f: (o: number, ins: number[]) => void): void {
  const { N, C, H, W, Ho, Wo } = p;
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        const ins: number[] = [];
        forEachTapAt(p, oh, ow, (h, w) => ins.push((nc * H + h) * W + w));
        f((nc * Ho + oh) * Wo + ow, ins);
      }
    }
  }
}
/** the first index holding the window's maximum (strict >, so ties keep the earliest) */
function argmax(x: Float64Array, ins: number[]): number {
  let best = ins[0];
  for (const i of ins) if (x[i] > x[best]) best = i;
  return best;
}

const poolAttrs = (a: Attrs) => ({ kernel: a.kernel, stride: a.stride, pad: a.pad });

// ---- WGSL ------------------------------------------------------------------------------------
// Pooling is memory-bound: one thread per output (forward) or per input pixel (backward; per
// tile in one pass when the windows tile the map), no atomics — the backward passes gather from the ≤ ⌈k/s⌉² windows that cover a pixel.

const u = (n: number) => `${n}u`;

function pass(label: string, decls: string, n: number, body: string, bindings: Pass["bindings"]): Pass {
  const g = grid(n);
  return { label, wgsl: decls + g.head + body + "}\n", bindings, workgroups: g.workgroups };
}

/** WGSL preamble for thread i = one output (nc, oh, ow): window origin (h0, w0) as i32 */
const outCoords = (p: Window2d) =>
  `  let nc = i / ${u(p.Ho * p.Wo)}; let q = i % ${u(p.Ho * p.Wo)};\n` +
  `  let h0 = i32(q / ${u(p.Wo)}) * ${p.sh}i - ${p.ph}i; let w0 = i32(q % ${u(p.Wo)}) * ${p.sw}i - ${p.pw}i;\n` +
  `  let base = nc * ${u(p.H * p.W)};\n` +
  // the window's first real pixel (pad ≤ kernel/2 guarantees one): the start of max and argmax
  `  let first = base + u32(max(h0, 0i) * ${p.W}i + max(w0, 0i));\n`;
/** WGSL loop over the window's real pixels; `body` sees flat index `j` (into x) */
const windowLoop = (p: Window2d, body: string) =>
  `  for (var a = max(h0, 0i); a < min(h0 + ${p.KH}i, ${p.H}i); a++) {\n` +
  `    for (var b = max(w0, 0i); b < min(w0 + ${p.KW}i, ${p.W}i); b++) {\n` +
  `      let j = base + u32(a * ${p.W}i + b);\n${body}    }\n  }\n`;
/**
 * WGSL preamble for thread i = one input pixel (nc, h, w): the output windows covering it are
 * oh ∈ [oh0, oh1), ow ∈ [ow0, ow1); `body` sees the flat output index `k`.
 */
const coverLoop = (p: Window2d, body: string) => {
  const range = (x: string, n: number, k: number, s: number, pd: number, o: string) =>
    // oh·s − pd ≤ x ≤ oh·s − pd + k − 1  ⇔  ⌈(x + pd − k + 1)/s⌉ ≤ oh ≤ ⌊(x + pd)/s⌋
    // (the ceiling is a floor of a numerator shifted by s·k to keep it positive)
    `  let ${o}0 = u32(max((${x} + ${pd - k + s + s * k}i) / ${s}i - ${k}i, 0i));\n` +
    `  let ${o}1 = min(u32(${x} + ${pd}i) / ${s}u + 1u, ${n}u);\n`;
  return `  let nc = i / ${u(p.H * p.W)}; let hw = i % ${u(p.H * p.W)};\n` +
    `  let h = i32(hw / ${u(p.W)}); let w = i32(hw % ${u(p.W)});\n` +
    range("h", p.Ho, p.KH, p.sh, p.ph, "oh") + range("w", p.Wo, p.KW, p.sw, p.pw, "ow") +
    `  var acc = 0.0;\n` +
    `  for (var oh = oh0; oh < oh1; oh++) {\n    for (var ow = ow0; ow < ow1; ow++) {\n` +
    `      let k = (nc * ${u(p.Ho)} + oh) * ${u(p.Wo)} + ow;\n${body}    }\n  }\n`;
};

const IN0 = { kind: "in", i: 0 } as const, IN1 = { kind: "in", i: 1 } as const, OUT = { kind: "out" } as const;
const TMP0 = { kind: "tmp", i: 0 } as const;

/**
 * Windows two pixels wide that tile rows of even width (stride = kernel, no padding: the CNN's
 * 2×2 pool): each window row is one aligned vec2. On lavapipe an access costs about the same
 * whatever its width, so reading (and, backward, writing) a row per access halves the accesses.
 */
const pairRows = (p: Window2d) =>
  p.KW === 2 && p.sw === 2 && p.sh === p.KH && p.ph === 0 && p.pw === 0 && p.W % 2 === 0;

/** decls: x0 (vec2 rows, read), then the f32 reads `more`, then the output (vec2 rows when `pairOut`) */
const pairDecls = (more: string[], out: string, pairOut: boolean) =>
  storageDecls(["x0", ...more], out, { x0: "vec2<f32>", ...(pairOut && { [out]: "vec2<f32>" }) });

function maxPoolPairs(p: Window2d): Lowering {
  const body = `  let nc = i / ${u(p.Ho * p.Wo)}; let q = i % ${u(p.Ho * p.Wo)};\n` +
    `  let r0 = (nc * ${u(p.H)} + q / ${u(p.Wo)} * ${u(p.KH)}) * ${u(p.W / 2)} + q % ${u(p.Wo)};\n` +
    `  var m = x0[r0];\n` +
    `  for (var a = 1u; a < ${u(p.KH)}; a++) { m = max(m, x0[r0 + a * ${u(p.W / 2)}]); }\n` +
    `  y[i] = max(m.x, m.y);\n`;
  return {
    passes: [
      pass("maxPool2d pairs", pairDecls([], "y", false), size(outShape(p)), body, [{ buf: IN0, write: false }, {
        buf: OUT,
        write: true,
      }]),
    ],
  };
}

function maxPoolKernel(p: Window2d): Lowering {
  if (pairRows(p)) return maxPoolPairs(p);
  const body = outCoords(p) + `  var m = x0[first];\n` +
    windowLoop(p, `      m = max(m, x0[j]);\n`) + `  y[i] = m;\n`;
  return {
    passes: [
      pass("maxPool2d", storageDecls(["x0"], "y"), size(outShape(p)), body, [{ buf: IN0, write: false }, {
        buf: OUT,
        write: true,
      }]),
    ],
  };
}

/**
 * Windows that tile the map (stride = kernel, no padding, the CNN's 2×2 pool): one pass, one
 * thread per tile, finds the window's argmax and writes the whole tile — g at the argmax, 0
 * elsewhere. Tiles past the last whole window (a side that is not a multiple of the stride) are
 * written as zeros. `0.0 + g` keeps the two-pass kernel's bits (its sum starts at 0.0).
 */
function maxPoolGradTiled(p: Window2d): Lowering {
  const HT = Math.ceil(p.H / p.KH), WT = Math.ceil(p.W / p.KW);
  const decls = storageDecls(["x0", "g"], "y");
  const body = `  let nc = i / ${u(HT * WT)}; let q = i % ${u(HT * WT)};\n` +
    `  let th = q / ${u(WT)}; let tw = q % ${u(WT)};\n` +
    `  let h0 = th * ${u(p.KH)}; let w0 = tw * ${u(p.KW)}; let base = nc * ${u(p.H * p.W)};\n` +
    `  let whole = th < ${u(p.Ho)} && tw < ${u(p.Wo)};\n` +
    `  var best = base + h0 * ${u(p.W)} + w0; var gk = 0.0;\n` +
    `  if (whole) {\n    var m = x0[best];\n` +
    `    for (var a = h0; a < h0 + ${u(p.KH)}; a++) {\n      for (var b = w0; b < w0 + ${u(p.KW)}; b++) {\n` +
    `        let j = base + a * ${u(p.W)} + b;\n        let v = x0[j];\n` +
    `        if (v > m) { m = v; best = j; }\n      }\n    }\n` +
    `    gk = 0.0 + g[(nc * ${u(p.Ho)} + th) * ${u(p.Wo)} + tw];\n  }\n` +
    `  for (var a = h0; a < min(h0 + ${u(p.KH)}, ${u(p.H)}); a++) {\n` +
    `    for (var b = w0; b < min(w0 + ${u(p.KW)}, ${u(p.W)}); b++) {\n` +
    `      let j = base + a * ${u(p.W)} + b;\n      y[j] = select(0.0, gk, whole && j == best);\n    }\n  }\n`;
  return {
    passes: [
      pass("maxPool2dGrad tiled", decls, p.N * p.C * HT * WT, body, [
        { buf: IN0, write: false },
        { buf: IN1, write: false },
        { buf: OUT, write: true },
      ]),
    ],
  };
}

/**
 * maxPool2dGradTiled for windows two pixels wide over rows of even width: a window row is one
 * vec2 read and one vec2 written. The argmax is the same (first in row-major order).
 */
function maxPoolGradPairs(p: Window2d): Lowering {
  const HT = Math.ceil(p.H / p.KH), W2 = p.W / 2;
  const body = `  let nc = i / ${u(HT * W2)}; let q = i % ${u(HT * W2)};\n` +
    `  let th = q / ${u(W2)}; let tw = q % ${u(W2)};\n` +
    `  let h0 = th * ${u(p.KH)}; let r0 = (nc * ${u(p.H)} + h0) * ${u(W2)} + tw;\n` +
    `  let whole = th < ${u(p.Ho)};\n` +
    `  var ba = 0u; var bb = 0u; var gk = 0.0;\n` +
    `  if (whole) {\n    var m = x0[r0].x;\n` +
    `    for (var a = 0u; a < ${u(p.KH)}; a++) {\n      let v = x0[r0 + a * ${u(W2)}];\n` +
    `      if (v.x > m) { m = v.x; ba = a; bb = 0u; }\n      if (v.y > m) { m = v.y; ba = a; bb = 1u; }\n    }\n` +
    `    gk = 0.0 + g[(nc * ${u(p.Ho)} + th) * ${u(p.Wo)} + tw];\n  }\n` +
    `  for (var a = 0u; a < min(${u(p.KH)}, ${u(p.H)} - h0); a++) {\n` +
    `    let hit = whole && a == ba;\n` +
    `    y[r0 + a * ${u(W2)}] = vec2<f32>(select(0.0, gk, hit && bb == 0u), select(0.0, gk, hit && bb == 1u));\n  }\n`;
  return {
    passes: [
      pass("maxPool2dGrad pairs", pairDecls(["g"], "y", true), p.N * p.C * HT * W2, body, [
        { buf: IN0, write: false },
        { buf: IN1, write: false },
        { buf: OUT, write: true },
      ]),
    ],
  };
}

/** pass 1: each window's argmax (flat x index) into a u32 temp; pass 2: each pixel sums the g of windows whose argmax it is */
function maxPoolGradKernel(p: Window2d): Lowering {
  if (pairRows(p)) return maxPoolGradPairs(p);
  if (p.sh === p.KH && p.sw === p.KW && p.ph === 0 && p.pw === 0) return maxPoolGradTiled(p);
  const nOut = size(outShape(p));
  const argDecls = storageDecls(["x0"], "am", { am: "u32" });
  const arg = outCoords(p) + `  var m = x0[first]; var best = first;\n` +
    windowLoop(p, `      let v = x0[j];\n      if (v > m) { m = v; best = j; }\n`) + `  am[i] = best;\n`;
  const gDecls = storageDecls(["am", "g"], "y", { am: "u32" });
  const route = coverLoop(p, `      if (am[k] == i) { acc += g[k]; }\n`) + `  y[i] = acc;\n`;
  return {
    temps: [nOut],
    passes: [
      pass("maxPool2dGrad.argmax", argDecls, nOut, arg, [{ buf: IN0, write: false }, { buf: TMP0, write: true }]),
      pass("maxPool2dGrad", gDecls, p.N * p.C * p.H * p.W, route, [
        { buf: TMP0, write: false },
        { buf: IN1, write: false },
        { buf: OUT, write: true },
      ]),
    ],
  };
}

function avgPoolKernel(p: Window2d): Lowering {
  const body = outCoords(p) + `  var s = 0.0;\n` + windowLoop(p, `      s += x0[j];\n`) +
    `  y[i] = s / ${p.KH * p.KW}.0;\n`;
  return {
    passes: [
      pass("avgPool2d", storageDecls(["x0"], "y"), size(outShape(p)), body, [{ buf: IN0, write: false }, {
        buf: OUT,
        write: true,
      }]),
    ],
  };
}
function avgPoolGradKernel(p: Window2d): Lowering {
  const body = coverLoop(p, `      acc += x0[k];\n`) + `  y[i] = acc / ${p.KH * p.KW}.0;\n`;
  return {
    passes: [
      pass("avgPool2dGrad", storageDecls(["x0"], "y"), p.N * p.C * p.H * p.W, body, [{ buf: IN0, write: false }, {
        buf: OUT,
        write: true,
      }]),
    ],
  };
}
function globalAvgKernel([N, C, H, W]: Shape): Lowering {
  const body = `  var s = 0.0;\n  for (var j = i * ${u(H * W)}; j < (i + 1u) * ${
    u(H * W)
  }; j++) { s += x0[j]; }\n  y[i] = s / ${H * W}.0;\n`;
  return {
    passes: [
      pass("globalAvgPool", storageDecls(["x0"], "y"), N * C, body, [{ buf: IN0, write: false }, {
        buf: OUT,
        write: true,
      }]),
    ],
  };
}

// ---- the op table ----------------------------------------------------------------------------

export const POOL: Record<string, OpDef> = {
  maxPool2d: {
    kind: "kernel",
    shape: ([x], attrs) => outShape(poolGeom("maxPool2d", x, attrs)),
    cpu: ({ ins: [x], inShapes, out, attrs }) => {
      const y = new Float64Array(size(out));
      forEachWindow(poolGeom("maxPool2d", inShapes[0], attrs), (o, ins) => (y[o] = x[argmax(x, ins)]));
      return y;
    },
    vjp: ({ g, ins: [x], attrs }): Tensor[] => [x.op("maxPool2dGrad", [g], poolAttrs(attrs))],
    kernel: (c) => maxPoolKernel(poolGeom("maxPool2d", c.inShapes[0], c.attrs)),
    doc: "maxPool2d(x [N,C,H,W], {kernel, stride = kernel, pad = 0}) → [N,C,Ho,Wo]",
  },
  maxPool2dGrad: {
    kind: "kernel",
    shape: ([x, g], attrs) => {
      checkG("maxPool2dGrad", poolGeom("maxPool2dGrad", x, attrs), g);
      return x;
    },
    cpu: ({ ins: [x, g], inShapes, attrs }) => {
      const dx = new Float64Array(x.length);
      forEachWindow(poolGeom("maxPool2dGrad", inShapes[0], attrs), (o, ins) => (dx[argmax(x, ins)] += g[o]));
      return dx;
    },
    kernel: (c) => maxPoolGradKernel(poolGeom("maxPool2dGrad", c.inShapes[0], c.attrs)),
    doc: "maxPool2dGrad(x, g, {kernel, stride, pad}) → dx: g at each window's (first) argmax",
  },
  avgPool2d: {
    kind: "kernel",
    shape: ([x], attrs) => outShape(poolGeom("avgPool2d", x, attrs)),
    cpu: ({ ins: [x], inShapes, out, attrs }) => {
      const y = new Float64Array(size(out));
      const p = poolGeom("avgPool2d", inShapes[0], attrs);
      forEachWindow(p, (o, ins) => (y[o] = ins.reduce((s, i) => s + x[i], 0) / (p.KH * p.KW)));
      return y;
    },
    vjp: (
      { g, ins: [x], attrs },
    ): Tensor[] => [g.op("avgPool2dGrad", [], { ...poolAttrs(attrs), inShape: [...x.shape] })],
    kernel: (c) => avgPoolKernel(poolGeom("avgPool2d", c.inShapes[0], c.attrs)),
    doc: "avgPool2d(x [N,C,H,W], {kernel, stride = kernel, pad = 0}) → [N,C,Ho,Wo]; divisor kh·kw",
  },
  avgPool2dGrad: {
    kind: "kernel",
    shape: ([g], attrs) => {
      const s = shapeAttr("avgPool2dGrad", "inShape", attrs.inShape);
      checkG("avgPool2dGrad", poolGeom("avgPool2dGrad", s, attrs), g);
      return s;
    },
    cpu: ({ ins: [g], out, attrs }) => {
      const dx = new Float64Array(size(out));
      const p = poolGeom("avgPool2dGrad", out, attrs);
      forEachWindow(p, (o, ins) => ins.forEach((i) => (dx[i] += g[o] / (p.KH * p.KW))));
      return dx;
    },
    vjp: ({ g, attrs }): Tensor[] => [g.op("avgPool2d", [], poolAttrs(attrs))],
    kernel: (c) => avgPoolGradKernel(poolGeom("avgPool2dGrad", c.outShape, c.attrs)),
    doc: "avgPool2dGrad(g, {kernel, stride, pad, inShape}) → dx: the adjoint of avgPool2d",
  },
  globalAvgPool: {
    kind: "kernel",
    shape: ([x]) => {
      checkNchw("globalAvgPool", "input", x);
      return [x[0], x[1]];
    },
    cpu: ({ ins: [x], inShapes: [[N, C, H, W]] }) => {
      const y = new Float64Array(N * C);
      for (let i = 0; i < x.length; i++) y[Math.floor(i / (H * W))] += x[i] / (H * W);
      return y;
    },
    vjp: ({ g, ins: [x] }): Tensor[] => {
      const [N, C, H, W] = x.shape;
      return [g.reshape([N, C, 1, 1]).op("broadcast", [], { shape: [...x.shape] }).mul(1 / (H * W))];
    },
    kernel: (c) => globalAvgKernel(c.inShapes[0]),
    doc: "globalAvgPool(x [N,C,H,W]) → [N,C]: mean over the image",
  },
};

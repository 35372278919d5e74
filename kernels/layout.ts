// Layout ops: reshape (a view), transpose, slice, concat, row gather / scatter-add and the
// FIFO row write of MoCo's queue. They move data without arithmetic, so every WGSL kernel is
// one thread per output element computing where its value comes from (no barriers, no
// atomics: scatter-add is a per-output loop, which keeps it deterministic).
import type { Tensor } from "./op.ts";
import { foldWorkgroups } from "./wgsl/workgroups.ts";
import {
  type Attrs,
  fmtShape,
  type KernelCtx,
  type Lowering,
  type OpDef,
  type Pass,
  type Shape,
  ShapeError,
  size,
  strides,
  UNIFORM_DECL,
} from "./op.ts";

// ---- shared WGSL helpers (also used by reduce.ts and softmax.ts) ----------------------------

const WG = 64;
/**
 * A 1-D launch of `n` threads of workgroup size WG, folded into 2-D when it exceeds the
 * 65535-workgroups-per-dimension limit. `main` declares the builtins; `index` is the thread's
 * flat id (callers guard `if (i >= n) { return; }`).
 */
export function grid(n: number, wg = WG) {
  return {
    workgroups: foldWorkgroups(Math.ceil(n / wg)),
    head: `@compute @workgroup_size(${wg})\n` +
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n` +
      `  let i = gid.x + gid.y * nwg.x * ${wg}u;\n  if (i >= ${n}u) { return; }\n`,
  };
}
/**
 * WGSL storage declarations for bindings 0..k-1: read-only inputs then one read_write output,
 * arrays of f32 unless `types` names another element type for a binding.
 */
export function storageDecls(reads: string[], write: string, types: Readonly<Record<string, string>> = {}): string {
  const decl = (k: number, name: string, access: string) =>
    `@group(0) @binding(${k}) var<storage, ${access}> ${name}: array<${types[name] ?? "f32"}>;\n`;
  return reads.map((n, k) => decl(k, n, "read")).join("") + decl(reads.length, write, "read_write");
}
/** A pass over the op's inputs `ins` (by index) writing the op's output, one thread per element of `n`. */
function copyPass(label: string, ins: number[], n: number, body: string, uniform = false): Pass {
  const g = grid(n);
  const names = ins.map((_, k) => `x${k}`);
  return {
    label,
    wgsl: (uniform ? UNIFORM_DECL : "") + storageDecls(names, "y") + g.head + body + "}\n",
    bindings: [...ins.map((i) => ({ buf: { kind: "in" as const, i }, write: false })), {
      buf: { kind: "out" },
      write: true,
    }],
    uniform,
    workgroups: g.workgroups,
  };
}

// ---- validation -----------------------------------------------------------------------------

const posInts = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 1);

function checkPerm(perm: unknown, rank: number): number[] {
  if (!Array.isArray(perm) || perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError("transpose", `perm ${JSON.stringify(perm)} is not a permutation of 0..${rank - 1}`);
  }
  return perm as number[];
}
function checkAxis(op: string, s: Shape, axis: unknown): number {
  if (!Number.isInteger(axis) || (axis as number) < 0 || (axis as number) >= s.length) {
    throw new ShapeError(op, `axis ${axis} out of range for rank ${s.length} input ${fmtShape(s)}`);
  }
  return axis as number;
}
/** [outer, n, inner] view of shape s around `axis`. */
export function around(s: Shape, axis: number): [number, number, number] {
  return [size(s.slice(0, axis)), s[axis], size(s.slice(axis + 1))];
}
function checkRows(op: string, inShapes: Shape[], names: [string, string]): void {
  const [t, idx] = inShapes;
  if (!t || !idx || inShapes.length !== 2) {
    throw new ShapeError(op, `takes 2 inputs (${names.join(", ")}), got ${inShapes.length}`);
  }
  if (t.length < 1) throw new ShapeError(op, `${names[0]} must have at least one axis, got ${fmtShape(t)}`);
  if (idx.length !== 1) throw new ShapeError(op, `indices must be 1-D, got ${fmtShape(idx)}`);
}
/** Row index held as an f32: must be an integer in [0, rows). */
function rowOf(op: string, v: number, rows: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= rows) {
    throw new ShapeError(op, `index ${v} is not an integer row in [0, ${rows})`);
  }
  return v;
}

// ---- float64 references ----------------------------------------------------------------------

/** For output flat index o of transpose(x, perm), the flat index into x. */
function transposeSource(o: number, outShape: Shape, inStrides: number[], perm: number[]): number {
  let rem = o, src = 0;
  for (let ax = outShape.length - 1; ax >= 0; ax--) {
    const c = rem % outShape[ax];
    rem = Math.floor(rem / outShape[ax]);
    src += c * inStrides[perm[ax]];
  }
  return src;
}

/** The start row of writeRows for this step, mod K (accepts any integer, e.g. step × B). */
function startRow(v: number | undefined, name: string, k: number): number {
  if (v === undefined) throw new Error(`writeRows: scalar '${name}' was not provided for this step`);
  if (!Number.isInteger(v)) throw new ShapeError("writeRows", `start scalar '${name}' = ${v} is not an integer`);
  return ((v % k) + k) % k;
}

// ---- WGSL lowerings --------------------------------------------------------------------------

/**
 * Transpose. When the innermost axis moves and both it and the new innermost axis have a
 * multiple of 4 elements, each thread transposes a 4×4 tile with four vec4 loads and four
 * vec4 stores (a gather per element made 2048² take ~0.5 s on lavapipe). Otherwise one thread
 * per output element.
 */
function transposeKernel(c: KernelCtx): Lowering {
  // size-1 axes do not move data: drop them from shapes and perm
  const keep = c.inShapes[0].map((d) => d !== 1);
  const s = c.inShapes[0].filter((_, i) => keep[i]);
  const rename = keep.map((_, i) => keep.slice(0, i).filter(Boolean).length);
  const perm = (c.attrs.perm as number[]).filter((p) => keep[p]).map((p) => rename[p]);
  const out = perm.map((p) => s[p]), ist = strides(s), ost = strides(out), last = s.length - 1;
  const coordTerms = (shape: number[], st: number[], v: string, mul: (k: number) => number[]) =>
    shape.map((d, k) => (d === 1 ? "" : `((${v} / ${st[k]}u) % ${d}u) * ${mul(k).reduce((a, b) => a * b, 1)}u`)).filter(
      (t) => t,
    );
  const sumOf = (t: string[]) => (t.length ? t.join(" + ") : "0u");

  if (s.length >= 2 && perm[last] !== last && s[last] % 4 === 0 && out[last] % 4 === 0) {
    const q = perm.indexOf(last), p = perm[last];
    const tiles = out.map((d, k) => (k === q || k === last ? d / 4 : d));
    // a workgroup covers 8×8 tiles (32×32 elements) so its reads and writes stay within a
    // few pages: ordering tiles row-major alone left 2048² at ~90 ms
    const blocks = tiles.map((d, k) => (k === q || k === last ? Math.ceil(d / 8) : d)), bst = strides(blocks);
    const coord = (k: number) => {
      const blk = blocks[k] === 1 ? "0u" : `((i / 64u / ${bst[k]}u) % ${blocks[k]}u)`;
      return k === last ? `(${blk} * 8u + i % 8u)` : k === q ? `(${blk} * 8u + (i / 8u) % 8u)` : blk;
    };
    const four = (k: number) => (k === q || k === last ? 4 : 1);
    // element offsets of the tile's corner, divided by 4 (both are multiples of 4)
    const offset = (st: (k: number) => number) => out.map((_, k) => `c${k} * ${(four(k) * st(k)) / 4}u`).join(" + ");
    const g = grid(size(blocks) * 64);
    const body = out.map((_, k) => `  let c${k} = ${coord(k)};\n`).join("") +
      `  if (c${q} >= ${tiles[q]}u || c${last} >= ${tiles[last]}u) { return; }\n` +
      `  let src = ${offset((k) => ist[perm[k]])}; let dst = ${offset((k) => ost[k])};\n` +
      [0, 1, 2, 3].map((j) => `  let v${j} = x[src + ${(j * ist[p]) / 4}u];\n`).join("") +
      ["x", "y", "z", "w"].map((t, k) =>
        `  y[dst + ${(k * ost[q]) / 4}u] = vec4<f32>(v0.${t}, v1.${t}, v2.${t}, v3.${t});\n`
      ).join("");
    const wgsl = `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;\n` +
      `@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;\n` + g.head + body + "}\n";
    return {
      passes: [{
        label: "transpose 4×4 tiles",
        wgsl,
        bindings: [{ buf: { kind: "in", i: 0 }, write: false }, { buf: { kind: "out" }, write: true }],
        workgroups: g.workgroups,
      }],
    };
  }
  // src = Σ_k coord_k(out) · inStride[perm[k]]
  const src = sumOf(coordTerms(out, ost, "i", (k) => [ist[perm[k]]]));
  return { passes: [copyPass("transpose", [0], size(out), `  y[i] = x0[${src}];\n`)] };
}

function sliceKernel(c: KernelCtx): Lowering {
  const axis = c.attrs.axis as number, start = c.attrs.start as number;
  const [, n] = around(c.inShapes[0], axis), [, m, inner] = around(c.outShape, axis);
  const body = `  let a = i / ${m * inner}u; let j = (i / ${inner}u) % ${m}u; let b = i % ${inner}u;\n` +
    `  y[i] = x0[(a * ${n}u + j + ${start}u) * ${inner}u + b];\n`;
  return { passes: [copyPass("slice", [0], size(c.outShape), body)] };
}

/** One pass per input, each copying its block into place: any number of inputs, no binding limit. */
function concatKernel(c: KernelCtx): Lowering {
  const axis = c.attrs.axis as number, [, total, inner] = around(c.outShape, axis);
  let off = 0;
  const passes = c.inShapes.map((s, k) => {
    const [, n] = around(s, axis);
    const body = `  let a = i / ${n * inner}u; let r = i % ${n * inner}u;\n` +
      `  y[a * ${total * inner}u + ${off * inner}u + r] = x0[i];\n`;
    off += n;
    return copyPass(`concat[${k}]`, [k], size(s), body);
  });
  return { passes };
}

function gatherKernel(c: KernelCtx): Lowering {
  const [t] = c.inShapes, rows = t[0], d = size(t.slice(1));
  // indices are clamped so a bad index reads a valid row instead of out of bounds
  const body = `  let b = i / ${d}u; let j = i % ${d}u;\n` +
    `  let r = min(u32(max(round(x1[b]), 0.0)), ${rows - 1}u);\n  y[i] = x0[r * ${d}u + j];\n`;
  return { passes: [copyPass("gather", [0, 1], size(c.outShape), body)] };
}

/** out[r, j] = Σ_b [idx_b = r] src[b, j]: each output loops over the B indices (deterministic). */
function scatterKernel(c: KernelCtx): Lowering {
  const [s, [b]] = c.inShapes, d = size(s.slice(1));
  const body = `  let r = f32(i / ${d}u); let j = i % ${d}u;\n  var acc = 0.0;\n` +
    `  for (var k = 0u; k < ${b}u; k++) {\n    if (round(x1[k]) == r) { acc += x0[k * ${d}u + j]; }\n  }\n  y[i] = acc;\n`;
  return { passes: [copyPass("scatterAddRows", [0, 1], size(c.outShape), body)] };
}

function writeRowsKernel(c: KernelCtx): Lowering {
  const [[k, d], [b]] = c.inShapes;
  // the queue pointer is a u32 step scalar (any integer, e.g. step × B; reduced mod K here)
  const st = c.scalarU32(c.attrs.start as string);
  const body = `  let s = ${st} % ${k}u;\n` +
    `  let row = i / ${d}u; let rel = (row + ${k}u - s) % ${k}u;\n` +
    `  if (rel < ${b}u) { y[i] = x1[rel * ${d}u + i % ${d}u]; } else { y[i] = x0[i]; }\n`;
  return { passes: [copyPass("writeRows", [0, 1], size(c.outShape), body, true)] };
}

// ---- the op table ----------------------------------------------------------------------------

/** zeros of shape s (a graph constant) */
const zeros = (like: Tensor, s: Shape) => like.g.const(0, s);

export const LAYOUT: Record<string, OpDef> = {
  /** same data, new shape (row-major); the compiler aliases the input buffer */
  reshape: {
    kind: "view",
    shape: ([s], attrs) => {
      const to = attrs.shape;
      if (!posInts(to)) {
        throw new ShapeError("reshape", `attrs.shape must be positive integers, got ${JSON.stringify(to)}`);
      }
      if (size(to) !== size(s)) {
        throw new ShapeError(
          "reshape",
          `cannot reshape ${fmtShape(s)} (${size(s)} elements) to ${fmtShape(to)} (${size(to)})`,
        );
      }
      return to;
    },
    cpu: ({ ins: [x] }) => Float64Array.from(x),
    vjp: ({ g, ins: [x] }) => [g.reshape(x.shape)],
    doc: "reshape(x, {shape}): same elements in row-major order",
  },

  /** out.shape[k] = x.shape[perm[k]] */
  transpose: {
    kind: "kernel",
    shape: ([s], attrs) => checkPerm(attrs.perm, s.length).map((p) => s[p]),
    cpu: ({ ins: [x], inShapes: [s], out, attrs }) => {
      const perm = attrs.perm as number[], ist = strides(s);
      const r = new Float64Array(size(out));
      for (let o = 0; o < r.length; o++) r[o] = x[transposeSource(o, out, ist, perm)];
      return r;
    },
    vjp: ({ g, attrs }) => {
      const perm = attrs.perm as number[];
      const inv = perm.map(() => 0);
      perm.forEach((p, k) => (inv[p] = k));
      return [g.transpose(inv)];
    },
    kernel: transposeKernel,
    doc: "transpose(x, {perm}): out.shape[k] = x.shape[perm[k]]",
  },

  /** elements start..end-1 along one axis */
  slice: {
    kind: "kernel",
    shape: ([s], attrs) => {
      const ax = checkAxis("slice", s, attrs.axis);
      const { start, end } = attrs as { start: number; end: number };
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > s[ax] || start >= end) {
        throw new ShapeError(
          "slice",
          `range [${start}, ${end}) is not a non-empty range inside axis ${ax} of size ${s[ax]}`,
        );
      }
      return s.map((d, i) => (i === ax ? end - start : d));
    },
    cpu: ({ ins: [x], inShapes: [s], out, attrs }) => {
      const ax = attrs.axis as number, start = attrs.start as number;
      const [outer, n, inner] = around(s, ax), m = out[ax];
      const r = new Float64Array(size(out));
      for (let a = 0; a < outer; a++) {
        r.set(x.subarray((a * n + start) * inner, (a * n + start + m) * inner), a * m * inner);
      }
      return r;
    },
    // the cotangent is g padded with zeros back to the input's extent along the axis
    vjp: ({ g, ins: [x], attrs }) => {
      const ax = attrs.axis as number, { start, end } = attrs as { start: number; end: number };
      const parts: Tensor[] = [];
      if (start > 0) parts.push(zeros(g, x.shape.map((d, i) => (i === ax ? start : d))));
      parts.push(g);
      if (end < x.shape[ax]) parts.push(zeros(g, x.shape.map((d, i) => (i === ax ? d - end : d))));
      return [parts.length === 1 ? g : g.g.add("concat", parts, { axis: ax })];
    },
    kernel: sliceKernel,
    doc: "slice(x, {axis, start, end}): elements [start, end) along axis",
  },

  /** n inputs joined along one axis; all other axes must agree */
  concat: {
    kind: "kernel",
    shape: (ss, attrs) => {
      if (ss.length < 1) throw new ShapeError("concat", "needs at least one input");
      const ax = checkAxis("concat", ss[0], attrs.axis);
      for (const s of ss) {
        if (s.length !== ss[0].length || s.some((d, i) => i !== ax && d !== ss[0][i])) {
          throw new ShapeError("concat", `shapes ${ss.map(fmtShape).join(", ")} differ outside axis ${ax}`);
        }
      }
      return ss[0].map((d, i) => (i === ax ? ss.reduce((t, s) => t + s[ax], 0) : d));
    },
    cpu: ({ ins, inShapes, out, attrs }) => {
      const ax = attrs.axis as number, [outer, total, inner] = around(out, ax);
      const r = new Float64Array(size(out));
      let off = 0;
      ins.forEach((x, k) => {
        const n = inShapes[k][ax];
        for (let a = 0; a < outer; a++) {
          r.set(x.subarray(a * n * inner, (a + 1) * n * inner), (a * total + off) * inner);
        }
        off += n;
      });
      return r;
    },
    vjp: ({ g, ins, attrs }) => {
      const ax = attrs.axis as number;
      let off = 0;
      return ins.map((x) => {
        const n = x.shape[ax];
        off += n;
        return n === g.shape[ax] ? g : g.slice(ax, off - n, off);
      });
    },
    kernel: concatKernel,
    doc: "concat(x0, x1, …, {axis})",
  },

  /** gather(table [R, …], indices [B] as f32 integers) → [B, …]: out[b] = table[indices[b]] */
  gather: {
    kind: "kernel",
    shape: (ss) => {
      checkRows("gather", ss, ["table", "indices"]);
      return [ss[1][0], ...ss[0].slice(1)];
    },
    cpu: ({ ins: [t, idx], inShapes: [ts] }) => {
      const d = size(ts.slice(1));
      const r = new Float64Array(idx.length * d);
      idx.forEach((v, b) =>
        r.set(t.subarray(rowOf("gather", v, ts[0]) * d, (rowOf("gather", v, ts[0]) + 1) * d), b * d)
      );
      return r;
    },
    vjp: ({ g, ins: [t, idx] }) => [g.g.add("scatterAddRows", [g, idx], { rows: t.shape[0] }), null],
    kernel: gatherKernel,
    doc: "gather(table, indices): rows of table picked by integer-valued f32 indices",
  },

  /** scatterAddRows(src [B, …], indices [B], {rows: R}) → [R, …]: out[r] = Σ_{b: idx_b = r} src[b] */
  scatterAddRows: {
    kind: "kernel",
    shape: (ss, attrs) => {
      checkRows("scatterAddRows", ss, ["src", "indices"]);
      if (ss[1][0] !== ss[0][0]) {
        throw new ShapeError("scatterAddRows", `src has ${ss[0][0]} rows but there are ${ss[1][0]} indices`);
      }
      if (!Number.isInteger(attrs.rows) || (attrs.rows as number) < 1) {
        throw new ShapeError("scatterAddRows", `attrs.rows must be a positive integer, got ${attrs.rows}`);
      }
      return [attrs.rows as number, ...ss[0].slice(1)];
    },
    cpu: ({ ins: [s, idx], inShapes: [ss], out }) => {
      const d = size(ss.slice(1)), r = new Float64Array(size(out));
      idx.forEach((v, b) => {
        const row = rowOf("scatterAddRows", v, out[0]);
        for (let j = 0; j < d; j++) r[row * d + j] += s[b * d + j];
      });
      return r;
    },
    vjp: ({ g, ins: [, idx] }) => [g.g.add("gather", [g, idx]), null],
    kernel: scatterKernel,
    doc: "scatterAddRows(src, indices, {rows}): the transpose of gather",
  },

  /**
   * writeRows(base [K, D], rows [B, D], {start}) → base with rows[i] written at row
   * (start + i) mod K, where `start` names a per-step scalar: MoCo's FIFO queue write.
   * Feeds state updates only, so it has no VJP.
   */
  writeRows: {
    kind: "kernel",
    shape: (ss, attrs: Attrs) => {
      const [base, rows] = ss;
      if (ss.length !== 2 || base.length !== 2 || rows.length !== 2 || base[1] !== rows[1]) {
        throw new ShapeError("writeRows", `needs base [K, D] and rows [B, D], got ${ss.map(fmtShape).join(", ")}`);
      }
      if (rows[0] > base[0]) {
        throw new ShapeError("writeRows", `cannot write ${rows[0]} rows into a queue of ${base[0]}`);
      }
      if (typeof attrs.start !== "string") {
        throw new ShapeError(
          "writeRows",
          `attrs.start must name a per-step scalar, got ${JSON.stringify(attrs.start)}`,
        );
      }
      return base;
    },
    cpu: ({ ins: [base, rows], inShapes: [[k, d], [b]], attrs, scalars }) => {
      const s = startRow(scalars[attrs.start as string], attrs.start as string, k);
      const r = Float64Array.from(base);
      for (let i = 0; i < b; i++) r.set(rows.subarray(i * d, (i + 1) * d), ((s + i) % k) * d);
      return r;
    },
    kernel: writeRowsKernel,
    doc: "writeRows(base, rows, {start}): FIFO write of rows at (start + i) mod K",
  },
};

// topk(x [R, C], {k}) -> [R, 2k]: per row, the k largest values in descending order
// followed by their column indices (as f32, exact below 2^24). Ties are broken by the lower
// column index first, so the result is deterministic. The order is a total order on f32
// bit patterns: (positive) NaN above +Inf, +0 above -0. No VJP (evaluation only: kNN).
//
// Kernel (no workgroup barriers, no shared memory — lavapipe runs barrier shaders as
// coroutines, 4–5× slower — so every phase is its own dispatch):
//   A. the row is cut into M interleaved chunks (chunk j = columns j, j+M, …, or vec4 units
//      j, j+M, … when rows are whole vec4s; adjacent threads read adjacent addresses); one
//      thread per chunk writes the chunk maximum.
//   B. t0 = the k-th largest chunk maximum, one thread per row, by bisection on the key bits
//      (32 counting sweeps over the M maxima, each stopping at k). k chunks have a maximum
//      ≥ t0, so at least k elements are ≥ t0: the top k all lie in {x ≥ t0}. For data in
//      random order that set has about M·ln 2 ≈ 1.4k elements.
//   C. one thread per chunk appends every element ≥ t0 (key, column) to the row's candidate
//      list (an atomic counter; order does not matter, step D sorts).
//   E. fallback for rows whose candidates overflowed the list (heavy ties, adversarial
//      orders): one thread per row finds the exact k-th key by bisection on its 32 bits and
//      writes exactly k candidates. Rows that did not overflow exit at once.
//   D. one workgroup per row ranks each candidate among the row's candidates by
//      (value desc, column asc) and writes the ones with rank < k straight to their place.
// Values are compared as order-preserving u32 keys, so all comparisons are exact.
import { grid } from "./layout.ts";
import {
  type Attrs,
  type CpuArgs,
  fmtShape,
  type KernelCtx,
  type Lowering,
  type OpDef,
  type Shape,
  ShapeError,
} from "./op.ts";

/** k from attrs, validated against an input of shape s */
function kOf(s: Shape, attrs: Attrs): number {
  if (s.length !== 2) throw new ShapeError("topk", `input must be 2-D [rows, cols], got ${fmtShape(s)}`);
  const k = attrs.k;
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > s[1]) {
    throw new ShapeError("topk", `k = ${k} must be an integer in [1, ${s[1]}] (the row length of ${fmtShape(s)})`);
  }
  if (s[1] > 1 << 24) throw new ShapeError("topk", `rows of ${s[1]} columns: indices above 2^24 are not exact in f32`);
  return k as number;
}

/** The sizes the lowering uses (exported for tests that want to force the fallback path). */
export function topkPlan(cols: number, k: number) {
  // rows are read as vec4 when they hold whole vec4s and at least k of them
  const vec = cols % 4 === 0 && cols / 4 >= k ? 4 : 1;
  // M ≥ k chunks (the threshold argument needs k of them), ≥ 256 for parallelism, none empty
  const chunks = Math.min(cols / vec, Math.max(2 * k, 256));
  // candidate capacity: ~6× the expected count for random order; never less than k
  const cap = Math.min(cols, Math.max(8 * k, 512));
  return { chunks, cap, vec };
}

/** Float64 order used by the reference: NaN first, then value descending, +0 before -0. */
function before(a: number, b: number): number {
  const na = Number.isNaN(a), nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? -1 : 1;
  if (a !== b) return b - a;
  if (a === 0) return (Object.is(a, -0) ? 1 : 0) - (Object.is(b, -0) ? 1 : 0);
  return 0;
}

function cpuTopk({ ins: [x], inShapes: [s], attrs }: CpuArgs): Float64Array {
  const k = kOf(s, attrs), [rows, cols] = s;
  const out = new Float64Array(rows * 2 * k);
  const idx = Array.from({ length: cols }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const v = (c: number) => x[r * cols + c];
    const order = idx.slice().sort((a, b) => before(v(a), v(b)) || a - b);
    for (let i = 0; i < k; i++) {
      out[r * 2 * k + i] = v(order[i]);
      out[r * 2 * k + k + i] = order[i];
    }
  }
  return out;
}

const KEY_FNS = `fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn key4(v: vec4<f32>) -> vec4<u32> {
  let b = bitcast<vec4<u32>>(v);
  return select(b | vec4<u32>(0x80000000u), ~b, (b & vec4<u32>(0x80000000u)) != vec4<u32>(0u));
}
fn unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}
`;

/**
 * Loop bounds of the later passes are loaded from a 5-word buffer written by the first pass
 * (M, C, cap, 32, U): with a constant or small known trip count llvmpipe fully unrolls the loops
 * (e.g. 32 bisection steps × C) and spends seconds compiling the shader at its first dispatch.
 */
const dimsDecl = (binding: number) => `@group(0) @binding(${binding}) var<storage, read> dims: array<u32>;\n`;

const buf = (binding: number, name: string, type: string, access: "read" | "read_write") =>
  `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${type}>;\n`;

function lower(c: KernelCtx): Lowering {
  const [R, C] = c.inShapes[0], K = kOf(c.inShapes[0], c.attrs);
  const { chunks: M, cap: CAP, vec: V } = topkPlan(C, K);
  const X = { kind: "in", i: 0 } as const, OUT = { kind: "out" } as const;
  const MX = { kind: "tmp", i: 0 } as const, THR = { kind: "tmp", i: 1 } as const;
  const CNT = { kind: "tmp", i: 2 } as const,
    CAND = { kind: "tmp", i: 3 } as const,
    DIM = { kind: "tmp", i: 4 } as const;
  const perChunk = grid(R * M), perRow = grid(R);
  // x is read as vec4 when rows are whole vec4s (4× fewer load instructions); U = loads per row
  const U = C / V, xType = V === 4 ? "vec4<f32>" : "f32", keyV = V === 4 ? "key4" : "key";
  const rowChunk = `  let r = i / ${M}u; let j = i % ${M}u; let base = r * ${U}u;\n`;

  const chunkMax = {
    label: "topk.chunkMax",
    wgsl: KEY_FNS + buf(0, "x", xType, "read") + buf(1, "mx", "u32", "read_write") +
      buf(2, "dims", "u32", "read_write") +
      perChunk.head +
      `  if (i == 0u) { dims[0] = ${M}u; dims[1] = ${C}u; dims[2] = ${CAP}u; dims[3] = 32u; dims[4] = ${U}u; }\n` +
      rowChunk +
      `  var m = ${keyV}(x[base + j]);\n` +
      `  for (var u = j + ${M}u; u < ${U}u; u += ${M}u) { m = max(m, ${keyV}(x[base + u])); }\n` +
      (V === 4 ? `  mx[i] = max(max(m.x, m.y), max(m.z, m.w));\n}\n` : `  mx[i] = m;\n}\n`),
    bindings: [{ buf: X, write: false }, { buf: MX, write: true }, { buf: DIM, write: true }],
    workgroups: perChunk.workgroups,
  };

  // one thread per row: the largest T with #(maxima ≥ T) ≥ k (= the k-th largest maximum),
  // bit by bit from the top; 32 × M loads per row at most, and the count stops at k
  const threshold = {
    label: "topk.threshold",
    wgsl: buf(0, "mx", "u32", "read") + buf(1, "thr", "u32", "read_write") + buf(2, "cnt", "u32", "read_write") +
      dimsDecl(3) +
      perRow.head +
      `  let row = i * ${M}u; let M = dims[0]; var T = 0u;\n` +
      `  for (var b = dims[3]; b > 0u; b--) {\n` +
      `    let probe = T | (1u << (b - 1u)); var n = 0u;\n` +
      `    for (var t = 0u; t < M && n < ${K}u; t++) { n += select(0u, 1u, mx[row + t] >= probe); }\n` +
      `    if (n >= ${K}u) { T = probe; }\n  }\n` +
      `  thr[i] = T; cnt[i] = 0u;\n}\n`,
    bindings: [{ buf: MX, write: false }, { buf: THR, write: true }, { buf: CNT, write: true }, {
      buf: DIM,
      write: false,
    }],
    workgroups: perRow.workgroups,
  };

  const append = (kk: string, col: string) =>
    `      let s = atomicAdd(&cnt[r], 1u);\n` +
    `      if (s < ${CAP}u) { let at = 2u * (r * ${CAP}u + s); cand[at] = ${kk}; cand[at + 1u] = ${col}; }\n`;
  const collect = {
    label: "topk.collect",
    wgsl: KEY_FNS + buf(0, "x", xType, "read") + buf(1, "thr", "u32", "read") +
      buf(2, "cnt", "atomic<u32>", "read_write") +
      buf(3, "cand", "u32", "read_write") + dimsDecl(4) + perChunk.head + rowChunk +
      `  let t = thr[r]; let U = dims[4]; let M = dims[0];\n` +
      `  for (var u = j; u < U; u += M) {\n` +
      (V === 4
        ? `    let k4 = key4(x[base + u]);\n    if (any(k4 >= vec4<u32>(t))) {\n` +
          `      for (var c = 0u; c < 4u; c++) {\n        if (k4[c] >= t) {\n` + append("k4[c]", "4u * u + c") +
          `        }\n      }\n    }\n`
        : `    let kk = key(x[base + u]);\n    if (kk >= t) {\n` + append("kk", "u") + `    }\n`) +
      `  }\n}\n`,
    bindings: [{ buf: X, write: false }, { buf: THR, write: false }, { buf: CNT, write: true }, {
      buf: CAND,
      write: true,
    }, { buf: DIM, write: false }],
    workgroups: perChunk.workgroups,
  };

  const fallback = {
    label: "topk.fallback",
    wgsl: KEY_FNS + buf(0, "x", "f32", "read") + buf(1, "cnt", "u32", "read_write") +
      buf(2, "cand", "u32", "read_write") + dimsDecl(3) +
      perRow.head +
      `  if (cnt[i] <= ${CAP}u) { return; }\n` +
      `  let base = i * ${C}u; let C = dims[1]; let bits = dims[3];\n` +
      // largest T with #(key ≥ T) ≥ k, bit by bit from the top; counting stops once it reaches k
      `  var T = 0u;\n` +
      `  for (var b = bits; b > 0u; b--) {\n` +
      `    let probe = T | (1u << (b - 1u)); var n = 0u;\n` +
      `    for (var col = 0u; col < C && n < ${K}u; col++) { n += select(0u, 1u, key(x[base + col]) >= probe); }\n` +
      `    if (n >= ${K}u) { T = probe; }\n  }\n` +
      // everything above T (fewer than k by maximality of T), then the first ties at T
      `  var gt = 0u;\n` +
      `  for (var col = 0u; col < C; col++) { gt += select(0u, 1u, key(x[base + col]) > T); }\n` +
      `  var ties = ${K}u - gt; var s = 0u;\n` +
      `  for (var col = 0u; col < C && s < ${K}u; col++) {\n` +
      `    let kk = key(x[base + col]);\n` +
      `    if (kk > T || (kk == T && ties > 0u)) {\n` +
      `      if (kk == T) { ties -= 1u; }\n` +
      `      let at = 2u * (i * ${CAP}u + s); cand[at] = kk; cand[at + 1u] = col; s += 1u;\n` +
      `    }\n  }\n` +
      `  cnt[i] = ${K}u;\n}\n`,
    bindings: [{ buf: X, write: false }, { buf: CNT, write: true }, { buf: CAND, write: true }, {
      buf: DIM,
      write: false,
    }],
    workgroups: perRow.workgroups,
  };

  // one workgroup of 64 per row; thread l ranks candidates l, l+64, …
  const WGR = 64, gx = Math.min(R, 65535), gy = Math.ceil(R / gx);
  const rank = {
    label: "topk.rank",
    wgsl: KEY_FNS + buf(0, "cnt", "u32", "read") + buf(1, "cand", "u32", "read") + buf(2, "y", "f32", "read_write") +
      dimsDecl(3) +
      `@compute @workgroup_size(${WGR})\n` +
      `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) l: u32, @builtin(num_workgroups) nwg: vec3<u32>) {\n` +
      `  let r = wid.x + wid.y * nwg.x;\n  if (r >= ${R}u) { return; }\n` +
      `  let n = min(cnt[r], dims[2]); let row = 2u * r * ${CAP}u;\n` +
      `  for (var s = l; s < n; s += ${WGR}u) {\n` +
      `    let mk = cand[row + 2u * s]; let mc = cand[row + 2u * s + 1u]; var rank = 0u;\n` +
      `    for (var t = 0u; t < n; t++) {\n` +
      `      let ok = cand[row + 2u * t]; let oc = cand[row + 2u * t + 1u];\n` +
      `      rank += select(0u, 1u, ok > mk || (ok == mk && oc < mc));\n    }\n` +
      `    if (rank < ${K}u) { y[r * ${2 * K}u + rank] = unkey(mk); y[r * ${2 * K}u + ${K}u + rank] = f32(mc); }\n` +
      `  }\n}\n`,
    bindings: [{ buf: CNT, write: false }, { buf: CAND, write: false }, { buf: OUT, write: true }, {
      buf: DIM,
      write: false,
    }],
    workgroups: [gx, gy, 1] as [number, number, number],
  };

  // with room for a whole row the candidate list cannot overflow: no fallback pass
  const passes = CAP >= C ? [chunkMax, threshold, collect, rank] : [chunkMax, threshold, collect, fallback, rank];
  return { temps: [R * M, R, R, 2 * R * CAP, 5], passes };
}

export const TOPK: Record<string, OpDef> = {
  topk: {
    kind: "kernel",
    shape: ([s, ...rest], attrs) => {
      if (!s || rest.length) throw new ShapeError("topk", `takes one input, got ${rest.length + (s ? 1 : 0)}`);
      const k = kOf(s, attrs);
      return [s[0], 2 * k];
    },
    cpu: cpuTopk,
    kernel: lower,
    doc:
      "topk(x [R, C], {k}) -> [R, 2k]: k largest per row (descending, ties by lower column), then their columns as f32",
  },
};

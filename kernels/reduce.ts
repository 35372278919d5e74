// Reductions over any set of axes: sum, mean, max (attrs {axes, keepdims}).
// The float64 references and VJPs are here; the WGSL lowering strategy is chosen per shape
// in reduceKernel (below) — one thread per output for short reductions, a two-pass split
// for long reductions with few outputs so that many threads participate.
import type { Tensor } from "./op.ts";
import { grid } from "./layout.ts";
import {
  type Attrs,
  type BufRef,
  type CpuArgs,
  DEFAULT_VARIANT,
  fmtShape,
  type KernelCtx,
  type Lowering,
  type OpDef,
  type Pass,
  type Shape,
  ShapeError,
  size,
  strides,
  type VariantChoice,
} from "./op.ts";

/** Validated, sorted, non-negative reduction axes of `attrs.axes` for an input of shape `s`. */
export function reduceAxes(op: string, s: Shape, attrs: Attrs): number[] {
  const raw = attrs.axes ?? s.map((_, i) => i);
  if (!Array.isArray(raw)) throw new ShapeError(op, `attrs.axes must be an array of axes, got ${JSON.stringify(raw)}`);
  const axes = raw.map((a) => {
    if (!Number.isInteger(a) || a < -s.length || a >= s.length) {
      throw new ShapeError(op, `axis ${a} out of range for rank ${s.length} input ${fmtShape(s)}`);
    }
    return a < 0 ? a + s.length : a;
  });
  if (new Set(axes).size !== axes.length) throw new ShapeError(op, `repeated axis in ${JSON.stringify(raw)}`);
  return axes.sort((a, b) => a - b);
}

/** Output shape of a reduction: reduced axes become 1 (keepdims) or disappear. */
function reduceShape(op: string, s: Shape, attrs: Attrs): number[] {
  const axes = reduceAxes(op, s, attrs);
  return attrs.keepdims ? s.map((d, i) => (axes.includes(i) ? 1 : d)) : s.filter((_, i) => !axes.includes(i));
}

/** The input shape with reduced axes set to 1: the shape a reduction's cotangent is broadcast from. */
const keptShape = (s: Shape, axes: number[]) => s.map((d, i) => (axes.includes(i) ? 1 : d));

/**
 * Float64 reduction: out[o] = fold over the input elements mapping to output o. The output
 * index of an input element is its index with reduced coordinates dropped.
 */
function cpuReduce(a: CpuArgs, init: number, f: (acc: number, x: number) => number): Float64Array {
  const s = a.inShapes[0];
  const axes = reduceAxes("reduce", s, a.attrs);
  const ks = keptShape(s, axes), kst = strides(ks), ist = strides(s);
  const out = new Float64Array(size(a.out)).fill(init);
  const x = a.ins[0];
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let ax = 0; ax < s.length; ax++) if (ks[ax] !== 1) o += (Math.floor(i / ist[ax]) % s[ax]) * kst[ax];
    out[o] = f(out[o], x[i]);
  }
  return out;
}

/** g (reduction output) → the input shape, by reshaping to keepdims form then broadcasting. */
function spread(g: Tensor, inShape: Shape, axes: number[]): Tensor {
  const kept = g.reshape(keptShape(inShape, axes));
  return kept.op("broadcast", [], { shape: [...inShape] });
}

/** reductions smaller than this keep the op's own split (timing would cost more than it saves) */
export const LARGE_REDUCTION = 1 << 20;

/** A large reduction's entry for the autotuner: its split, timed (DEFAULT_VARIANT: chosen by shape). */
const REDUCE_CHOICE: VariantChoice = {
  candidates: (_t, precision) =>
    precision === "f16" ? [] : [DEFAULT_VARIANT, "single", "split8", "split32", "split128", "split512"],
  fallback: () => DEFAULT_VARIANT,
  worthTuning: ([x]) => size(x) >= LARGE_REDUCTION,
};

function reduction(name: string, kind: "sum" | "mean" | "max"): OpDef {
  return {
    kind: "kernel",
    shape: ([s], attrs) => reduceShape(name, s, attrs),
    cpu: (a) => {
      if (kind === "max") return cpuReduce(a, -Infinity, (m, x) => (x > m || Number.isNaN(x) ? x : m));
      const r = cpuReduce(a, 0, (acc, x) => acc + x);
      if (kind === "mean") {
        const n = size(a.inShapes[0]) / Math.max(1, r.length);
        for (let i = 0; i < r.length; i++) r[i] /= n;
      }
      return r;
    },
    vjp: ({ g, ins: [x], out, attrs }) => {
      const axes = reduceAxes(name, x.shape, attrs);
      if (kind === "sum") return [spread(g, x.shape, axes)];
      const n = axes.reduce((p, ax) => p * x.shape[ax], 1);
      if (kind === "mean") return [spread(g.mul(1 / n), x.shape, axes)];
      // max: the gradient goes to the positions equal to the max, split equally among ties
      // (the subgradient that keeps max(x, x) symmetric; torch.amax does the same).
      const hit = x.eq(spread(out, x.shape, axes));
      const ties = hit.sum(axes, true);
      return [hit.mul(spread(g, x.shape, axes)).div(ties)];
    },
    kernel: (c) => reduceKernel(kind, c),
    variants: REDUCE_CHOICE,
    doc: `${name}(x, {axes, keepdims}): ${kind} over the given axes`,
  };
}

export const REDUCE: Record<string, OpDef> = {
  sum: reduction("sum", "sum"),
  mean: reduction("mean", "mean"),
  max: reduction("max", "max"),
};

// ---- WGSL lowering -------------------------------------------------------------------------
//
// The input is seen as groups of consecutive axes that are all reduced or all kept (size-1
// axes dropped), so e.g. a sum over axis 0 of [256, 2048] is "reduced 256 (stride 2048),
// kept 2048 (stride 1)". Output o and reduced index r then address x[base(o) + roff(r)].
//
// When the innermost group has a multiple of 4 elements the kernel works in vec4 units: along
// the reduction (row sums, full sums: 4 partial sums per thread) or along the outputs
// (column sums: 4 outputs per thread). On lavapipe every storage load is a per-lane scalar
// load costing ~20 FMAs, so a vec4 load moves 4× the data for the same price.
//
// Strategy per shape (no barriers, no atomics, deterministic):
//  - single: one thread per output unit loops over all R reduced units. Used when R is at
//    most SINGLE_PASS_MAX_R units (a batch of 256 rows: BN statistics, bias gradients) or
//    there are enough outputs to occupy the device.
//  - split P: pass 1 runs P·O threads; thread (p, o) folds the contiguous chunk p of the
//    reduction into tmp[p·O + o]; pass 2 folds the P partials of each output. Contiguous
//    chunks stream through memory (strided chunks thrashed lavapipe's caches and TLB: 3×
//    slower on a full sum of 2048²). The split is also a two-level blocked sum, which keeps
//    the f32 error near (R/P + P)·ε instead of R·ε.
//
// Measured on lavapipe (2 Zen 4 cores shared with other jobs, so ±3×; best of 3 × 10
// steps), 2048² f32: full sum 124 ms with one thread → 2.4–3.6 ms; column sums 106 ms with
// a scalar thread per column → 3.1 ms; row sums 22 ms scalar → 3.4–11 ms vec4.
// [256, 2048] summed over the batch: 0.42 ms. Later, same-session A/B of 16 batch sums each
// (medians, shared cores): [256, 1024] 0.48 ms in one pass vs 0.73–0.81 ms split 2–4 ways;
// [256, 2048] 0.64 vs 0.90–0.96 ms; [512, 2048] 0.89 vs 1.18–1.33 ms. The second dispatch
// and its barrier cost more than the parallelism gives at these lengths.

/** enough threads to fill a GPU; lavapipe saturates far earlier */
const TARGET_THREADS = 16384;
/** below this many units per thread a split costs more than it gives */
const MIN_CHUNK = 64;
/** reductions this short (in units) always run in one pass */
const SINGLE_PASS_MAX_R = 1024;
const MAX_PARTIALS = 1024;

interface Group {
  n: number;
  stride: number;
}
/** Reduced and kept axis groups of `s` with their input strides. */
export function reduceGroups(s: Shape, axes: number[]): { red: Group[]; kept: Group[] } {
  const st = strides(s);
  const red: Group[] = [], kept: Group[] = [];
  let last: "red" | "kept" | null = null;
  s.forEach((d, i) => {
    if (d === 1) return;
    const kind = axes.includes(i) ? "red" : "kept";
    const list = kind === "red" ? red : kept;
    // consecutive axes of one kind (ignoring size-1 axes) are one contiguous group
    if (kind === last) list[list.length - 1] = { n: list[list.length - 1].n * d, stride: st[i] };
    else list.push({ n: d, stride: st[i] });
    last = kind;
  });
  return { red, kept };
}

export interface ReducePlan {
  /** groups in units (vec4 units when vec !== "none": strides / 4, innermost n / 4) */
  red: Group[];
  kept: Group[];
  vec: "none" | "red" | "kept";
  /** reduced units per output unit, and output units */
  r: number;
  o: number;
}
/** The unit layout of a reduction of shape `s` over `axes` (see the notes above). */
export function reducePlan(s: Shape, axes: number[], allowVec = true): ReducePlan {
  const { red, kept } = reduceGroups(s, axes);
  const inner = (g: Group[]) => g.length > 0 && g[g.length - 1].stride === 1 && g[g.length - 1].n % 4 === 0;
  const vec = !allowVec ? "none" : inner(red) ? "red" : inner(kept) ? "kept" : "none";
  // every stride is a multiple of the innermost group's size, so all of them divide by 4
  const units = (g: Group[]) =>
    vec === "none" ? g : g.map((x) => (x.stride === 1 ? { n: x.n / 4, stride: 1 } : { n: x.n, stride: x.stride / 4 }));
  const r = red.reduce((a, g) => a * g.n, 1), o = kept.reduce((a, g) => a * g.n, 1);
  return {
    red: units(red),
    kept: units(kept),
    vec,
    r: vec === "red" ? r / 4 : r,
    o: vec === "kept" ? o / 4 : o,
  };
}

/** WGSL u32 offset Σ coord_g · stride_g of the flat index `v` over groups (row-major). */
function offsetExpr(v: string, groups: Group[]): string {
  if (!groups.length) return "0u";
  let after = 1;
  const terms: string[] = [];
  for (let k = groups.length - 1; k >= 0; k--) {
    const { n, stride } = groups[k];
    let c = after === 1 ? v : `(${v} / ${after}u)`;
    if (k > 0) c = `(${c} % ${n}u)`;
    terms.push(stride === 1 ? c : `${c} * ${stride}u`);
    after *= n;
  }
  return `(${terms.reverse().join(" + ")})`;
}

/** how values combine; every fold starts from its first element, so max needs no -inf literal */
const COMB = {
  sum: (a: string, v: string) => `${a} + ${v}`,
  mean: (a: string, v: string) => `${a} + ${v}`,
  max: (a: string, v: string) => `max(${a}, ${v})`,
};
/** fold of the 4 lanes of a vec4 accumulator */
const HORIZONTAL = {
  sum: (a: string) => `dot(${a}, vec4<f32>(1.0))`,
  mean: (a: string) => `dot(${a}, vec4<f32>(1.0))`,
  max: (a: string) => `max(max(${a}.x, ${a}.y), max(${a}.z, ${a}.w))`,
};

/**
 * A reduction variant name: "single" or "split<P>" (undefined: chosen by shape), optionally
 * prefixed "scalar-", or just "scalar": f32 loads even where vec4 loads would do.
 */
export function parseReduceVariant(variant: string | undefined): { allowVec: boolean; split: string | undefined } {
  return { allowVec: variant?.startsWith("scalar") !== true, split: variant?.replace(/^scalar-?/, "") || undefined };
}

/** Number of partials P for a reduction of R units into O output units (1 = single pass). */
export function reduceSplit(o: number, r: number, variant?: string): number {
  if (variant === "single" || (variant === undefined && r <= SINGLE_PASS_MAX_R)) return 1;
  const m = variant?.match(/^split(\d+)$/);
  const want = m ? Number(m[1]) : Math.min(Math.floor(TARGET_THREADS / o), Math.ceil(r / MIN_CHUNK), MAX_PARTIALS);
  // equal contiguous chunks, none empty
  const p = Math.max(1, Math.min(want, r));
  return Math.ceil(r / Math.ceil(r / p));
}

export type ReduceKind = "sum" | "mean" | "max";
/** the reduction ops (the compiler can compute their input inside their loop) */
export const REDUCTIONS: ReadonlySet<string> = new Set<ReduceKind>(["sum", "mean", "max"]);

/**
 * Where a reduction reads its values: the WGSL declared before its first pass (storage bindings,
 * helper functions), how to load the element at a flat source offset, and the bindings the first
 * pass reads. The plain kernel loads `x[off]` (vec4 when the plan vectorizes); the compiler's fused
 * reductions call a prologue `pro(off)` computed from several inputs (compiler/codegen_reduce.ts).
 */
export interface ReductionSource {
  decls: string;
  /** WGSL lines run once per invocation before the loop (values `load` expressions may use) */
  setup?: string;
  load(offset: string): string;
  /** the first pass's input bindings, in order; its output binding comes next */
  bindings: Pass["bindings"];
  /** the first pass reads per-step scalars */
  uniform?: boolean;
  /** label of the first pass (the second is labelled by `kind`) */
  label: string;
}

/**
 * The one reduction strategy, for every source: one thread per output when the plan's split P
 * is 1, else P partials per output (pass 1) folded by a second pass. Every fold starts from its
 * first element, so max needs no -inf literal.
 */
export function reductionLowering(
  kind: ReduceKind,
  plan: ReducePlan,
  p: number,
  count: number,
  src: ReductionSource,
): Lowering {
  return siblingReductionLowering([{ kind, count, load: src.load }], plan, p, src);
}

/** One of several reductions of one layout computed by one kernel (its own fold and loads). */
export interface SiblingReduction {
  kind: ReduceKind;
  /** reduced elements per output (the divisor of a mean) */
  count: number;
  load(offset: string): string;
  /**
   * Folded after the other members are stored (single pass only): its loads may read their
   * outputs at this invocation's output index (`siblingOutput(j, k)[o]`, BatchNorm's variance
   * centred on the mean); `setup`: its own lines run before its loop.
   */
  after?: { setup: string };
}

/** WGSL name of output j of a kernel of k sibling reductions (its array, indexed by the output index `o`). */
export const siblingOutput = (j: number, k: number) => `y${k === 1 ? "" : j}`;

/**
 * Elementwise work on the outputs, done where they are written (after the fold): WGSL lines run
 * per output index `i` once every output j is stored at `i`, reading them back and `reads`
 * (declared from binding `first` on, then the epilogue's own `outs` outputs, which follow the
 * reductions' outputs).
 */
export interface ReductionEpilogue {
  /** `y(j)`: the WGSL name of output j's array; `inline`: in the module of the source's decls */
  code(first: number, y: (j: number) => string, inline: boolean): { decls: string; lines: string };
  reads: BufRef[];
  outs: number;
  uniform: boolean;
  label: string;
}

/**
 * Several reductions of the same layout and split in one kernel: each output j has its own
 * accumulator, fold and loads (sharing the source's bindings and setup), and each folds its
 * values in exactly the order it would alone, so its result is the same. Output 0 is the
 * kernel's output ({kind: "out"}), output j > 0 is {kind: "out", i: j}; with a split, pass 1
 * writes the partials of output j to section j of one temporary. One output: the plain kernel.
 * An epilogue (outputs j ≥ outs.length) runs in the pass that writes the outputs.
 */
export function siblingReductionLowering(
  outs: SiblingReduction[],
  plan: ReducePlan,
  p: number,
  src: Omit<ReductionSource, "load">,
  epilogue?: ReductionEpilogue,
): Lowering {
  const { o, r, vec } = plan;
  const k = outs.length;
  // one output keeps the plain kernel's names (acc, y); several are numbered
  const sfx = (j: number) => (k === 1 ? "" : String(j));
  const tOut = vec === "kept" ? "vec4<f32>" : "f32";
  const h = (j: number, a: string) => (vec === "red" ? HORIZONTAL[outs[j].kind](a) : a);
  const fin = (j: number, a: string) => (outs[j].kind === "mean" ? `${a} / ${outs[j].count}.0` : a);
  const load = (j: number, ri: string) => outs[j].load(`b + ${offsetExpr(ri, plan.red)}`);
  const base = offsetExpr("o", plan.kept);
  const nIn = src.bindings.length;
  const setup = src.setup ? src.setup + "\n" : "";
  const decl = (at: number, name: string) =>
    `@group(0) @binding(${at}) var<storage, read_write> ${name}: array<${tOut}>;\n`;
  const outRef = (j: number): BufRef => (j === 0 ? { kind: "out" } : { kind: "out", i: j });
  const each = (line: (j: number, acc: string) => string) => outs.map((_, j) => line(j, `acc${sfx(j)}`)).join("");
  const first = (dsts: BufRef[], workgroups: [number, number, number], label: string, wgsl: string): Pass => ({
    label,
    wgsl,
    uniform: src.uniform ?? false,
    bindings: [...src.bindings, ...dsts.map((buf) => ({ buf, write: true }))],
    workgroups,
  });

  // the epilogue's reads and outputs follow the outputs of the pass that writes them
  const epi = (first: number, inline: boolean) => {
    if (!epilogue) return { decls: "", lines: "", bindings: [] };
    const { decls, lines } = epilogue.code(first, (j) => `y${sfx(j)}`, inline);
    const bindings = [
      ...epilogue.reads.map((buf) => ({ buf, write: false })),
      ...Array.from({ length: epilogue.outs }, (_, e) => ({ buf: outRef(k + e), write: true })),
    ];
    return { decls, lines, bindings };
  };
  const epiUniform = (pass: Pass): Pass => (epilogue?.uniform ? { ...pass, uniform: true } : pass);
  if (epilogue && vec === "kept") throw new Error("reduction epilogue: outputs in vec4 units are not supported");

  if (p === 1) {
    const g = grid(o);
    const e = epi(nIn + k, true);
    // the members folded first, then those reading their outputs (`after`)
    const stage = (after: boolean) => {
      const js = outs.flatMap((x, j) => (!!x.after === after ? [j] : []));
      if (!js.length) return "";
      const some = (line: (j: number, acc: string) => string) => js.map((j) => line(j, `acc${sfx(j)}`)).join("");
      return some((j) => outs[j].after ? outs[j].after!.setup + "\n" : "") +
        some((j, acc) => `  var ${acc} = ${load(j, "0u")};\n`) +
        `  for (var r = 1u; r < ${r}u; r++) {${
          some((j, acc) => `${k === 1 ? "" : "\n   "} ${acc} = ${COMB[outs[j].kind](acc, load(j, "r"))};`)
        }${k === 1 ? " " : "\n  "}}\n` +
        some((j, acc) => `  ${siblingOutput(j, k)}[o] = ${fin(j, h(j, acc))};\n`);
    };
    const wgsl = src.decls + outs.map((_, j) => decl(nIn + j, siblingOutput(j, k))).join("") + e.decls + g.head +
      `  let o = i; let b = ${base};\n` + setup + stage(false) + stage(true) + e.lines + `}\n`;
    const pass = first(outs.map((_, j) => outRef(j)), g.workgroups, src.label, wgsl);
    pass.bindings.push(...e.bindings);
    return { passes: [epiUniform(pass)] };
  }
  if (outs.some((x) => x.after)) throw new Error("sibling reductions: a member folded after the others needs one pass");
  const chunk = Math.ceil(r / p), g1 = grid(p * o), g2 = grid(o);
  // when the reduction is innermost, neighbouring threads take neighbouring chunks of one
  // row so a subgroup streams through contiguous memory; otherwise neighbouring outputs
  const innerRed = plan.red.length > 0 && plan.red[plan.red.length - 1].stride === 1;
  // the partials of output j start at j·P·O in the temporary
  const section = (j: number) => (j === 0 ? "" : `${j * p * o}u + `);
  const pass1 = src.decls + decl(nIn, "t") + g1.head +
    (innerRed ? `  let p = i % ${p}u; let o = i / ${p}u;` : `  let p = i / ${o}u; let o = i % ${o}u;`) +
    ` let b = ${base};\n` + setup +
    `  let r0 = p * ${chunk}u; let r1 = min(r0 + ${chunk}u, ${r}u);\n` +
    each((j, acc) => `  var ${acc} = ${load(j, "r0")};\n`) +
    `  for (var r = r0 + 1u; r < r1; r++) {${
      each((j, acc) => `${k === 1 ? "" : "\n   "} ${acc} = ${COMB[outs[j].kind](acc, load(j, "r"))};`)
    }${k === 1 ? " " : "\n  "}}\n` +
    each((j, acc) => `  t[${section(j)}p * ${o}u + o] = ${h(j, acc)};\n`) + `}\n`;
  const e2 = epi(1 + k, false);
  const pass2 = `@group(0) @binding(0) var<storage, read> x: array<${tOut}>;\n` +
    outs.map((_, j) => decl(1 + j, `y${sfx(j)}`)).join("") + e2.decls + g2.head +
    each((j, acc) =>
      `  var ${acc} = x[${section(j)}i];\n` +
      `  for (var q = 1u; q < ${p}u; q++) { ${acc} = ${COMB[outs[j].kind](acc, `x[${section(j)}q * ${o}u + i]`)}; }\n` +
      `  y${sfx(j)}[i] = ${fin(j, acc)};\n`
    ) + e2.lines + `}\n`;
  const kinds = [...new Set(outs.map((x) => x.kind))].join("+");
  return {
    temps: [k * p * o * (vec === "kept" ? 4 : 1)],
    passes: [
      first([{ kind: "tmp", i: 0 }], g1.workgroups, `${src.label} pass 1/2 (${p} partials)`, pass1),
      epiUniform({
        label: `${kinds} pass 2/2${epilogue ? ` + ${epilogue.label}` : ""}`,
        wgsl: pass2,
        bindings: [
          { buf: { kind: "tmp", i: 0 }, write: false },
          ...outs.map((_, j) => ({ buf: outRef(j), write: true })),
          ...e2.bindings,
        ],
        workgroups: g2.workgroups,
      }),
    ],
  };
}

function reduceKernel(kind: ReduceKind, c: KernelCtx): Lowering {
  const s = c.inShapes[0], axes = reduceAxes(kind, s, c.attrs);
  const v = parseReduceVariant(c.variant);
  const plan = reducePlan(s, axes, v.allowVec);
  const tIn = plan.vec === "none" ? "f32" : "vec4<f32>";
  return reductionLowering(kind, plan, reduceSplit(plan.o, plan.r, v.split), size(s) / size(c.outShape), {
    decls: `@group(0) @binding(0) var<storage, read> x: array<${tIn}>;\n`,
    load: (off) => `x[${off}]`,
    bindings: [{ buf: { kind: "in", i: 0 }, write: false }],
    label: kind,
  });
}

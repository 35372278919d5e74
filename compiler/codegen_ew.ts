// Generates WGSL for fused elementwise groups (compiler/group.ts): the members become
// let-bindings evaluated per element, the materialised inputs are loaded with broadcasting,
// and whatever does not depend on the element (consts, step scalars, single-value inputs and
// ops of those) is evaluated once per invocation, before the element loop. The same emitter
// serves a stand-alone elementwise kernel and the prologue of a fused reduction
// (compiler/codegen_reduce.ts).
//
// Vector path: when every input can be read four consecutive elements at a time (see
// loadMode), an invocation handles vec4s: one vec4 load per full-size input, four lanes of the
// members' scalar expressions (so every op's WGSL works unchanged, index-reading ops included),
// one vec4 store. On lavapipe a storage access costs about the same whatever its width, and
// so does the per-invocation loop around it: a vec4 per access and a 128-byte block per
// invocation measured about 2× the bandwidth of one f32 per access (bench/elementwise.ts).
import type { Graph } from "../ir/graph.ts";
import {
  type EwCtx,
  type Pass,
  type Relayout,
  type Shape,
  size,
  UNIFORM_DECL,
  wgslBroadcastIndex,
} from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { foldWorkgroups } from "../kernels/wgsl/workgroups.ts";
import {
  type GroupView,
  isRepeatedSuffix,
  type LoadMode,
  loadMode,
  repeatRun,
  usesElementIndex,
  walkGroup,
} from "./group.ts";
import { baseOf } from "./values.ts";

export const EW_WORKGROUP = 64;
/**
 * Elements per invocation on the scalar path, lane-interleaved so that neighbouring
 * invocations touch neighbouring memory. With one element per invocation llvmpipe's
 * per-workgroup overhead dominated.
 */
export const EW_PER_THREAD = 8;
/**
 * vec4s per invocation, consecutive: on lavapipe a contiguous 128-byte block per invocation
 * measured 1.2–1.4× faster than the same vec4s interleaved across invocations.
 */
export const EW_VEC4_PER_THREAD = 8;
/**
 * The fewest vec4s per invocation worth taking instead of EW_VEC4_PER_THREAD so that an
 * invocation stays inside one run of every per-channel input (see kernelLayout).
 */
const MIN_SPLAT_RUN_PER_THREAD = 4;
/** rows of one column per invocation in the rows layout */
export const EW_ROWS_PER_THREAD = 8;

export type ScalarIndex = (name: string, type: "f32" | "u32") => number;

const LANES = ["x", "y", "z", "w"];

/**
 * How a kernel walks its elements. scalar: one element at flat index `i`. vec: one vec4 at
 * vec4 index `v` (flat index `e` = 4v). rows: the vec path over a [rows, period] view of the
 * elements, one column `c` (in vec4s) per invocation and several rows: inputs that repeat with
 * that period ([1, C] against [N, C]) are loaded once per invocation.
 */
export type EwLayout =
  | { kind: "scalar" }
  /**
   * `splatRun` (if set) consecutive vec4s per invocation, else EW_VEC4_PER_THREAD; with it each
   * invocation's elements lie in one run of every splat input, loaded once per invocation
   */
  | { kind: "vec"; splatRun?: number }
  | { kind: "rows"; period: number };

export interface EmittedGroup {
  /** storage declarations of the bound inputs (bindings 0..k-1) */
  decls: string[];
  /** lines evaluated once per invocation (they may use `c` in the rows layout) */
  hoisted: string[];
  /** f32 names defined by `hoisted` that do not depend on the element (for helper parameters) */
  invariantNames: string[];
  /** lines computing one unit of the layout; `value` is its f32 or vec4<f32> expression */
  lines: string[];
  value: string;
  /** the expressions of the further values the kernel writes (GroupEmitOptions.alsoWrites), in order */
  alsoValues: string[];
  /** node ids bound as inputs, in binding order (deduplicated by storage) */
  inputs: number[];
  scalars: Set<string>;
  libs: Set<string>;
  /** ops evaluated inside (for labels) */
  ops: string[];
}

/** Can every input of the group computing `top` (over elements of `shape`) be read by vec4? */
export function vectorizable(g: Graph, top: number, plan: GroupView, shape: Shape): boolean {
  return walkGroup(g, top, plan).loads.every((id) => loadMode(shape, g.nodes[id].shape) !== "scalar");
}

/**
 * The layout of a stand-alone kernel: rows when some vec4 input repeats along the leading axes;
 * else vec, with splat inputs (a BatchNorm's per-channel [1, C, 1, 1] against [N, C, H, W]) read
 * once per invocation when a vec4 count of 4–8 divides all their runs (H·W/4: 196 at 28×28 gives
 * 7). On lavapipe each splat load is a gather with its own index arithmetic; a BatchNorm apply +
 * ReLU at 28×28 ran 1.45× faster with its four per-channel loads taken once per 7 vec4s.
 */
export function kernelLayout(g: Graph, top: number, plan: GroupView, shape: Shape): EwLayout {
  if (!vectorizable(g, top, plan, shape)) return { kind: "scalar" };
  let period = 0, runs = 0;
  for (const id of walkGroup(g, top, plan).loads) {
    const s = g.nodes[id].shape, mode = loadMode(shape, s);
    if (mode === "vec" && isRepeatedSuffix(shape, s)) period = Math.max(period, size(s));
    if (mode === "splat") runs = gcd(runs, repeatRun(shape, s) / 4);
  }
  if (period) return { kind: "rows", period };
  for (let per = EW_VEC4_PER_THREAD; runs && per >= MIN_SPLAT_RUN_PER_THREAD; per--) {
    if (runs % per === 0) return { kind: "vec", splatRun: per };
  }
  return { kind: "vec" };
}

const gcd = (a: number, b: number): number => b ? gcd(b, a % b) : a;

/** What emitGroup emits: a group of a graph, where its buffers live, and how the kernel walks its elements. */
export interface GroupEmitOptions {
  g: Graph;
  /** the node the group computes */
  top: number;
  plan: GroupView;
  /** storage of a materialised node */
  storageOf: (id: number) => number;
  scalarIndex: ScalarIndex;
  /** the kernel's output storage: an input sharing it (an in-place update) is read through `out`, not bound twice */
  outStorage?: number;
  /** further values the kernel writes (compiler/co_outputs.ts), to `out1`, `out2`, …; their storages likewise */
  alsoWrites?: { id: number; storage: number }[];
  /** the kernel's element shape */
  shape: Shape;
  /** how the caller walks the elements (vec layouts need `vectorizable`) */
  layout: EwLayout;
  /** materialised nodes read as a single value per invocation from a WGSL expression, not bound */
  given?: ReadonlyMap<number, string>;
  /**
   * materialised nodes whose element, for every element this invocation reads, is the one at the
   * reduction's output index `o` (a BatchNorm's per-channel parameters in its per-channel sums:
   * compiler/codegen_reduce.ts): bound, and loaded once per invocation
   */
  perOutput?: ReadonlySet<number>;
}

/** Emits the group computing node `top` over elements of `shape`: bindings, then values level by level. */
export function emitGroup(o: GroupEmitOptions): EmittedGroup {
  const { members, uniforms, loads } = walkGroup(o.g, o.top, o.plan);
  checkLoadsAreF32(o.g, o.top, loads);
  const outs = new Map<number, string>((o.alsoWrites ?? []).map((w, k) => [w.storage, `out${k + 1}`]));
  if (o.outStorage !== undefined) outs.set(o.outStorage, "out");
  const { bound, bufOf } = bindInputs(loads.filter((l) => !o.given?.has(l)), o.storageOf, outs);
  const ops = opEmitter(o.g, o.scalarIndex);
  const e = newEmission(o, loads);
  hoistUniforms(e, uniforms, ops);
  emitLoads(e, loads, bufOf);
  emitMembers(e, members, ops);
  const valueOf = (id: number) =>
    e.vec ? `vec4<f32>(${e.lanes.map((l) => argOf(e, id, l)).join(", ")})` : argOf(e, id, 0);
  const elem = e.vec ? "vec4<f32>" : "f32";
  return {
    decls: bound.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${elem}>;`),
    hoisted: e.hoisted,
    invariantNames: e.invariantNames,
    lines: e.lines,
    value: valueOf(o.top),
    alsoValues: (o.alsoWrites ?? []).map((w) => valueOf(w.id)),
    inputs: bound,
    scalars: ops.scalars,
    libs: ops.libs,
    ops: members.map((m) => o.g.nodes[m].op),
  };
}

/** Elementwise ops read f32: a load from a buffer of another type (image bytes) is a compile error. */
function checkLoadsAreF32(g: Graph, top: number, loads: number[]): void {
  for (const id of loads) {
    const base = g.nodes[baseOf(g, id)];
    const dtype = base.attrs.dtype;
    if (dtype !== undefined && dtype !== "f32") {
      throw new Error(
        `compile: elementwise kernel '${g.nodes[top].op}'${g.nodes[top].label ? ` @ ${g.nodes[top].label}` : ""} ` +
          `reads ${base.op} '${base.attrs.name}' of type ${dtype}; elementwise ops read f32 only`,
      );
    }
  }
}

/** One binding per storage read (`in0`, `in1`, … in order; an output's own name for an output's storage). */
function bindInputs(loads: number[], storageOf: (id: number) => number, outs: ReadonlyMap<number, string>) {
  const bindingOfStorage = new Map<number, string>();
  const bound: number[] = [];
  for (const id of loads) {
    const s = storageOf(id);
    if (outs.has(s)) bindingOfStorage.set(s, outs.get(s)!);
    else if (!bindingOfStorage.has(s)) {
      bindingOfStorage.set(s, `in${bound.length}`);
      bound.push(id);
    }
  }
  return { bound, bufOf: (id: number) => bindingOfStorage.get(storageOf(id))! };
}

/** Each op's WGSL expression from the op table, recording the step scalars and libraries it uses. */
function opEmitter(g: Graph, scalarIndex: ScalarIndex) {
  const scalars = new Set<string>();
  const libs = new Set<string>();
  const scalar = (name: string) => (scalars.add(name), `stepF32(${scalarIndex(name, "f32")}u)`);
  const scalarU32 = (name: string) => (scalars.add(name), `stepU32(${scalarIndex(name, "u32")}u)`);
  const wgslOf = (id: number, args: string[], idx: string) => {
    const node = g.nodes[id];
    const def = OPS[node.op];
    if (def.lib) libs.add(def.lib);
    const ctx: EwCtx = { idx, outShape: node.shape, attrs: node.attrs, scalar, scalarU32 };
    return def.ew!(args, ctx);
  };
  return { scalars, libs, wgslOf };
}
type OpEmitter = ReturnType<typeof opEmitter>;

/**
 * Each value is evaluated at one of three levels: once per invocation (invariant), once per
 * column of the rows layout or per splat run of the vec layout (per lane), or per element. The
 * emission so far: each value's level and the lines at the invocation level (`hoisted`) and the
 * element level (`lines`).
 */
type Level = "invariant" | "column" | "element";
interface Emission {
  o: GroupEmitOptions;
  vec: boolean;
  /** the lanes of one unit of the layout: four on the vec paths */
  lanes: number[];
  loadModes: Map<number, LoadMode>;
  level: Map<number, Level>;
  hoisted: string[];
  lines: string[];
  invariantNames: string[];
}

function newEmission(o: GroupEmitOptions, loads: number[]): Emission {
  const vec = o.layout.kind !== "scalar";
  return {
    o,
    vec,
    lanes: vec ? [0, 1, 2, 3] : [0],
    loadModes: new Map<number, LoadMode>(
      loads.map((id) => [id, o.given?.has(id) ? "one" : loadMode(o.shape, o.g.nodes[id].shape)]),
    ),
    level: new Map<number, Level>(),
    hoisted: [],
    lines: [],
    invariantNames: [],
  };
}

/** The WGSL name of value `id` in lane `lane`. */
function argOf(e: Emission, id: number, lane: number): string {
  const l = e.level.get(id)!;
  const mode = e.loadModes.get(id);
  if (l === "invariant") return mode ? `a${id}` : e.o.plan.uniformValue.has(id) ? `u${id}` : `h${id}`;
  if (mode) return e.vec && mode !== "splat" ? `a${id}.${LANES[lane]}` : `a${id}`;
  return `${l === "column" ? "c" : "v"}${id}${e.vec ? `_${lane}` : ""}`;
}

/** Values that depend on nothing but consts and step scalars: once per invocation. */
function hoistUniforms(e: Emission, uniforms: number[], ops: OpEmitter): void {
  const { g } = e.o;
  for (const id of uniforms) {
    e.level.set(id, "invariant");
    e.hoisted.push(`  let u${id} = ${ops.wgslOf(id, g.nodes[id].inputs.map((i) => argOf(e, i, 0)), "0u")};`);
    e.invariantNames.push(`u${id}`);
  }
}

/** The loads of the materialised inputs, broadcast to the kernel's elements as their load mode says. */
function emitLoads(e: Emission, loads: number[], bufOf: (id: number) => string): void {
  const { g, shape, layout } = e.o;
  for (const id of loads) {
    const inShape = g.nodes[id].shape, buf = bufOf(id);
    const mode = e.loadModes.get(id)!;
    const given = e.o.given?.get(id);
    // a splat: the one input element of flat element `at`, for all four lanes
    const splat = (at: string) => [
      `  let j${id} = ${wgslBroadcastIndex(at, shape, inShape)};`,
      `  let a${id} = ${buf}[j${id} / 4u][j${id} % 4u];`,
    ];
    if (given !== undefined) {
      e.level.set(id, "invariant");
      e.hoisted.push(`  let a${id} = ${given};`);
      e.invariantNames.push(`a${id}`);
    } else if (e.o.perOutput?.has(id)) {
      e.level.set(id, "invariant");
      e.hoisted.push(`  let a${id} = ${buf}[${e.vec ? "o / 4u][o % 4u" : "o"}];`);
      e.invariantNames.push(`a${id}`);
    } else if (mode === "one") {
      e.level.set(id, "invariant");
      e.hoisted.push(`  let a${id} = ${buf}[0u]${e.vec ? ".x" : ""};`);
      e.invariantNames.push(`a${id}`);
    } else if (!e.vec) {
      e.level.set(id, "element");
      e.lines.push(`  let a${id} = ${buf}[${wgslBroadcastIndex("i", shape, inShape)}];`);
    } else if (mode === "same") {
      e.level.set(id, "element");
      e.lines.push(`  let a${id} = ${buf}[v];`);
    } else if (mode === "vec" && layout.kind === "rows" && isRepeatedSuffix(shape, inShape)) {
      e.level.set(id, "column");
      const period = size(inShape) / 4;
      e.hoisted.push(`  let a${id} = ${buf}[${period === layout.period / 4 ? "c" : `c % ${period}u`}];`);
    } else if (mode === "splat" && layout.kind === "vec" && layout.splatRun) {
      // the invocation's first element stands for all of them (kernelLayout)
      e.level.set(id, "column");
      e.hoisted.push(...splat(`(t * ${4 * layout.splatRun}u)`));
    } else if (mode === "vec") {
      e.level.set(id, "element");
      e.lines.push(`  let a${id} = ${buf}[${wgslBroadcastIndex("e", shape, inShape)} / 4u];`);
    } else if (mode === "pair") {
      // lanes past the end of element e's run take the next input element
      const run = repeatRun(shape, inShape);
      e.level.set(id, "element");
      e.lines.push(`  let j${id} = ${wgslBroadcastIndex("e", shape, inShape)}; let ro${id} = e % ${run}u;`);
      e.lines.push(`  let jb${id} = ${wgslBroadcastIndex("(e + 3u)", shape, inShape)};`);
      e.lines.push(
        `  let ap${id} = ${buf}[j${id} / 4u][j${id} % 4u]; let aq${id} = ${buf}[jb${id} / 4u][jb${id} % 4u];`,
      );
      e.lines.push(
        `  let a${id} = vec4<f32>(ap${id}, ${
          [1, 2, 3].map((l) => `select(ap${id}, aq${id}, ro${id} + ${l}u >= ${run}u)`).join(", ")
        });`,
      );
    } else {
      e.level.set(id, "element");
      e.lines.push(...splat("e"));
    }
  }
}

/** The group's ops, each at the lowest level its inputs allow (an op reading the element index: per element). */
function emitMembers(e: Emission, members: number[], ops: OpEmitter): void {
  const { g, shape } = e.o;
  for (const id of members) {
    const ins = g.nodes[id].inputs;
    const byIndex = usesElementIndex(g, id);
    const lv: Level = ins.length === 0 || byIndex || ins.some((i) => e.level.get(i) === "element")
      ? "element"
      : ins.some((i) => e.level.get(i) === "column")
      ? "column"
      : "invariant";
    if (lv === "element" && size(g.nodes[id].shape) !== size(shape)) {
      throw new Error(
        `compile bug: ${g.nodes[id].op} #${id} [${g.nodes[id].shape}] is evaluated per element of a [${shape}] kernel`,
      );
    }
    e.level.set(id, lv);
    for (const lane of lv === "invariant" ? [0] : e.lanes) {
      const idx = !e.vec ? "i" : lane ? `(e + ${lane}u)` : "e";
      const name = lv === "invariant" ? `h${id}` : argOf(e, id, lane);
      const line = `  let ${name} = ${ops.wgslOf(id, ins.map((i) => argOf(e, i, lane)), idx)};`;
      (lv === "element" ? e.lines : e.hoisted).push(line);
    }
    if (lv === "invariant") e.invariantNames.push(`h${id}`);
  }
}

export interface EwKernel {
  pass: Pass;
  inputs: number[];
  scalars: Set<string>;
  /** elementwise ops evaluated in it */
  ops: string[];
}

/**
 * One kernel computing the root of a fused elementwise group, and writing besides it the values
 * `alsoWrites` (materialised members of its group, of the root's shape: compiler/co_outputs.ts)
 * and, given `transposed`, a transposed copy of the root into its temporary 0 (compiler/relayout.ts).
 */
export function fusedKernel(
  g: Graph,
  rootId: number,
  plan: GroupView,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  alsoWrites: number[] = [],
  transposed?: Relayout,
): EwKernel {
  const root = g.nodes[rootId];
  const n = size(root.shape);
  const layout = kernelLayout(g, rootId, plan, root.shape);
  const outStorage = storageOf(rootId);
  const e = emitGroup({
    g,
    top: rootId,
    plan,
    storageOf,
    scalarIndex,
    outStorage,
    alsoWrites: alsoWrites.map((id) => ({ id, storage: storageOf(id) })),
    shape: root.shape,
    layout,
  });
  const { walk, threads } = layoutCode(layout, n);
  const vec = layout.kind !== "scalar";
  // a partial last vec4 keeps whatever is past element n (buffers are padded to 16 bytes)
  const units = Math.ceil(n / 4);
  const store = (buf: string, value: string, k: number) =>
    !vec ? [`  ${buf}[i] = ${value};`] : n % 4 === 0 ? [`  ${buf}[v] = ${value};`] : [
      `  let r${k} = ${value};`,
      `  if (v < ${units - 1}u) { ${buf}[v] = r${k}; } else {`,
      `    ${buf}[v] = select(${buf}[v], r${k}, vec4<bool>(true, ${n % 4 > 1}, ${n % 4 > 2}, false));`,
      `  }`,
    ];
  const outs = ["out", ...alsoWrites.map((_, k) => `out${k + 1}`)];
  const stores = [e.value, ...e.alsoValues].flatMap((value, k) => store(outs[k], value, k));
  if (transposed) stores.push(...transposedStores(transposed, n, vec, e.value));
  const elem = vec ? "vec4<f32>" : "f32";
  const wgsl = [
    ...e.decls,
    ...outs.map((o, k) => `@group(0) @binding(${e.inputs.length + k}) var<storage, read_write> ${o}: array<${elem}>;`),
    transposed ? `@group(0) @binding(${e.inputs.length + outs.length}) var<storage, read_write> tr: array<f32>;` : "",
    e.scalars.size ? UNIFORM_DECL : "",
    ...e.libs,
    `@compute @workgroup_size(${EW_WORKGROUP})`,
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  let t = (wid.x + wid.y * nwg.x) * ${EW_WORKGROUP}u + lid;`,
    ...walk(e.hoisted, [...e.lines, ...stores]),
    `}`,
  ].join("\n");
  const bindings: Pass["bindings"] = e.inputs.map((_, k) => ({ buf: { kind: "in", i: k }, write: false }));
  bindings.push({ buf: { kind: "out" }, write: true });
  alsoWrites.forEach((_, k) => bindings.push({ buf: { kind: "out", i: k + 1 }, write: true }));
  if (transposed) bindings.push({ buf: { kind: "tmp", i: 0 }, write: true });
  const label = `fused[${e.ops.join(",")}]` + (root.label ? ` @ ${root.label}` : "");
  return {
    pass: {
      wgsl,
      bindings,
      uniform: e.scalars.size > 0,
      workgroups: foldWorkgroups(Math.ceil(threads / EW_WORKGROUP)),
      label,
    },
    inputs: e.inputs,
    scalars: e.scalars,
    ops: e.ops,
  };
}

/**
 * Stores of the unit's value (element `i`, or the vec4 at `e`) into `tr` at its place in the
 * [P, Q, Cp] transpose of the kernel's [P, Cc, Q] elements (n of them); the padding columns
 * Cc…Cp−1 are never written, so the compiler asks for Cp = Cc.
 */
function transposedStores(t: Relayout, n: number, vec: boolean, value: string): string[] {
  const at = (i: string) =>
    `((${i} / ${t.Cc * t.Q}u) * ${t.Q}u + ${i} % ${t.Q}u) * ${t.Cp}u + (${i} / ${t.Q}u) % ${t.Cc}u`;
  if (!vec) return [`  tr[${at("i")}] = ${value};`];
  return [
    `  let tv = ${value};`,
    ...[0, 1, 2, 3].map((l) => {
      const st = `tr[${at(`(e + ${l}u)`)}] = tv.${LANES[l]};`;
      return n % 4 === 0 ? `  ${st}` : `  if (e + ${l}u < ${n}u) { ${st} }`;
    }),
  ];
}

/**
 * The element loop of each layout around the hoisted lines and the per-unit body, given the
 * invocation index `t`; and how many invocations it needs for n elements (param: the rows
 * layout's period, the vec layout's vec4s per invocation).
 */
function layoutCode(layout: EwLayout, n: number) {
  return layout.kind === "scalar"
    ? LAYOUT_CODE.scalar(n, 0)
    : layout.kind === "vec"
    ? LAYOUT_CODE.vec(n, layout.splatRun ?? EW_VEC4_PER_THREAD)
    : LAYOUT_CODE.rows(n, layout.period);
}
const LAYOUT_CODE: Record<
  EwLayout["kind"],
  (n: number, param: number) => { walk: (hoisted: string[], body: string[]) => string[]; threads: number }
> = {
  scalar: (n) => {
    const per = EW_PER_THREAD, blocks = Math.ceil(n / (EW_WORKGROUP * per));
    return {
      threads: blocks * EW_WORKGROUP,
      walk: (hoisted, body) => [
        `  let first = (t / ${EW_WORKGROUP}u) * ${EW_WORKGROUP * per}u + t % ${EW_WORKGROUP}u;`,
        ...hoisted,
        `  for (var k = 0u; k < ${per}u; k++) {`,
        `  let i = first + k * ${EW_WORKGROUP}u;`,
        `  if (i >= ${n}u) { return; }`,
        ...body,
        `  }`,
      ],
    };
  },
  vec: (n, per) => {
    const units = Math.ceil(n / 4);
    return {
      threads: Math.ceil(units / per),
      walk: (hoisted, body) => [
        ...hoisted,
        `  for (var v = t * ${per}u; v < min(t * ${per}u + ${per}u, ${units}u); v++) {`,
        `  let e = v * 4u;`,
        ...body,
        `  }`,
      ],
    };
  },
  rows: (n, period) => {
    const per = EW_ROWS_PER_THREAD, cols = period / 4, rows = n / period;
    return {
      threads: cols * Math.ceil(rows / per),
      walk: (hoisted, body) => [
        `  let c = t % ${cols}u;`,
        `  let r0 = (t / ${cols}u) * ${per}u;`,
        `  if (r0 >= ${rows}u) { return; }`,
        ...hoisted,
        `  for (var r = r0; r < min(r0 + ${per}u, ${rows}u); r++) {`,
        `  let v = r * ${cols}u + c;`,
        `  let e = v * 4u;`,
        ...body,
        `  }`,
      ],
    };
  },
};

// Generates WGSL for fused elementwise groups. A group (the members the fusion plan assigned
// to one root) is emitted as let-bindings evaluated per element, loading its materialised
// inputs with broadcasting; values that do not depend on the element (consts, step scalars)
// are inlined. The same emitter serves a standalone elementwise kernel (one thread per
// element of the root) and the prologue of a fused reduction (compiler/codegen_reduce.ts).
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { type EwCtx, type Pass, size, UNIFORM_DECL, wgslBroadcastIndex } from "../kernels/op.ts";
import type { FusionPlan } from "./fuse.ts";
import { foldWorkgroups } from "../kernels/wgsl/workgroups.ts";

export const EW_WORKGROUP = 64;
/**
 * Elements per thread of a standalone elementwise kernel. With one element per thread,
 * llvmpipe's per-workgroup overhead dominated (≈1 GB/s on a 4M-element chain); each
 * workgroup now covers EW_WORKGROUP·EW_PER_THREAD consecutive elements, lane-interleaved so
 * neighbouring lanes still touch neighbouring elements (coalesced on real GPUs too).
 */
export const EW_PER_THREAD = 8;

export type ScalarIndex = (name: string, type: "f32" | "u32") => number;

export interface EmittedGroup {
  /** storage declarations of the bound inputs (bindings 0..k-1) */
  decls: string[];
  /** WGSL let-lines computing `value` from the flat index variable `i` */
  lines: string[];
  value: string;
  /** node ids bound as inputs, in binding order (deduplicated by storage) */
  inputs: number[];
  scalars: Set<string>;
  libs: Set<string>;
  /** ops evaluated inside (for labels) */
  ops: string[];
}

/**
 * Emits the group computing node `valueId` (a member of the group of `rootId`).
 * @param storageOf storage of a materialised node, so an input sharing `outStorage` (an in-place
 *   update) is read through the output binding `out` instead of being bound twice.
 */
export function emitGroup(
  g: Graph,
  valueId: number,
  plan: FusionPlan,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  outStorage: number | undefined,
): EmittedGroup {
  const members: number[] = [];
  const uniforms: number[] = [];
  const inputs: number[] = [];
  const seen = new Set<number>();
  const visit = (id: number, top: boolean) => {
    if (seen.has(id)) return;
    seen.add(id);
    if (plan.uniformValue.has(id)) {
      for (const i of g.nodes[id].inputs) visit(i, false);
      uniforms.push(id);
    } else if (!top && plan.materialized.has(id)) {
      inputs.push(id);
    } else {
      for (const i of g.nodes[id].inputs) visit(i, false);
      members.push(id);
    }
  };
  visit(valueId, true);

  const bindingOfStorage = new Map<number, string>();
  const bound: number[] = [];
  for (const id of inputs) {
    const s = storageOf(id);
    if (s === outStorage) bindingOfStorage.set(s, "out");
    else if (!bindingOfStorage.has(s)) {
      bindingOfStorage.set(s, `in${bound.length}`);
      bound.push(id);
    }
  }

  const scalars = new Set<string>();
  const libs = new Set<string>();
  const scalar = (name: string) => (scalars.add(name), `stepF32(${scalarIndex(name, "f32")}u)`);
  const scalarU32 = (name: string) => (scalars.add(name), `stepU32(${scalarIndex(name, "u32")}u)`);
  const expr = new Map<number, string>();
  const lines: string[] = [];
  const emit = (id: number) => {
    const node = g.nodes[id];
    const def = OPS[node.op];
    if (def.lib) libs.add(def.lib);
    const args = node.inputs.map((i) => {
      if (expr.has(i)) return expr.get(i)!;
      const buf = bindingOfStorage.get(storageOf(i))!;
      return `${buf}[${wgslBroadcastIndex("i", node.shape, g.nodes[i].shape)}]`;
    });
    const ctx: EwCtx = { idx: "i", outShape: node.shape, attrs: node.attrs, scalar, scalarU32 };
    return def.ew!(args, ctx);
  };
  for (const id of uniforms) {
    expr.set(id, `u${id}`);
    lines.push(`  let u${id} = ${emit(id)};`);
  }
  for (const id of members) {
    expr.set(id, `v${id}`);
    lines.push(`  let v${id} = ${emit(id)};`);
  }
  return {
    decls: bound.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<f32>;`),
    lines,
    value: expr.get(valueId)!,
    inputs: bound,
    scalars,
    libs,
    ops: members.map((m) => g.nodes[m].op),
  };
}

export interface EwKernel {
  pass: Pass;
  inputs: number[];
  scalars: Set<string>;
}

/** One kernel computing the root of a fused elementwise group, one thread per element. */
export function fusedKernel(
  g: Graph,
  rootId: number,
  plan: FusionPlan,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
): EwKernel {
  const root = g.nodes[rootId];
  const n = size(root.shape);
  const e = emitGroup(g, rootId, plan, storageOf, scalarIndex, storageOf(rootId));
  const wgsl = [
    ...e.decls,
    `@group(0) @binding(${e.inputs.length}) var<storage, read_write> out: array<f32>;`,
    e.scalars.size ? UNIFORM_DECL : "",
    ...e.libs,
    `@compute @workgroup_size(${EW_WORKGROUP})`,
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  let first = (wid.x + wid.y * nwg.x) * ${EW_WORKGROUP * EW_PER_THREAD}u + lid;`,
    `  for (var k = 0u; k < ${EW_PER_THREAD}u; k++) {`,
    `  let i = first + k * ${EW_WORKGROUP}u;`,
    `  if (i >= ${n}u) { return; }`,
    ...e.lines,
    `  out[i] = ${e.value};`,
    `  }`,
    `}`,
  ].join("\n");
  const bindings: Pass["bindings"] = e.inputs.map((_, k) => ({ buf: { kind: "in", i: k }, write: false }));
  bindings.push({ buf: { kind: "out" }, write: true });
  const label = `fused[${e.ops.join(",")}]` + (root.label ? ` @ ${root.label}` : "");
  return { pass: { wgsl, bindings, uniform: e.scalars.size > 0, workgroups: foldWorkgroups(Math.ceil(n / (EW_WORKGROUP * EW_PER_THREAD))), label }, inputs: e.inputs, scalars: e.scalars };
}


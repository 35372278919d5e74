// Generates one WGSL kernel for a fused elementwise group: each thread computes one element of
// the group's root, evaluating member ops as let-bindings and loading materialised inputs with
// broadcasting. Values that do not depend on the element (consts, step scalars) are inlined.
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { type EwCtx, type Pass, size, UNIFORM_DECL, wgslBroadcastIndex } from "../kernels/op.ts";
import type { FusionPlan } from "./fuse.ts";

export const EW_WORKGROUP = 64;

export interface EwKernel {
  pass: Pass;
  /** node ids bound as inputs, in binding order (after deduplication by storage) */
  inputs: number[];
  scalars: Set<string>;
}

/**
 * @param storageOf maps a materialised node to its storage id, so an input sharing the output's
 *   storage (an in-place update) is read through the output binding instead of bound twice.
 */
export function fusedKernel(
  g: Graph,
  rootId: number,
  plan: FusionPlan,
  storageOf: (id: number) => number,
  scalarIndex: (name: string, type: "f32" | "u32") => number,
): EwKernel {
  const root = g.nodes[rootId];
  const n = size(root.shape);
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
  visit(rootId, true);

  // bind each distinct storage once; the root's own storage is the output binding
  const outStorage = storageOf(rootId);
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
  const decls = bound.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<f32>;`);
  decls.push(`@group(0) @binding(${bound.length}) var<storage, read_write> out: array<f32>;`);
  const wgsl = [
    ...decls,
    scalars.size ? UNIFORM_DECL : "",
    ...libs,
    `@compute @workgroup_size(${EW_WORKGROUP})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  let i = gid.x + gid.y * nwg.x * ${EW_WORKGROUP}u;`,
    `  if (i >= ${n}u) { return; }`,
    ...lines,
    `  out[i] = v${rootId};`,
    `}`,
  ].join("\n");
  const bindings: Pass["bindings"] = bound.map((_, k) => ({ buf: { kind: "in", i: k }, write: false }));
  bindings.push({ buf: { kind: "out" }, write: true });
  const label = `fused[${members.map((m) => g.nodes[m].op).join(",")}]` + (root.label ? ` @ ${root.label}` : "");
  return { pass: { wgsl, bindings, uniform: scalars.size > 0, workgroups: grid(Math.ceil(n / EW_WORKGROUP)), label }, inputs: bound, scalars };
}

/** Spread a 1-D workgroup count over x and y when it exceeds the 65535 per-dimension limit. */
export function grid(groups: number): [number, number, number] {
  if (groups <= 65535) return [Math.max(1, groups), 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

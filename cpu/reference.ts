// Float64 reference executor: evaluates a graph node by node with each op's `cpu` rule.
// It is the ground truth that GPU kernels, fusion and the compiled step are tested against.
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";

export interface CpuEnv {
  /** values of input/param/state leaves by name */
  leaves: Map<string, Float64Array>;
  scalars: Record<string, number>;
}

/** Evaluate every node; returns node values indexed by node id. */
export function evaluate(g: Graph, env: CpuEnv): Float64Array[] {
  const vals: Float64Array[] = [];
  for (const n of g.nodes) {
    if (n.op === "input" || n.op === "param" || n.op === "state") {
      const v = env.leaves.get(n.attrs.name as string);
      if (!v) throw new Error(`cpu reference: no value for ${n.op} '${n.attrs.name}'`);
      vals.push(v);
      continue;
    }
    vals.push(OPS[n.op].cpu({
      ins: n.inputs.map((i) => vals[i]),
      inShapes: n.inputs.map((i) => g.nodes[i].shape),
      out: n.shape,
      attrs: n.attrs,
      scalars: env.scalars,
    }));
  }
  return vals;
}

/** One reference step: evaluate, then apply the graph's updates to the leaves (in place in env). */
export function step(g: Graph, env: CpuEnv): Map<string, Float64Array> {
  const vals = evaluate(g, env);
  const out = new Map<string, Float64Array>();
  for (const [name, id] of g.outputs) out.set(name, vals[id]);
  for (const u of g.updates) env.leaves.set(g.nodes[u.target].attrs.name as string, Float64Array.from(vals[u.value]));
  return out;
}

// Pass 4 of compile(): in-place updates. An elementwise update value (w − lr·d) can be written
// straight into the persistent buffer it replaces — no copy and no extra slot — when no kernel
// reads that buffer after the update's own kernel (a kernel may read it in place: the code
// generator routes such reads through the output binding).
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import type { Values } from "./values.ts";

/** update value node → target node, for the updates written in place */
export function planInPlace(g: Graph, plan: FusionPlan, values: Values): Map<number, number> {
  const outputs = new Set(g.outputs.values());
  // the last kernel reading each value
  const lastReader = new Map<number, number>();
  for (const k of values.computeNodes) {
    for (const l of kernelReads(g, plan, k)) {
      const v = values.valueOf.get(l)!;
      lastReader.set(v, Math.max(lastReader.get(v) ?? -1, k));
    }
  }
  const inPlace = new Map<number, number>();
  const taken = new Set<number>();
  for (const u of g.updates) {
    if (OPS[g.nodes[u.value].op].kind !== "elementwise" || !plan.materialized.has(u.value)) continue;
    if (outputs.has(u.target) || taken.has(u.target) || inPlace.has(u.value)) continue;
    if ((lastReader.get(values.valueOf.get(u.target)!) ?? -1) > u.value) continue;
    inPlace.set(u.value, u.target);
    taken.add(u.target);
  }
  return inPlace;
}

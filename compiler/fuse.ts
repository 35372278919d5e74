// Fusion planning: which nodes get their own buffer and which are folded into the fused
// elementwise kernel of a consumer. Rule: an elementwise node is folded into its consumer's
// kernel when every consumer is an elementwise node of the same shape in that same kernel;
// nodes whose value does not depend on the element (consts, step scalars and elementwise ops
// of those) are inlined into every consumer. Anything else is materialised.
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { sameShape } from "../kernels/op.ts";
import { REDUCTIONS } from "./codegen_reduce.ts";

export interface FusionPlan {
  /** nodes that own (or alias) a buffer */
  materialized: Set<number>;
  /** for each elementwise node: the materialised root whose kernel computes it */
  root: Map<number, number>;
  /** elementwise nodes computed inline wherever used */
  uniformValue: Set<number>;
  /** reduction node → the elementwise input it computes inside its loop */
  prologueOf: Map<number, number>;
}

export function planFusion(g: Graph, live: Set<number>, pinned: Set<number>, fuse: boolean): FusionPlan {
  const consumers = g.consumers();
  const materialized = new Set<number>();
  const root = new Map<number, number>();
  const uniformValue = new Set<number>();
  const prologueOf = new Map<number, number>();
  for (const n of g.nodes) {
    if (!live.has(n.id) || OPS[n.op].kind !== "elementwise") continue;
    const uniform = n.op === "const" || n.op === "scalar" || (n.inputs.length > 0 && n.inputs.every((i) => uniformValue.has(i)));
    const allEw = consumers[n.id].filter((c) => live.has(c)).every((c) => OPS[g.nodes[c].op].kind === "elementwise");
    if (uniform && allEw && !pinned.has(n.id)) uniformValue.add(n.id);
  }
  for (let id = g.nodes.length - 1; id >= 0; id--) {
    if (!live.has(id)) continue;
    const n = g.nodes[id];
    const kind = OPS[n.op].kind;
    if (kind !== "elementwise") {
      materialized.add(id);
      continue;
    }
    if (uniformValue.has(id)) continue;
    const cs = consumers[id].filter((c) => live.has(c));
    let r: number | undefined;
    // a reduction's only input can be computed inside the reduction loop (prologue fusion)
    if (fuse && !pinned.has(id) && cs.length === 1 && REDUCTIONS.has(g.nodes[cs[0]].op) && n.op !== "copy") {
      root.set(id, cs[0]);
      prologueOf.set(cs[0], id);
      continue;
    }
    if (fuse && !pinned.has(id) && cs.length > 0 && n.op !== "copy") {
      const roots = new Set(cs.map((c) => {
        const inGroup = OPS[g.nodes[c].op].kind === "elementwise" && sameShape(g.nodes[c].shape, n.shape);
        return inGroup ? root.get(c) : -1;
      }));
      if (roots.size === 1) {
        const only = [...roots][0];
        if (only !== undefined && only >= 0) r = only;
      }
    }
    if (r === undefined) {
      materialized.add(id);
      root.set(id, id);
    } else root.set(id, r);
  }
  return { materialized, root, uniformValue, prologueOf };
}

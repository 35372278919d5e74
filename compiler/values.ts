// Pass 3 of compile(): values. Every materialised node owns a value (the contents of one
// buffer), except views, which share their input's. Leaves hold theirs across steps; the
// others are computed by a kernel, in node-id (topological) order: the schedule.
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";

export interface Values {
  /** materialised node → its value */
  valueOf: Map<number, number>;
  /** the node owning each value, by value id */
  valueNodes: number[];
  /** value nodes a kernel computes, in schedule order */
  computeNodes: number[];
}

/** The node a view (reshape, …) reads its value from: itself where it is not a view. */
export function baseOf(g: Graph, id: number): number {
  while (OPS[g.nodes[id].op].kind === "view") id = g.nodes[id].inputs[0];
  return id;
}

export const isLeaf = (op: string) => op === "param" || op === "state" || op === "input";

export function assignValues(g: Graph, materialized: ReadonlySet<number>): Values {
  const valueOf = new Map<number, number>();
  const valueNodes: number[] = [];
  for (const n of g.nodes) {
    if (!materialized.has(n.id)) continue;
    if (OPS[n.op].kind === "view") valueOf.set(n.id, valueOf.get(n.inputs[0])!);
    else {
      valueOf.set(n.id, valueNodes.length);
      valueNodes.push(n.id);
    }
  }
  return { valueOf, valueNodes, computeNodes: valueNodes.filter((id) => !isLeaf(g.nodes[id].op)) };
}

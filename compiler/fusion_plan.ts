// The fusion plan (made by compiler/fuse.ts): which nodes own a buffer, which kernel evaluates
// every other node, and why what stayed separate did. Later passes only read it.
import type { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { type GroupView, walkGroup } from "./group.ts";

export interface FusionPlan extends GroupView {
  /** nodes that own (or alias) a buffer */
  materialized: Set<number>;
  /** nodes computed inline wherever used (consts, step scalars, elementwise ops of those) */
  uniformValue: Set<number>;
  /** for each elementwise node evaluated by exactly one kernel: that kernel's node */
  root: Map<number, number>;
  /** every live non-uniform elementwise node → the kernels (materialised nodes) evaluating it */
  kernelsOf: Map<number, number[]>;
  /** reduction node → the elementwise input it computes inside its loop */
  prologueOf: Map<number, number>;
  /** why an elementwise node is materialised, or why a reduction computes no prologue */
  why: Map<number, string>;
  /** materialised elementwise node → the elementwise kernel that computes and writes it (compiler/co_outputs.ts) */
  computedBy: Map<number, number>;
  /** elementwise kernel → the materialised nodes it also computes and writes (the inverse of computedBy) */
  computes: Map<number, number[]>;
}

/** Materialised nodes read by the kernel of node `k` (an elementwise root, a reduction, any kernel). */
export function kernelReads(g: Graph, plan: FusionPlan, k: number): number[] {
  const n = g.nodes[k];
  const top = OPS[n.op].kind === "elementwise" ? k : plan.prologueOf.get(k);
  return top === undefined ? [...n.inputs] : walkGroup(g, top, plan).loads;
}

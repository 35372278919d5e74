// Pass 5b of compile(): sibling reductions. Reductions over the same layout — the same input
// shape, axes, unit layout and split — that do not depend on one another are computed by one
// kernel (kernels/reduce.ts siblingReductionLowering): BatchNorm2d's backward sums Σg, Σg·x̂,
// … over [N, H, W] all read the same maps, and one pass (plus one fold) replaces several. Each
// member still folds its values in the order it would alone, so results do not change.
// Members are taken only from reductions of 4-D maps (the convolutional path); the kernel is
// placed where its first member was, so a later member joins only when everything it reads is
// computed before that point, and the kernel must stay within the device's storage buffers.
import type { Graph } from "../ir/graph.ts";
import { reduceAxes } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";
import { reductionLayout } from "./codegen_reduce.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";

/** at most this many reductions per kernel (each adds an accumulator and a load chain to the loop) */
export const MAX_SIBLINGS = 4;

export interface SiblingPlan {
  /** the compute schedule with each kernel's later members moved right after its first */
  order: number[];
  /** first member → the other members, in output order */
  partners: Map<number, number[]>;
  /** the members that are not first (computed by their first member's kernel) */
  absorbed: Set<number>;
}

export function planSiblingReductions(
  g: Graph,
  plan: FusionPlan,
  computeNodes: number[],
  pinned: ReadonlyMap<number, string>,
  storageKey: (id: number) => number,
  variantOf: (id: number) => string | undefined,
  maxStorageBuffers: number,
): SiblingPlan {
  const pos = new Map(computeNodes.map((id, at) => [id, at]));
  const partners = new Map<number, number[]>();
  const absorbed = new Set<number>();
  // open kernels by layout key: their first members
  const open = new Map<string, number[]>();
  for (const id of computeNodes) {
    const n = g.nodes[id];
    if ((n.op !== "sum" && n.op !== "mean") || pinned.has(id)) continue;
    const src = g.nodes[n.inputs[0]].shape;
    if (src.length !== 4) continue;
    const variant = variantOf(id);
    const { rp, p } = reductionLayout(g, id, plan, variant);
    const key = JSON.stringify([src, reduceAxes(n.op, src, n.attrs), variant ?? null, rp.vec, p]);
    // a view is computed where its base is
    const reads = kernelReads(g, plan, id).map((r) => baseOf(g, r));
    const lead = (open.get(key) ?? []).find((a) => {
      const members = [a, ...(partners.get(a) ?? [])];
      if (members.length >= MAX_SIBLINGS) return false;
      // everything this one reads must exist where the kernel runs
      if (reads.some((r) => pos.has(r) && pos.get(r)! >= pos.get(a)!)) return false;
      const storages = new Set([...members, id].flatMap((m) => kernelReads(g, plan, m).map(storageKey)));
      // pass 1 binds the reads and the partials (or, unsplit, every output)
      return storages.size + (p === 1 ? members.length + 1 : 1) <= maxStorageBuffers;
    });
    if (lead === undefined) {
      open.set(key, [...(open.get(key) ?? []), id]);
      continue;
    }
    partners.set(lead, [...(partners.get(lead) ?? []), id]);
    absorbed.add(id);
  }
  const order = computeNodes.flatMap((id) => (absorbed.has(id) ? [] : [id, ...(partners.get(id) ?? [])]));
  return { order, partners, absorbed };
}

/** The node a view (reshape, …) reads its value from. */
function baseOf(g: Graph, id: number): number {
  while (OPS[g.nodes[id].op].kind === "view") id = g.nodes[id].inputs[0];
  return id;
}

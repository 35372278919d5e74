// Pass 2 of compile(): the fusion plan — which nodes get a buffer of their own and which are
// evaluated inside the kernel of a consumer.
//  1. Nodes whose value does not depend on the element (consts, step scalars, elementwise ops
//     of those) are inlined into every consumer.
//  2. Grouping, consumers first: an elementwise node joins its consumers' kernel when every
//     consumer is an elementwise node of the same shape in that one kernel; a reduction's only
//     input, read by nothing else, is computed inside the reduction's loop (a prologue).
//  3. Bindings: a kernel may read at most maxStorageBuffers − 1 buffers (one more is its output).
//     A group that would read more is cut: the member whose own subtree reads the most buffers
//     that still fit one kernel is materialised, and the grouping is redone (a wide sum of many
//     scalars becomes a tree of kernels).
//  4. Recomputation (compiler/recompute.ts): a node still materialised although every reader
//     could evaluate it is recomputed in each reader when that moves fewer bytes (and the
//     reader's bindings still fit).
// Every elementwise node left materialised, and every reduction left without a prologue,
// carries the reason, which the compiled steps repeat for profiles.
import type { Graph } from "../ir/graph.ts";
import { sameShape } from "../kernels/op.ts";
import { REDUCTIONS } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";
import { liveConsumers } from "./liveness.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import { walkGroup } from "./group.ts";
import { recomputeCheapValues } from "./recompute.ts";

export type { FusionPlan } from "./fusion_plan.ts";

/** Storage buffers per shader stage that every WebGPU device allows. */
export const DEFAULT_MAX_STORAGE_BUFFERS = 8;

export function planFusion(
  g: Graph,
  live: ReadonlySet<number>,
  pinned: ReadonlyMap<number, string>,
  fuse: boolean,
  maxStorageBuffers = DEFAULT_MAX_STORAGE_BUFFERS,
): FusionPlan {
  const consumers = liveConsumers(g, live);
  const cuts = new Map<number, string>();
  for (;;) {
    const plan = groupNodes(g, live, pinned, fuse, consumers, cuts);
    if (!fuse || !cutWideKernels(g, plan, maxStorageBuffers - 1, cuts)) {
      if (fuse) recomputeCheapValues(g, plan, consumers, pinned, maxStorageBuffers - 1);
      for (const [id, ks] of plan.kernelsOf) if (ks.length === 1) plan.root.set(id, ks[0]);
      explainUnfusedReductions(g, plan, live);
      return plan;
    }
  }
}

/**
 * Finds a kernel reading more than `maxReads` buffers and records a member to materialise in
 * `cuts`; false when every kernel fits or none that does not can be cut.
 */
function cutWideKernels(g: Graph, plan: FusionPlan, maxReads: number, cuts: Map<number, string>): boolean {
  for (const r of plan.materialized) {
    const n = g.nodes[r];
    if (OPS[n.op].kind !== "elementwise" && !plan.prologueOf.has(r)) continue;
    const reads = kernelReads(g, plan, r);
    if (reads.length <= maxReads) continue;
    const top = OPS[n.op].kind === "elementwise" ? r : plan.prologueOf.get(r)!;
    let best: number | undefined, bestReads = -1;
    for (const m of walkGroup(g, top, plan).members) {
      if (m === top) continue;
      const k = walkGroup(g, m, plan).loads.length;
      if (k <= maxReads && k > bestReads) [best, bestReads] = [m, k];
    }
    // a single op reading that many has nothing to cut (its pipeline will fail to build); the
    // other kernels may still be cut
    if (best === undefined) continue;
    cuts.set(
      best,
      `kernel ${n.op} #${r} would read ${reads.length} buffers, more than the ${maxReads} a kernel may bind besides its output`,
    );
    return true;
  }
  return false;
}

/** Steps 1–2 of the header: uniform values, then groups consumers first; `cuts` are kept apart. */
function groupNodes(
  g: Graph,
  live: ReadonlySet<number>,
  pinned: ReadonlyMap<number, string>,
  fuse: boolean,
  consumers: number[][],
  cuts: ReadonlyMap<number, string>,
): FusionPlan {
  const isEw = (id: number) => OPS[g.nodes[id].op].kind === "elementwise";
  const materialized = new Set<number>();
  const uniformValue = new Set<number>();
  const prologueOf = new Map<number, number>();
  const why = new Map<number, string>();
  // group of each non-uniform elementwise node while grouping (its kernel's node)
  const groupOf = new Map<number, number>();

  for (const n of g.nodes) {
    if (!live.has(n.id) || !isEw(n.id)) continue;
    const uniform = n.op === "const" || n.op === "scalar" ||
      (n.inputs.length > 0 && n.inputs.every((i) => uniformValue.has(i)));
    if (uniform && consumers[n.id].every(isEw) && !pinned.has(n.id)) uniformValue.add(n.id);
  }

  for (let id = g.nodes.length - 1; id >= 0; id--) {
    if (!live.has(id)) continue;
    const n = g.nodes[id];
    if (!isEw(id)) {
      materialized.add(id);
      continue;
    }
    if (uniformValue.has(id)) continue;
    const cs = consumers[id];
    const held = pinned.get(id) ?? cuts.get(id) ??
      (n.op === "copy" ? "copy is always materialised (a snapshot)" : !fuse ? "fusion disabled" : undefined);
    if (held === undefined && cs.length === 1 && REDUCTIONS.has(g.nodes[cs[0]].op)) {
      groupOf.set(id, cs[0]);
      prologueOf.set(cs[0], id);
      continue;
    }
    if (held === undefined && cs.length > 0) {
      const groups = new Set(cs.map((c) => (isEw(c) && sameShape(g.nodes[c].shape, n.shape) ? groupOf.get(c) : -1)));
      const only = groups.size === 1 ? [...groups][0] : undefined;
      if (only !== undefined && only >= 0) {
        groupOf.set(id, only);
        continue;
      }
    }
    materialized.add(id);
    groupOf.set(id, id);
    if (held !== undefined) why.set(id, held);
  }

  const kernelsOf = new Map<number, number[]>();
  for (const [id, k] of groupOf) kernelsOf.set(id, [k]);
  return {
    materialized,
    uniformValue,
    root: new Map(),
    kernelsOf,
    prologueOf,
    why,
    computedBy: new Map(),
    computes: new Map(),
  };
}

/** A reduction reads a materialised input: say which and why (the reason profiles show). */
function explainUnfusedReductions(g: Graph, plan: FusionPlan, live: ReadonlySet<number>): void {
  for (const id of live) {
    const n = g.nodes[id];
    if (!REDUCTIONS.has(n.op) || plan.prologueOf.has(id)) continue;
    const src = g.nodes[n.inputs[0]];
    const kind = OPS[src.op].kind;
    plan.why.set(
      id,
      kind === "elementwise"
        ? `input ${src.op} #${src.id} is materialised: ${plan.why.get(src.id) ?? "?"}`
        : kind === "leaf"
        ? `input is the stored ${src.op} '${src.attrs.name}'`
        : `input is the output of ${src.op} #${src.id}`,
    );
  }
}

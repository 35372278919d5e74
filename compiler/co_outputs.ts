// Pass 5c of compile(): elementwise values computed by the kernel that reads them. A value that
// must have a buffer of its own — the new value of a persistent tensor, such as an optimizer's
// momentum — but is read by nothing except one elementwise kernel of its own shape (the
// parameter update w − lr·m) is evaluated inside that kernel, which writes it as a second output:
// one dispatch instead of two, and the value is not read back. Each element is computed by the
// same expressions in the same order as by its own kernel, so results do not change bit for bit.
// The value moves to the reader's place in the schedule, so it joins only when nothing scheduled
// in between writes what it reads or reads what it writes, and the reader must stay within the
// device's storage buffers.
import type { Graph } from "../ir/graph.ts";
import { sameShape } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import { walkGroup } from "./group.ts";
import { liveConsumers } from "./liveness.ts";

/** at most this many values computed by one reader (each binds one more output) */
export const MAX_CO_OUTPUTS = 2;

/**
 * Decides which materialised elementwise values their only reading kernel computes; records them
 * in `plan.computedBy` and returns reader → those values, in schedule order. `absorbed`: nodes
 * another pass already computes elsewhere (sibling reductions' members and epilogues).
 */
export function planCoOutputs(
  g: Graph,
  plan: FusionPlan,
  computeNodes: number[],
  live: ReadonlySet<number>,
  absorbed: ReadonlySet<number>,
  storageKey: (id: number) => number,
  maxStorageBuffers: number,
): Map<number, number[]> {
  const pos = new Map(computeNodes.map((id, at) => [id, at]));
  const consumers = liveConsumers(g, live);
  const isEwKernel = (id: number) =>
    OPS[g.nodes[id].op].kind === "elementwise" && plan.materialized.has(id) && !absorbed.has(id) && pos.has(id);
  const coOutputs = new Map<number, number[]>();
  const taken = new Set<number>();
  for (const x of computeNodes) {
    // a copy is a snapshot, taken where it stands
    if (!isEwKernel(x) || plan.uniformValue.has(x) || coOutputs.has(x) || g.nodes[x].op === "copy") continue;
    const reader = onlyReader(g, plan, consumers[x]);
    if (reader === undefined || !isEwKernel(reader) || taken.has(reader) || pos.get(reader)! <= pos.get(x)!) continue;
    if (!sameShape(g.nodes[x].shape, g.nodes[reader].shape)) continue;
    const co = coOutputs.get(reader) ?? [];
    if (co.length >= MAX_CO_OUTPUTS) continue;
    if (!undisturbed(g, plan, x, computeNodes.slice(pos.get(x)! + 1, pos.get(reader)!), storageKey)) continue;
    // the reader's bindings: what both read, its output and every value it writes
    const outs = [reader, ...co, x].map(storageKey);
    const reads = new Set([...kernelReads(g, plan, reader), ...walkGroup(g, x, plan).loads].map(storageKey));
    for (const s of outs) reads.delete(s);
    if (reads.size + outs.length > maxStorageBuffers) continue;
    coOutputs.set(reader, [...co, x]);
    taken.add(x);
    plan.computedBy.set(x, reader);
  }
  return coOutputs;
}

/** The one kernel evaluating every consumer of a value (none through a view), if there is one. */
function onlyReader(g: Graph, plan: FusionPlan, cs: number[]): number | undefined {
  const kernels = new Set<number>();
  for (const c of cs) {
    if (OPS[g.nodes[c].op].kind !== "elementwise") return undefined;
    for (const k of plan.materialized.has(c) ? [c] : plan.kernelsOf.get(c) ?? []) kernels.add(k);
  }
  return kernels.size === 1 ? [...kernels][0] : undefined;
}

/** Nothing in `between` writes a buffer value `x` reads, or reads the buffer `x` writes. */
function undisturbed(
  g: Graph,
  plan: FusionPlan,
  x: number,
  between: number[],
  storageKey: (id: number) => number,
): boolean {
  const reads = new Set(walkGroup(g, x, plan).loads.map((l) => storageKey(baseOf(g, l))));
  const writes = storageKey(x);
  return between.every((k) =>
    !reads.has(storageKey(k)) && !kernelReads(g, plan, k).some((r) => storageKey(baseOf(g, r)) === writes)
  );
}

/** The node a view (reshape, …) reads its value from. */
function baseOf(g: Graph, id: number): number {
  while (OPS[g.nodes[id].op].kind === "view") id = g.nodes[id].inputs[0];
  return id;
}

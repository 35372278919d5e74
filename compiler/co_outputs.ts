// Pass 5c of compile(): elementwise values computed by another elementwise kernel of their shape,
// which writes them as further outputs. A value that must have a buffer of its own — the new
// value of a persistent tensor, such as an optimizer's momentum — but is read by nothing except
// one such kernel (the parameter update w − lr·m) is evaluated inside it: one dispatch instead of
// two, and the value is not read back. Then parameter updates that nothing in the step reads are
// computed by a later update of the same shape (the BatchNorm weights of one width: one kernel
// instead of five). Each element is computed by the same expressions in the same order as by its
// own kernel, so results do not change bit for bit. A value moves to the kernel's place in the
// schedule, so it joins only when nothing scheduled in between writes what it reads or reads what
// it writes, and the kernel must stay within the device's storage buffers.
import type { Graph } from "../ir/graph.ts";
import { sameShape, UNIFORM_BINDING } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import { walkGroup } from "./group.ts";
import { liveConsumers } from "./liveness.ts";
import { baseOf } from "./values.ts";

/** at most this many values a kernel computes for itself because only it reads them (first phase) */
export const MAX_CO_OUTPUTS = 2;

/**
 * Decides which materialised elementwise values another elementwise kernel computes: each value
 * read only by one kernel of its shape (a momentum, by its parameter's update), then updates that
 * nothing in the step reads, by a later update of the same shape (BatchNorm weights of one width).
 * Records them in `plan.computedBy` / `plan.computes` and returns kernel → the values it also
 * writes, in order. `absorbed`: nodes another pass already computes elsewhere (sibling
 * reductions' members and epilogues).
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
  // a copy is a snapshot, taken where it stands
  const isEwKernel = (id: number) =>
    OPS[g.nodes[id].op].kind === "elementwise" && plan.materialized.has(id) && !absorbed.has(id) && pos.has(id) &&
    !plan.uniformValue.has(id) && g.nodes[id].op !== "copy";
  const coOutputs = new Map<number, number[]>();
  const taken = new Set<number>();
  // storage bindings below the step uniform's
  const binds = Math.min(maxStorageBuffers, UNIFORM_BINDING);
  /** Has kernel `k` compute `x` (and what x's kernel computed) when its bindings allow and nothing in between interferes. */
  const join = (x: number, k: number): boolean => {
    const moved = [x, ...coOutputs.get(x) ?? []];
    const between = computeNodes.slice(pos.get(x)! + 1, pos.get(k)!);
    if (!undisturbed(g, plan, x, moved, between, storageKey)) return false;
    // k's bindings: what both read, its output and every value it writes
    const outs = [k, ...coOutputs.get(k) ?? [], ...moved].map(storageKey);
    const reads = new Set([...kernelReads(g, plan, k), ...walkGroup(g, x, plan).loads].map(storageKey));
    for (const s of outs) reads.delete(s);
    if (reads.size + outs.length > binds) return false;
    coOutputs.set(k, [...coOutputs.get(k) ?? [], ...moved]);
    coOutputs.delete(x);
    for (const m of moved) {
      taken.add(m);
      plan.computedBy.set(m, k);
    }
    plan.computes.set(k, coOutputs.get(k)!);
    plan.computes.delete(x);
    return true;
  };

  for (const x of computeNodes) {
    if (!isEwKernel(x) || coOutputs.has(x)) continue;
    const reader = onlyReader(g, plan, consumers[x]);
    if (reader === undefined || !isEwKernel(reader) || taken.has(reader) || pos.get(reader)! <= pos.get(x)!) continue;
    if (!sameShape(g.nodes[x].shape, g.nodes[reader].shape)) continue;
    if ((coOutputs.get(reader) ?? []).length >= MAX_CO_OUTPUTS) continue;
    join(x, reader);
  }

  // updates nothing reads, by shape, latest first: each joins the latest kernel that can take it
  const updates = new Set(g.updates.map((u) => u.value));
  const byShape = new Map<string, number[]>();
  for (const x of computeNodes) {
    if (!updates.has(x) || !isEwKernel(x) || taken.has(x) || consumers[x].length) continue;
    const key = JSON.stringify(g.nodes[x].shape);
    byShape.set(key, [...byShape.get(key) ?? [], x]);
  }
  for (const xs of byShape.values()) {
    let k = xs[xs.length - 1];
    for (let j = xs.length - 2; j >= 0; j--) if (!join(xs[j], k)) k = xs[j];
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

/** Nothing in `between` writes a buffer the kernel of `x` reads, or reads a buffer it writes (`writes`). */
function undisturbed(
  g: Graph,
  plan: FusionPlan,
  x: number,
  writes: number[],
  between: number[],
  storageKey: (id: number) => number,
): boolean {
  const reads = new Set(walkGroup(g, x, plan).loads.map((l) => storageKey(baseOf(g, l))));
  const written = new Set(writes.map(storageKey));
  return between.every((k) =>
    !reads.has(storageKey(k)) && !kernelReads(g, plan, k).some((r) => written.has(storageKey(baseOf(g, r))))
  );
}

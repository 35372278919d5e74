// Lowers a whole graph (a training step: forward, loss, backward, optimizer, EMA, queue) to a
// fixed list of dispatches over planned storage, once. Nothing here touches the GPU: the
// result is a plain Program that runtime/executable.ts instantiates. compile() is a chain of
// passes, each in its own file, each reading only what the earlier ones produced:
//   liveness → fusion plan → values → in-place updates → leaf buffers → sibling reductions →
//   values computed by their reader → code generation (transposes written by the producer) →
//   repeated passes shared → slots → steps
import type { Graph } from "../ir/graph.ts";
import { DEFAULT_MAX_STORAGE_BUFFERS, type FusionPlan, planFusion } from "./fuse.ts";
import { leafStorages } from "./leaves.ts";
import { liveNodes, pinnedNodes } from "./liveness.ts";
import { generateKernels } from "./codegen.ts";
import { planInPlace } from "./inplace.ts";
import { planSlots, valueIntervals } from "./memory.ts";
import type { CompileOptions, Program, Storage } from "./program.ts";
import { shareRepeatedPasses } from "./shared_passes.ts";
import { planSiblingReductions } from "./siblings.ts";
import { planCoOutputs } from "./co_outputs.ts";
import { buildSteps } from "./steps.ts";
import { assignValues } from "./values.ts";

export type { CompileOptions, Program, Step, Storage, StorageKind } from "./program.ts";

/**
 * The fusion plan compile() uses: the nodes the outputs and updates need (live), with outputs
 * and update values pinned to their own buffers. Exported so tests can inspect the grouping.
 */
export function fusionPlanOf(
  g: Graph,
  fuse = true,
  maxStorageBuffers = DEFAULT_MAX_STORAGE_BUFFERS,
): { plan: FusionPlan; live: Set<number> } {
  const live = liveNodes(g);
  return { plan: planFusion(g, live, pinnedNodes(g), fuse, maxStorageBuffers), live };
}

export function compile(g: Graph, opts: CompileOptions = {}): Program {
  const { plan, live } = fusionPlanOf(g, opts.fuse ?? true, opts.maxStorageBuffers);
  const values = assignValues(g, plan.materialized);
  const inPlace = planInPlace(g, plan, values);
  const leaves = leafStorages(g, values, inPlace);
  // until slots are planned, an intermediate is told apart by its value id (as a negative key)
  const storageKey = (id: number) => {
    const v = values.valueOf.get(id)!;
    return leaves.storageOfValue.get(v) ?? -1 - v;
  };
  const siblings = planSiblingReductions(
    g,
    plan,
    values.computeNodes,
    pinnedNodes(g),
    storageKey,
    (id) => opts.variant?.(g.nodes[id].op, g.nodes[id].inputs.map((i) => g.nodes[i].shape), g.nodes[id].attrs),
    opts.maxStorageBuffers ?? DEFAULT_MAX_STORAGE_BUFFERS,
  );
  if (opts.siblings === false) {
    [siblings.partners, siblings.epilogues].forEach((m) => m.clear());
    siblings.after.clear();
  }
  const scheduled = { ...values, computeNodes: opts.siblings === false ? values.computeNodes : siblings.order };
  const coOutputs = opts.coOutputs === false || opts.fuse === false ? new Map<number, number[]>() : planCoOutputs(
    g,
    plan,
    scheduled.computeNodes,
    live,
    opts.siblings === false ? new Set() : siblings.absorbed,
    storageKey,
    opts.maxStorageBuffers ?? DEFAULT_MAX_STORAGE_BUFFERS,
  );
  const lowered = generateKernels(g, plan, scheduled.computeNodes, storageKey, opts, siblings, coOutputs);
  const sharedTemps = shareRepeatedPasses(lowered.kernels, storageKey);
  lowered.kernels.forEach((k, at) => k.borrowedTemps?.forEach((from, i) => sharedTemps[at].set(i, from)));
  const { intervals, tempValues } = valueIntervals(
    g,
    plan,
    scheduled,
    leaves.storageOfValue,
    lowered.kernels.map((k) => k.temps),
    lowered.kernels.map((k) => k.alsoWrites ?? []),
    sharedTemps,
  );
  const slots = planSlots(intervals, opts.reuse ?? true);

  // each slot is named by its largest graph value (kernel temporaries have no node)
  const largest = new Map<number, { bytes: number; node: number }>();
  for (const iv of intervals) {
    const node = values.valueNodes[iv.value], slot = slots.slotOf.get(iv.value)!;
    if (node !== undefined && iv.bytes > (largest.get(slot)?.bytes ?? -1)) largest.set(slot, { bytes: iv.bytes, node });
  }
  const storages = [...leaves.storages];
  const slotStorage = slots.slotBytes.map((bytes, slot) => {
    const n = g.nodes[largest.get(slot)?.node ?? -1];
    const s: Storage = {
      id: storages.length,
      kind: "slot",
      bytes,
      ...(n && { origin: { label: n.label, shape: n.shape } }),
    };
    storages.push(s);
    return s.id;
  });
  const storageOfValue = (v: number) => leaves.storageOfValue.get(v) ?? slotStorage[slots.slotOf.get(v)!];
  const { steps, outputs } = buildSteps(g, scheduled, lowered.kernels, tempValues, storageOfValue);

  return {
    storages,
    steps,
    scalarIndex: lowered.scalarIndex,
    scalarTypes: lowered.scalarTypes,
    inputs: leaves.inputs,
    outputs,
    persistent: leaves.persistent,
    peakBytes: storages.reduce((a, s) => a + s.bytes, 0),
    slotBytes: slots.slotBytes.reduce((a, b) => a + b, 0),
    stats: {
      nodes: live.size,
      dispatches: steps.filter((s) => s.kind === "dispatch").length,
      fusedOps: lowered.fusedOps,
    },
  };
}

export function describe(p: Program): string {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1) + " MiB";
  return `${p.stats.dispatches} dispatches from ${p.stats.nodes} nodes; storage ${mb(p.peakBytes)} ` +
    `(intermediates ${mb(p.slotBytes)} in ${p.storages.filter((s) => s.kind === "slot").length} reused slots)`;
}

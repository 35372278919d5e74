// Lowers a whole graph (a training step: forward, loss, backward, optimizer, EMA, queue) to a
// fixed list of dispatches over planned storage, once. Nothing here touches the GPU: the
// result is a plain Program that runtime/executable.ts instantiates.
import type { Graph, Init } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { type BufRef, type Dtype, MAX_SCALARS, type Pass, size, type Shape } from "../kernels/op.ts";
import { fusedKernel } from "./codegen_ew.ts";
import { fusedReduction } from "./codegen_reduce.ts";
import { type FusionPlan, planFusion } from "./fuse.ts";
import { bytesFor, type Interval, planSlots } from "./memory.ts";

export interface CompileOptions {
  fuse?: boolean;
  reuse?: boolean;
  features?: { subgroups: boolean; f16: boolean };
  /** picks a kernel variant for an op + shapes (the autotuner); undefined = op default */
  variant?: (op: string, inShapes: Shape[], attrs: Record<string, unknown>) => string | undefined;
}

export type StorageKind = "param" | "state" | "input" | "slot";
export interface Storage {
  id: number;
  kind: StorageKind;
  bytes: number;
  /** element type of params/state/inputs (intermediates are f32) */
  dtype?: Dtype;
  /** leaf name for params/state/inputs */
  name?: string;
  shape?: Shape;
  init?: Init;
}

export type Step =
  | { kind: "dispatch"; pass: Pass; storages: number[]; label: string; node: number }
  | { kind: "copy"; from: number; to: number; bytes: number; label: string };

export interface Program {
  storages: Storage[];
  steps: Step[];
  scalarIndex: Map<string, number>;
  /** how each scalar is read: u32 scalars (seed, step, queue pointer) are written as integers */
  scalarTypes: Map<string, "f32" | "u32">;
  inputs: Map<string, number>;
  outputs: Map<string, { storage: number; shape: Shape }>;
  persistent: Map<string, number>;
  /** bytes of all storage, and of the reused intermediate slots alone */
  peakBytes: number;
  slotBytes: number;
  stats: { nodes: number; dispatches: number; fusedOps: number };
}

/**
 * The fusion plan compile() uses: the nodes the outputs and updates need (live), with outputs
 * and update values pinned to their own buffers. Exported so tests can inspect the grouping.
 */
export function fusionPlanOf(g: Graph, fuse = true): { plan: FusionPlan; live: Set<number> } {
  const live = new Set<number>();
  const mark = (id: number) => {
    if (live.has(id)) return;
    live.add(id);
    for (const i of g.nodes[id].inputs) mark(i);
  };
  for (const id of g.outputs.values()) mark(id);
  for (const u of g.updates) {
    mark(u.value);
    mark(u.target);
  }
  const pinned = new Set<number>([...g.outputs.values(), ...g.updates.map((u) => u.value)]);
  return { plan: planFusion(g, live, pinned, fuse), live };
}

export function compile(g: Graph, opts: CompileOptions = {}): Program {
  const fuse = opts.fuse ?? true, reuse = opts.reuse ?? true;
  const features = opts.features ?? { subgroups: false, f16: false };

  // 1. liveness and the fusion plan
  const { plan, live } = fusionPlanOf(g, fuse);

  // 2. values: each materialised node owns a value unless it is a view of its input
  const valueOf = new Map<number, number>();
  const valueNodes: number[] = [];
  for (const n of g.nodes) {
    if (!plan.materialized.has(n.id)) continue;
    if (OPS[n.op].kind === "view") valueOf.set(n.id, valueOf.get(n.inputs[0])!);
    else {
      valueOf.set(n.id, valueNodes.length);
      valueNodes.push(n.id);
    }
  }

  // 3. in-place updates: an elementwise value whose only other readers of the target run earlier
  // writes straight into the persistent buffer (no copy, and no extra slot)
  const consumers = g.consumers();
  const computedBy = (id: number) => plan.root.get(id) ?? id;
  const outputIds = new Set(g.outputs.values());
  const inPlace = new Map<number, number>(); // value node -> target node
  for (const u of g.updates) {
    const v = g.nodes[u.value];
    if (OPS[v.op].kind !== "elementwise" || !plan.materialized.has(u.value) || outputIds.has(u.target)) continue;
    if ([...inPlace.values()].includes(u.target) || inPlace.has(u.value)) continue;
    const readersOk = consumers[u.target].every((c) => !live.has(c) || computedBy(c) === u.value || computedBy(c) < u.value);
    if (readersOk) inPlace.set(u.value, u.target);
  }

  // 4. schedule: materialised compute nodes in id (topological) order
  const storages: Storage[] = [];
  const storageOfValue = new Map<number, number>();
  const persistent = new Map<string, number>();
  const inputs = new Map<string, number>();
  for (const vid of valueNodes) {
    const n = g.nodes[vid];
    if (n.op === "param" || n.op === "state" || n.op === "input") {
      const s: Storage = {
        id: storages.length,
        kind: n.op,
        bytes: bytesFor(size(n.shape), (n.attrs.dtype as Dtype | undefined) ?? "f32"),
        dtype: (n.attrs.dtype as Dtype | undefined) ?? "f32",
        name: n.attrs.name as string,
        shape: n.shape,
        init: n.attrs.init as Init | undefined,
      };
      storages.push(s);
      storageOfValue.set(valueOf.get(vid)!, s.id);
      (n.op === "input" ? inputs : persistent).set(s.name!, s.id);
    }
  }
  for (const [v, t] of inPlace) storageOfValue.set(valueOf.get(v)!, storageOfValue.get(valueOf.get(t)!)!);

  const computeNodes = valueNodes.filter((id) => !["param", "state", "input"].includes(g.nodes[id].op));
  const position = new Map<number, number>();
  computeNodes.forEach((id, k) => position.set(id, k));
  const end = computeNodes.length + 1;

  // intervals of slot values (intermediates and kernel temps)
  const intervals: Interval[] = [];
  const lastUse = new Map<number, number>();
  const use = (value: number, at: number) => lastUse.set(value, Math.max(lastUse.get(value) ?? -1, at));
  for (const n of g.nodes) {
    if (!live.has(n.id)) continue;
    const at = position.get(computedBy(n.id));
    if (at === undefined) continue;
    for (const i of n.inputs) if (valueOf.has(i)) use(valueOf.get(i)!, at);
  }
  for (const id of g.outputs.values()) use(valueOf.get(id)!, end);
  for (const u of g.updates) use(valueOf.get(u.value)!, end);
  for (const id of computeNodes) {
    const val = valueOf.get(id)!;
    if (storageOfValue.has(val)) continue;
    intervals.push({ value: val, bytes: bytesFor(size(g.nodes[id].shape)), start: position.get(id)!, end: lastUse.get(val) ?? position.get(id)! });
  }

  // lower every compute node now (temps need intervals before slot planning)
  const scalarIndex = new Map<string, number>();
  const scalarTypes = new Map<string, "f32" | "u32">();
  const scalarIdx = (name: string, type: "f32" | "u32") => {
    const had = scalarTypes.get(name);
    if (had && had !== type) throw new Error(`compile: step scalar '${name}' is read both as ${had} and as ${type}`);
    scalarTypes.set(name, type);
    if (!scalarIndex.has(name)) {
      if (scalarIndex.size >= MAX_SCALARS) throw new Error(`compile: more than ${MAX_SCALARS} step scalars`);
      scalarIndex.set(name, scalarIndex.size);
    }
    return scalarIndex.get(name)!;
  };
  /** fusedInputs: `ins` are the bound group inputs (fused kernels), else the node's own inputs */
  type Lowered = { node: number; passes: Pass[]; ins: number[]; temps: number[]; fusedInputs?: boolean };
  const lowered: Lowered[] = [];
  let tempValue = valueNodes.length;
  let fusedOps = 0;
  const storageOfNode = (id: number) => storageKey(valueOf.get(id)!);
  // storage ids of slot values are resolved after slot planning; use value ids (offset) meanwhile
  const storageKey = (val: number) => storageOfValue.get(val) ?? -1 - val;
  for (const id of computeNodes) {
    const n = g.nodes[id];
    const def = OPS[n.op];
    const at = position.get(id)!;
    if (def.kind === "elementwise") {
      const k = fusedKernel(g, id, plan, storageOfNode, scalarIdx);
      fusedOps += [...plan.root.entries()].filter(([, r]) => r === id).length;
      lowered.push({ node: id, passes: [k.pass], ins: k.inputs, temps: [], fusedInputs: true });
      continue;
    }
    if (plan.prologueOf.has(id)) {
      const f = fusedReduction(g, id, plan, storageOfNode, scalarIdx);
      const temps = (f.lowering.temps ?? []).map((elems) => {
        const v = tempValue++;
        intervals.push({ value: v, bytes: bytesFor(elems), start: at, end: at });
        return v;
      });
      fusedOps += [...plan.root.values()].filter((r) => r === id).length;
      lowered.push({ node: id, passes: f.lowering.passes, ins: f.inputs, temps, fusedInputs: true });
      continue;
    }
    if (!def.kernel) throw new Error(`compile: op '${n.op}' has no GPU kernel`);
    const usesUniform = { v: false };
    const inShapes = n.inputs.map((i) => g.nodes[i].shape);
    const low = def.kernel({
      inShapes,
      outShape: n.shape,
      attrs: n.attrs,
      scalar: (s) => ((usesUniform.v = true), `stepF32(${scalarIdx(s, "f32")}u)`),
      scalarU32: (s) => ((usesUniform.v = true), `stepU32(${scalarIdx(s, "u32")}u)`),
      features,
      variant: opts.variant?.(n.op, inShapes, n.attrs),
    });
    const temps = (low.temps ?? []).map((elems) => {
      const v = tempValue++;
      intervals.push({ value: v, bytes: bytesFor(elems), start: at, end: at });
      return v;
    });
    for (const p of low.passes) {
      if (usesUniform.v) p.uniform = true;
      p.label = `${p.label ?? n.op}${n.label ? ` @ ${n.label}` : ""}`;
    }
    lowered.push({ node: id, passes: low.passes, ins: n.inputs, temps });
  }

  // 5. slots
  const slots = planSlots(intervals, reuse);
  const slotStorage = slots.slotBytes.map((bytes) => {
    const s: Storage = { id: storages.length, kind: "slot", bytes };
    storages.push(s);
    return s.id;
  });
  for (const [val, slot] of slots.slotOf) if (!storageOfValue.has(val)) storageOfValue.set(val, slotStorage[slot]);
  const storageOfVal = (v: number) => storageOfValue.get(v)!;

  // 6. steps
  const steps: Step[] = [];
  for (const l of lowered) {
    const n = g.nodes[l.node];
    const outS = storageOfVal(valueOf.get(l.node)!);
    const resolve = (b: BufRef, ins: number[]) =>
      b.kind === "out" ? outS : b.kind === "tmp" ? storageOfVal(l.temps[b.i]) : storageOfVal(valueOf.get(ins[b.i])!);
    for (const p of l.passes) {
      const ins = l.fusedInputs ? l.ins : n.inputs;
      steps.push({ kind: "dispatch", pass: p, storages: p.bindings.map((b) => resolve(b.buf, ins)), label: p.label!, node: l.node });
    }
  }
  for (const u of g.updates) {
    const from = storageOfVal(valueOf.get(u.value)!);
    const to = storageOfVal(valueOf.get(u.target)!);
    if (from !== to) {
      steps.push({ kind: "copy", from, to, bytes: bytesFor(size(g.nodes[u.target].shape)), label: `update ${g.nodes[u.target].attrs.name}` });
    }
  }
  const outputs = new Map<string, { storage: number; shape: Shape }>();
  for (const [name, id] of g.outputs) outputs.set(name, { storage: storageOfVal(valueOf.get(id)!), shape: g.nodes[id].shape });

  const slotBytes = slots.slotBytes.reduce((a, b) => a + b, 0);
  return {
    storages,
    steps,
    scalarIndex,
    scalarTypes,
    inputs,
    outputs,
    persistent,
    peakBytes: storages.reduce((a, s) => a + s.bytes, 0),
    slotBytes,
    stats: { nodes: live.size, dispatches: steps.filter((s) => s.kind === "dispatch").length, fusedOps },
  };
}

export function describe(p: Program): string {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1) + " MiB";
  return `${p.stats.dispatches} dispatches from ${p.stats.nodes} nodes; storage ${mb(p.peakBytes)} ` +
    `(intermediates ${mb(p.slotBytes)} in ${p.storages.filter((s) => s.kind === "slot").length} reused slots)`;
}

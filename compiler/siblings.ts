// Pass 5b of compile(): sibling reductions and their epilogues. Reductions over the same
// layout — the same input shape, axes, unit layout and split — that do not depend on one
// another are computed by one kernel (kernels/reduce.ts siblingReductionLowering):
// BatchNorm2d's backward sums Σg, Σg·x̂, … over [N, H, W] all read the same maps, and one pass
// (plus one fold) replaces several. In a single pass (one invocation per output) a member may
// also read another's output at its own output index: it is folded after it (BatchNorm2d's
// variance, centred on the mean, in the mean's kernel). Each member still folds its values in the order it would
// alone, so results do not change. Members are taken only from reductions of 4-D maps (the
// convolutional path; 5-D where views are stacked); the kernel is placed where its first member was, so a later member joins
// only when everything it reads is computed before that point, and the kernel must stay within
// the device's storage buffers.
// Epilogues: elementwise nodes with one element per output that read the kernel's outputs
// (BN's rsqrt(var + ε), the backward's per-channel factors, running statistics, BN-parameter
// momenta) are computed by the pass that writes those outputs, instead of by a dispatch of
// their own over a few hundred values.
import type { Graph } from "../ir/graph.ts";
import { sameShape, size } from "../kernels/op.ts";
import { reduceAxes } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";
import { reductionLayout } from "./codegen_reduce.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import { baseOf } from "./values.ts";

/** at most this many reductions per kernel (each adds an accumulator and a load chain to the loop) */
export const MAX_SIBLINGS = 4;

export interface SiblingPlan {
  /** the compute schedule with each kernel's later members moved right after its first */
  order: number[];
  /** first member → the other members, in output order */
  partners: Map<number, number[]>;
  /** first member → the elementwise nodes computed after its fold, in output order after the members */
  epilogues: Map<number, number[]>;
  /** the members that are not first and the epilogues (computed by their first member's kernel) */
  absorbed: Set<number>;
  /** members that read other members' outputs, folded after them (single-pass kernels only) */
  after: Set<number>;
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
  const after = new Set<number>();
  // open kernels by layout key: their first members
  const open = new Map<string, number[]>();
  for (const id of computeNodes) {
    if (!reductionOfMaps(g, id, pinned)) continue;
    const n = g.nodes[id], src = g.nodes[n.inputs[0]].shape;
    const variant = variantOf(id);
    const { rp, p } = reductionLayout(g, id, plan, variant);
    const key = JSON.stringify([src, reduceAxes(n.op, src, n.attrs), variant ?? null, rp.vec, p]);
    // a view is computed where its base is
    const direct = kernelReads(g, plan, id);
    const lead = (open.get(key) ?? []).find((a) => {
      const members = [a, ...(partners.get(a) ?? [])];
      if (members.length >= MAX_SIBLINGS) return false;
      // everything this one reads must exist where the kernel runs, or be an earlier member's
      // output at this output index, which a single pass folds first (BN's variance reads its mean)
      const early = members.filter((m) => !after.has(m));
      const foldedFirst = (r: number) =>
        p === 1 && rp.vec !== "kept" && early.includes(r) && sameShape(g.nodes[r].shape, g.nodes[id].shape) &&
        keptDims(g, r);
      const missing = (r: number) => {
        const b = baseOf(g, r);
        return pos.has(b) && pos.get(b)! >= pos.get(a)! && !(b === r && foldedFirst(r));
      };
      if (direct.some(missing)) return false;
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
    if (direct.some((r) => r === lead || partners.get(lead)!.includes(r))) after.add(id);
  }
  const epilogues = new Map<number, number[]>();
  for (const id of computeNodes) {
    if (!reductionOfMaps(g, id, pinned) || absorbed.has(id)) continue;
    const epis = planEpilogue(
      g,
      plan,
      id,
      partners.get(id) ?? [],
      pos,
      pinned,
      storageKey,
      variantOf,
      maxStorageBuffers,
    );
    if (!epis.length) continue;
    epilogues.set(id, epis);
    for (const e of epis) absorbed.add(e);
  }
  const order = computeNodes.flatMap((id) =>
    absorbed.has(id) ? [] : [id, ...(partners.get(id) ?? []), ...(epilogues.get(id) ?? [])]
  );
  return { order, partners, epilogues, absorbed, after };
}

/** Is reduction output `r` of the keepdims shape, so an input element's broadcast index is its output index? */
const keptDims = (g: Graph, r: number) =>
  (g.nodes[r].op === "sum" || g.nodes[r].op === "mean") && g.nodes[r].attrs.keepdims === true &&
  g.nodes[r].shape.length === g.nodes[g.nodes[r].inputs[0]].shape.length;

/**
 * A reduction this pass may group: a sum or mean of 4-D maps (or of views stacked as
 * [views, N, C, H, W]) that is not pinned to a kernel of its own.
 */
export const reductionOfMaps = (g: Graph, id: number, pinned: ReadonlyMap<number, string>) =>
  (g.nodes[id].op === "sum" || g.nodes[id].op === "mean") && !pinned.has(id) &&
  g.nodes[g.nodes[id].inputs[0]].shape.length >= 4;

/**
 * The epilogue of the reduction kernel led by `lead`: the elementwise nodes over its outputs
 * (one element per output: BN's rsqrt(var + ε), the backward's per-channel factors) that read
 * its outputs, each other, or values computed before the kernel, while its last pass stays
 * within the device's storage buffers. A pinned value (a running statistic's new value) joins
 * only if nothing between the kernel and its old place reads what it replaces.
 */
function planEpilogue(
  g: Graph,
  plan: FusionPlan,
  lead: number,
  partners: number[],
  pos: ReadonlyMap<number, number>,
  pinned: ReadonlyMap<number, string>,
  storageKey: (id: number) => number,
  variantOf: (id: number) => string | undefined,
  maxStorageBuffers: number,
): number[] {
  const { rp, p } = reductionLayout(g, lead, plan, variantOf(lead));
  if (rp.vec === "kept") return [];
  const inKernel = new Set([lead, ...partners]);
  const members = inKernel.size;
  const outSize = size(g.nodes[lead].shape);
  const consumers = g.consumers();
  // the last pass binds: the partials (or, unsplit, the first pass's reads), every output, the epilogue's reads
  const firstReads = p === 1 ? new Set([...inKernel].flatMap((m) => kernelReads(g, plan, m).map(storageKey))) : null;
  const epis: number[] = [];
  const extraReads = new Set<number>();
  for (let grew = true; grew;) {
    grew = false;
    const frontier = [...inKernel].flatMap((m) => readingKernels(g, plan, consumers, m));
    for (const x of [...new Set(frontier)].sort((a, b) => pos.get(a)! - pos.get(b)!)) {
      if (inKernel.has(x) || !pos.has(x) || !plan.materialized.has(x)) continue;
      if (pinned.has(x) && !movableUpdate(g, plan, x, pos, pos.get(lead)!)) continue;
      if (OPS[g.nodes[x].op].kind !== "elementwise" || size(g.nodes[x].shape) !== outSize) continue;
      const reads = kernelReads(g, plan, x).map((r) => baseOf(g, r));
      if (reads.some((r) => !inKernel.has(r) && pos.has(r) && pos.get(r)! >= pos.get(lead)!)) continue;
      const more = reads.filter((r) => !inKernel.has(r)).map(storageKey);
      const binds = new Set([...extraReads, ...more]);
      const fixed = firstReads ? firstReads.size : 1;
      if (fixed + members + epis.length + 1 + binds.size > maxStorageBuffers) continue;
      more.forEach((s) => extraReads.add(s));
      epis.push(x);
      inKernel.add(x);
      grew = true;
    }
  }
  return epis.sort((a, b) => pos.get(a)! - pos.get(b)!);
}

/**
 * May pinned value `x` be computed at position `at` instead? A graph output may; the new value
 * of a persistent tensor (possibly written in place) only if every other kernel reading the old
 * value runs before `at`.
 */
function movableUpdate(g: Graph, plan: FusionPlan, x: number, pos: ReadonlyMap<number, number>, at: number): boolean {
  const targets = g.updates.filter((u) => u.value === x).map((u) => u.target);
  for (const [k, p] of pos) {
    if (k === x || p < at) continue;
    if (kernelReads(g, plan, k).some((r) => targets.includes(baseOf(g, r)))) return false;
  }
  return true;
}

/** The kernels reading `id`: its consumers' (through views, and the kernels a fused consumer is part of). */
function readingKernels(g: Graph, plan: FusionPlan, consumers: number[][], id: number): number[] {
  return consumers[id].flatMap((c) => {
    const kind = OPS[g.nodes[c].op].kind;
    if (kind === "view") return readingKernels(g, plan, consumers, c);
    return kind === "elementwise" && !plan.materialized.has(c) ? plan.kernelsOf.get(c) ?? [] : [c];
  });
}

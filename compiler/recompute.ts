// Recomputation instead of materialisation. An elementwise value read by several kernels is,
// after grouping, written once and read by each of them. When every reader can evaluate it
// itself (elementwise kernels, or a reduction whose input it is), the value can instead be
// recomputed in each reader from its own inputs, which are in memory anyway. Decided by bytes:
//   materialise: write it once, read it in each of k readers, read its inputs once;
//   recompute:   each reader reads the inputs it does not read already.
// E.g. BatchNorm's x̂ = (x − mean)·rsqrt(var + ε) (read by the forward affine and by the
// backward) costs one [N, C] read per reader either way, so recomputing saves its write, its
// reads and its dispatch. Readers of another shape can take only single values (a per-step
// ratio): those are evaluated once per invocation there; a [1, C] vector stays materialised
// rather than being recomputed for every element of an [N, C] kernel.
import type { Graph } from "../ir/graph.ts";
import { fmtShape, size } from "../kernels/op.ts";
import { reduceAxes, REDUCTIONS } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import { usesElementIndex, walkGroup } from "./group.ts";
import { MAX_SIBLINGS, reductionOfMaps } from "./siblings.ts";

const bytes = (g: Graph, id: number) => 4 * size(g.nodes[id].shape);
const fmtBytes = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const name = (g: Graph, id: number) => `${g.nodes[id].op} #${id}`;

/** Decides, consumers first, which materialised elementwise values to recompute; updates `plan`. */
export function recomputeCheapValues(
  g: Graph,
  plan: FusionPlan,
  consumers: number[][],
  pinned: ReadonlyMap<number, string>,
  maxReads = Infinity,
): void {
  const candidates = [...plan.materialized]
    .filter((id) => OPS[g.nodes[id].op].kind === "elementwise" && !plan.why.has(id))
    .sort((a, b) => b - a);
  for (const x of candidates) {
    const readers = readersOf(g, plan, consumers[x]);
    if (typeof readers === "string") {
      plan.why.set(x, readers);
      continue;
    }
    const misfit = shapeMisfit(g, plan, x, readers);
    if (misfit) {
      plan.why.set(x, misfit);
      continue;
    }
    const own = walkGroup(g, x, plan);
    const kernels = likelyKernels(g, plan, pinned, readers, own.loads, x, maxReads + 1);
    const keep = bytes(g, x) * (1 + kernels.length) + own.loads.reduce((a, l) => a + bytes(g, l), 0);
    let extra = 0, widest = 0;
    for (const ks of kernels) {
      const has = new Set(ks.flatMap((k) => kernelReads(g, plan, k)));
      for (const l of own.loads) if (!has.has(l)) extra += bytes(g, l);
      widest = Math.max(widest, new Set([...has, ...own.loads]).size - (has.has(x) ? 1 : 0));
    }
    if (widest > maxReads) {
      plan.why.set(
        x,
        `recomputing it in its readers would make one read ${widest} buffers, more than the ${maxReads} a kernel may bind`,
      );
      continue;
    }
    if (extra > keep) {
      plan.why.set(
        x,
        `${readers.length} consumers in different kernels: ${readers.map((k) => name(g, k)).join(", ")}; ` +
          `recomputing in each would read ${fmtBytes(extra)}, materialising moves ${fmtBytes(keep)}`,
      );
      continue;
    }
    // recompute: x and the members of its group are evaluated in every reader
    plan.materialized.delete(x);
    for (const m of own.members) plan.kernelsOf.set(m, readers);
    for (const k of readers) if (REDUCTIONS.has(g.nodes[k].op) && g.nodes[k].inputs[0] === x) plan.prologueOf.set(k, x);
  }
}

/**
 * The readers grouped by the kernel that will run them: the reductions siblings.ts may group
 * (reductionOfMaps) of one input shape over the same axes are computed by one kernel, which reads
 * each buffer once — BatchNorm2d's backward sums Σg, Σg·x̂ … all read the ReLU's gradient, and
 * count once, not four times, when it is weighed for recomputation. A group takes at most MAX_SIBLINGS
 * members and, as siblings.ts allows a one-pass kernel, its reads (with `x`'s loads in place of
 * `x`) and one output per member within `maxBuffers`.
 */
function likelyKernels(
  g: Graph,
  plan: FusionPlan,
  pinned: ReadonlyMap<number, string>,
  readers: number[],
  loads: number[],
  x: number,
  maxBuffers: number,
): number[][] {
  const reads = (ks: number[]) =>
    new Set([...ks.flatMap((k) => kernelReads(g, plan, k)).filter((r) => r !== x), ...loads]).size;
  const open = new Map<string, number[]>(), out: number[][] = [];
  for (const k of readers) {
    const n = g.nodes[k], src = reductionOfMaps(g, k, pinned) ? g.nodes[n.inputs[0]].shape : undefined;
    const key = src && JSON.stringify([src, reduceAxes(n.op, src, n.attrs)]);
    const last = key === undefined ? undefined : open.get(key);
    if (last && last.length < MAX_SIBLINGS && reads([...last, k]) + last.length + 1 <= maxBuffers) {
      last.push(k);
      continue;
    }
    const fresh = [k];
    if (key !== undefined) open.set(key, fresh);
    out.push(fresh);
  }
  return out;
}

/** The kernels that would evaluate a value read by `cs`, in schedule order, or why it cannot be. */
function readersOf(g: Graph, plan: FusionPlan, cs: number[]): number[] | string {
  if (!cs.length) return "no consumers";
  const kernels = new Set<number>();
  for (const c of cs) {
    const op = g.nodes[c].op, kind = OPS[op].kind;
    if (kind === "elementwise") { for (const k of plan.kernelsOf.get(c)!) kernels.add(k); }
    else if (REDUCTIONS.has(op) && !plan.prologueOf.has(c)) kernels.add(c);
    else if (kind === "view") return `read through a view (${op} #${c})`;
    else return `read by ${name(g, c)}`;
  }
  return [...kernels].sort((a, b) => a - b);
}

/** Readers whose elements differ from x's can evaluate x only once per invocation (a single value). */
function shapeMisfit(g: Graph, plan: FusionPlan, x: number, readers: number[]): string | undefined {
  const xs = g.nodes[x].shape;
  for (const k of readers) {
    const ks = elementShape(g, k);
    if (size(ks) === size(xs)) continue;
    if (size(xs) !== 1) {
      return `shape ${fmtShape(xs)} differs from consumer ${name(g, k)}'s ${
        fmtShape(ks)
      } (recomputing would repeat it per element)`;
    }
    if (walkGroup(g, x, plan).members.some((m) => usesElementIndex(g, m))) {
      return `reads the element index, and consumer ${name(g, k)} has shape ${fmtShape(ks)}`;
    }
  }
  return undefined;
}

/** The element shape a kernel iterates: its own, or a reduction's input. */
function elementShape(g: Graph, k: number) {
  const n = g.nodes[k];
  return REDUCTIONS.has(n.op) ? g.nodes[n.inputs[0]].shape : n.shape;
}

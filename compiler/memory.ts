// Pass 7 of compile(): buffer planning by liveness. Every intermediate value lives from the
// kernel that writes it to the last kernel that reads it (graph outputs and update values to
// the end of the step); a kernel's temporaries live during that kernel only. Values whose
// lifetimes do not overlap share a slot. The total is known before anything is allocated.
import type { Graph } from "../ir/graph.ts";
import { type Dtype, size } from "../kernels/op.ts";
import { type FusionPlan, kernelReads } from "./fusion_plan.ts";
import type { Values } from "./values.ts";

export interface Interval {
  value: number;
  bytes: number;
  start: number;
  end: number;
}

export interface SlotPlan {
  slotOf: Map<number, number>;
  slotBytes: number[];
}

/**
 * Lifetimes of the values not bound to a leaf buffer, and of every kernel's temporaries, in
 * schedule positions. Temporaries get value ids after the graph's; `tempValues[k]` lists those
 * of the k-th kernel of `computeNodes`; `alsoWrites[k]`, the nodes that kernel writes besides its own;
 * `sharedTemps[k]`, its temporaries that are an earlier kernel's.
 */
export function valueIntervals(
  g: Graph,
  plan: FusionPlan,
  values: Values,
  bound: ReadonlyMap<number, number>,
  temps: number[][],
  alsoWrites: number[][] = [],
  sharedTemps: ReadonlyMap<number, { kernel: number; temp: number }>[] = [],
): { intervals: Interval[]; tempValues: number[][] } {
  const { valueOf, computeNodes } = values;
  const end = computeNodes.length + 1;
  const lastUse = new Map<number, number>();
  const use = (value: number, at: number) => lastUse.set(value, Math.max(lastUse.get(value) ?? -1, at));
  computeNodes.forEach((k, at) => {
    for (const l of kernelReads(g, plan, k)) use(valueOf.get(l)!, at);
  });
  for (const id of g.outputs.values()) use(valueOf.get(id)!, end);
  for (const u of g.updates) use(valueOf.get(u.value)!, end);

  // a node written by another node's kernel (sibling reductions) lives from that kernel on
  const writtenAt = new Map<number, number>();
  alsoWrites.forEach((ids, at) => ids.forEach((id) => writtenAt.set(id, at)));
  const intervals: Interval[] = [];
  computeNodes.forEach((id, at) => {
    const value = valueOf.get(id)!;
    if (!bound.has(value)) {
      const start = writtenAt.get(id) ?? at;
      // a value written by a later kernel than its place (compiler/co_outputs.ts) lives at least there
      const end = Math.max(lastUse.get(value) ?? at, start);
      intervals.push({ value, bytes: bytesFor(size(g.nodes[id].shape)), start, end });
    }
  });
  let next = values.valueNodes.length;
  const tempIntervals = new Map<number, Interval>();
  const tempValues: number[][] = [];
  temps.forEach((elems, at) => {
    tempValues.push(elems.map((e, i) => {
      // an earlier kernel's temporary this kernel reads (compiler/shared_passes.ts) lives until here
      const from = sharedTemps[at]?.get(i);
      if (from) {
        const value = tempValues[from.kernel][from.temp];
        tempIntervals.get(value)!.end = at;
        return value;
      }
      const iv = { value: next, bytes: bytesFor(e), start: at, end: at };
      intervals.push(iv);
      tempIntervals.set(next, iv);
      return next++;
    }));
  });
  return { intervals, tempValues };
}

/** Best-fit greedy over intervals sorted by start; with reuse off every value gets its own slot. */
export function planSlots(intervals: Interval[], reuse: boolean): SlotPlan {
  const slotOf = new Map<number, number>();
  const slotBytes: number[] = [];
  const busyUntil: number[] = [];
  const sorted = [...intervals].sort((a, b) => a.start - b.start || b.bytes - a.bytes);
  for (const iv of sorted) {
    let best = -1;
    if (reuse) {
      for (let s = 0; s < slotBytes.length; s++) {
        if (busyUntil[s] >= iv.start) continue;
        // prefer the smallest slot that fits; otherwise the largest one (it will grow)
        const fits = slotBytes[s] >= iv.bytes;
        if (best < 0) best = s;
        else {
          const bFits = slotBytes[best] >= iv.bytes;
          if (fits && (!bFits || slotBytes[s] < slotBytes[best])) best = s;
          else if (!fits && !bFits && slotBytes[s] > slotBytes[best]) best = s;
        }
      }
    }
    if (best < 0) {
      best = slotBytes.length;
      slotBytes.push(0);
      busyUntil.push(-1);
    }
    slotBytes[best] = Math.max(slotBytes[best], iv.bytes);
    busyUntil[best] = iv.end;
    slotOf.set(iv.value, best);
  }
  return { slotOf, slotBytes };
}

const BYTES: Record<Dtype, number> = { f32: 4, u8: 1 };

/** Bytes of a buffer of `elements` values, rounded up to 16 (vec4 loads may read the last word). */
export const bytesFor = (elements: number, dtype: Dtype = "f32") =>
  Math.ceil((Math.max(1, elements) * BYTES[dtype]) / 16) * 16;

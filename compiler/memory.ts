// Buffer planning by liveness: every intermediate value lives from the dispatch that writes it
// to the last dispatch that reads it; values whose lifetimes do not overlap share a slot.
// The total is known before anything is allocated on the GPU.
import type { Dtype } from "../kernels/op.ts";

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
export const bytesFor = (elements: number, dtype: Dtype = "f32") => Math.ceil((Math.max(1, elements) * BYTES[dtype]) / 16) * 16;

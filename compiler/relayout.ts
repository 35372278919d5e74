// Pass 6a of compile(): transposes written by the producer. A kernel pass that only transposes
// one of its op's inputs into a temporary (Pass.relayout: the weight gradient's cotangent laid out
// for vec4 loads) costs a dispatch that reads and writes the whole tensor. When that input is
// computed by an elementwise kernel generated just for it (BatchNorm2d's backward, read by the
// convolution's two gradients), that kernel writes the transposed copy as well, into a temporary
// the convolution then reads (memory.ts keeps it alive until there), and the pass is dropped.
// Only transposes without padding columns qualify: the producer writes each element once.
import type { Graph } from "../ir/graph.ts";
import { type Lowering, type Pass, type Relayout, size, UNIFORM_BINDING } from "../kernels/op.ts";
import { baseOf } from "./values.ts";

/** For a kernel: its temporary i is the temporary `temp` of the earlier kernel `kernel`. */
export type BorrowedTemps = Map<number, { kernel: number; temp: number }>;

/**
 * Drops from `low` (the lowering of node `id`) the transposes that the kernels computing their
 * inputs can write instead, regenerating those kernels (`rewrite`); returns which of its
 * temporaries are now theirs. `ewAt`: elementwise node → its kernel's index in `kernels`.
 */
export function moveRelayouts(
  g: Graph,
  id: number,
  low: Lowering,
  kernels: { passes: Pass[]; temps: number[] }[],
  ewAt: ReadonlyMap<number, number>,
  rewrite: (producer: number, t: Relayout) => Pass,
  maxStorageBuffers: number,
): BorrowedTemps {
  const borrowed: BorrowedTemps = new Map();
  const writersOf = (i: number) =>
    low.passes.filter((p) => p.bindings.some((b) => b.write && b.buf.kind === "tmp" && b.buf.i === i)).length;
  low.passes = low.passes.filter((p) => {
    const t = p.relayout;
    if (!t || t.Cp !== t.Cc) return true;
    // through views: a reshape (views stacked as [views, N, …] and back) keeps the element order
    const src = baseOf(g, g.nodes[id].inputs[t.from]);
    const at = ewAt.get(src);
    if (at === undefined || size(g.nodes[src].shape) !== t.P * t.Cc * t.Q) return true;
    const k = kernels[at], dst = p.bindings.find((b) => b.write)!.buf;
    if (dst.kind !== "tmp" || writersOf(dst.i) !== 1 || k.temps.length || k.passes.length !== 1) return true;
    // storage bindings stay below the step uniform's
    if (k.passes[0].bindings.length + 1 > Math.min(maxStorageBuffers, UNIFORM_BINDING)) return true;
    k.passes = [rewrite(src, t)];
    k.temps = [t.P * t.Q * t.Cp];
    borrowed.set(dst.i, { kernel: at, temp: 0 });
    return false;
  });
  return borrowed;
}

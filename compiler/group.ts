// What one generated kernel evaluates: starting from the node it computes, every node that is
// not materialised is computed inside it (its members), every materialised node it meets is
// loaded. The fusion planner (costs, reasons), the liveness of buffers and the code
// generators all use this one walk, so they agree on which kernel reads what.
import type { Graph } from "../ir/graph.ts";
import { type Shape, size } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";

export interface GroupView {
  /** nodes that own (or alias) a buffer */
  materialized: ReadonlySet<number>;
  /** nodes whose value does not depend on the element (consts, step scalars, ops of those) */
  uniformValue: ReadonlySet<number>;
  /** materialised nodes evaluated (and written) by the kernel of another node, not loaded there */
  computedBy?: ReadonlyMap<number, number>;
  /** the inverse: node → the materialised nodes its kernel also evaluates and writes */
  computes?: ReadonlyMap<number, number[]>;
}

export interface Group {
  /** non-materialised nodes evaluated per element, inputs before users; the top node last */
  members: number[];
  /** uniform nodes the members use, inputs before users */
  uniforms: number[];
  /** materialised nodes the members read, in first-use order */
  loads: number[];
}

/**
 * The group a kernel evaluating `top` computes (`top` itself is a member even if materialised, and
 * so are the materialised nodes that `top`'s kernel also computes, plan.computes, with the members
 * of their own groups, whether `top` reads them or not).
 */
export function walkGroup(g: Graph, top: number, plan: GroupView): Group {
  const members: number[] = [], uniforms: number[] = [], loads: number[] = [];
  const seen = new Set<number>();
  const visit = (id: number, isTop: boolean) => {
    if (seen.has(id)) return;
    seen.add(id);
    if (plan.uniformValue.has(id)) {
      for (const i of g.nodes[id].inputs) visit(i, false);
      uniforms.push(id);
    } else if (!isTop && plan.materialized.has(id) && plan.computedBy?.get(id) !== top) {
      loads.push(id);
    } else {
      for (const i of g.nodes[id].inputs) visit(i, false);
      members.push(id);
    }
  };
  visit(top, true);
  for (const x of plan.computes?.get(top) ?? []) visit(x, true);
  return { members, uniforms, loads };
}

/** Does the op's WGSL read the element index (eye, random draws)? Such a node must be evaluated
 * at its own shape, so it is never recomputed inside a kernel of another shape. */
export function usesElementIndex(g: Graph, id: number): boolean {
  const n = g.nodes[id];
  const def = OPS[n.op];
  if (!def.ew) return false;
  const mark = "\u0000idx\u0000";
  const text = def.ew(n.inputs.map((_, k) => `a${k}`), {
    idx: mark,
    outShape: n.shape,
    attrs: n.attrs,
    scalar: () => "s",
    scalarU32: () => "s",
  });
  return text.includes(mark);
}

/**
 * How a kernel over elements of shape `out` can read an input of shape `inp` (broadcastable to
 * `out`) four consecutive elements (4v … 4v+3) at a time:
 *  - same:   the same flat index (no broadcasting): one vec4 at v;
 *  - one:    a single value, loaded once per invocation;
 *  - vec:    the four map to four consecutive input elements starting at a multiple of 4;
 *  - splat:  the four map to one input element;
 *  - pair:   each input element repeats over a run of ≥ 3 output elements that is not a
 *            multiple of 4 (a per-channel value over a 7×7 map), so the four map to at most two
 *            consecutive input elements: two loads, a select per lane;
 *  - scalar: none of these (a contiguous run not a multiple of 4, or a repeat shorter than 3):
 *            element by element only.
 */
export type LoadMode = "same" | "one" | "vec" | "splat" | "pair" | "scalar";

export function loadMode(out: Shape, inp: Shape): LoadMode {
  if (size(inp) === size(out)) return "same";
  if (size(inp) === 1) return "one";
  const contiguous = trailingRun(out, inp, (o, d) => d === o);
  if (contiguous > 1) return contiguous % 4 === 0 ? "vec" : "scalar";
  // a run of ≥ 3 holds at least one of any 4 consecutive elements whole: at most two runs
  const repeat = repeatRun(out, inp);
  return repeat % 4 === 0 ? "splat" : repeat >= 3 ? "pair" : "scalar";
}

/** The run of output elements over which one input element repeats (1: it does not). */
export const repeatRun = (out: Shape, inp: Shape): number => trailingRun(out, inp, (_o, d) => d === 1);

/** The product of `out`'s trailing axes (size 1 skipped) while `keep` holds for them and `inp`'s. */
function trailingRun(out: Shape, inp: Shape, keep: (o: number, d: number) => boolean): number {
  let run = 1;
  for (let ax = out.length - 1, ia = inp.length - 1; ax >= 0; ax--, ia--) {
    const o = out[ax], d = ia >= 0 ? inp[ia] : 1;
    if (o === 1) continue;
    if (!keep(o, d)) break;
    run *= o;
  }
  return run;
}

/**
 * For a "vec" load: is the input `inp` a trailing block of `out` repeated over the leading axes
 * (a [C] or [1, C] row vector against [N, C], a [1, H, W] plane against [N, H, W])? Then its
 * index is the flat index modulo size(inp), the same for every row of that period.
 */
export function isRepeatedSuffix(out: Shape, inp: Shape): boolean {
  let started = false;
  for (let ax = out.length - 1, ia = inp.length - 1; ax >= 0; ax--, ia--) {
    const d = ia >= 0 ? inp[ia] : 1;
    if (!started && d !== out[ax]) started = true;
    if (started && d !== 1) return false;
  }
  return true;
}

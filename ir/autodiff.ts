// Reverse-mode autodiff over the graph IR. Each op's VJP emits more primitives into the same
// graph, so the backward pass is compiled, fused and scheduled exactly like the forward one.
import type { Graph } from "./graph.ts";
import type { Tensor } from "./tensor.ts";
import { OPS } from "../kernels/registry.ts";
import { fmtShape } from "../kernels/op.ts";

/**
 * Gradients of scalar `loss` with respect to `wrt`. Cotangents reaching a node along several
 * paths (a parameter shared by two branches) are summed. A parameter the loss does not reach
 * gets `null`, which callers turn into a clear error.
 */
export function grad(g: Graph, loss: Tensor, wrt: Tensor[]): (Tensor | null)[] {
  if (loss.shape.length !== 0) throw new Error(`grad: loss must be a scalar, got shape ${fmtShape(loss.shape)}`);
  const reach = reachable(g, loss.id);
  const cot = new Map<number, Tensor>();
  cot.set(loss.id, g.const(1));
  const want = new Set(wrt.map((t) => t.id));
  for (let id = loss.id; id >= 0; id--) {
    const ct = cot.get(id);
    if (!ct || !reach.has(id)) continue;
    const n = g.nodes[id];
    const def = OPS[n.op];
    if (def.kind === "leaf" || n.inputs.length === 0) continue;
    if (!def.vjp) {
      if (n.inputs.some((i) => needsGrad(g, i, want))) {
        throw new Error(
          `grad: op '${n.op}'${n.label ? ` at ${n.label}` : ""} has no VJP but a parameter depends on it`,
        );
      }
      continue;
    }
    const prev = g.scope;
    g.scope = n.label ? `${n.label} (backward)` : "backward";
    const gs = def.vjp({ ins: n.inputs.map((i) => g.t(i)), out: g.t(id), attrs: n.attrs, g: ct });
    g.scope = prev;
    n.inputs.forEach((inp, k) => {
      const gk = gs[k];
      if (!gk) return;
      const gi = g.t(gk.id); // the op table's Tensor interface, as this graph's Tensor
      if (fmtShape(gi.shape) !== fmtShape(g.nodes[inp].shape)) {
        throw new Error(
          `grad: VJP of '${n.op}'${n.label ? ` at ${n.label}` : ""} returned ${
            fmtShape(gi.shape)
          } for input ${k} of shape ${fmtShape(g.nodes[inp].shape)}`,
        );
      }
      const had = cot.get(inp);
      cot.set(inp, had ? addCotangents(g, had, gi) : gi);
    });
  }
  return wrt.map((t) => cot.get(t.id) ?? null);
}

/**
 * a + b. The cotangents of slices of one tensor (views stacked along the batch, then taken
 * apart) arrive zero-padded by concat; where each one's data falls in the other's zeros, the
 * sum is one concat of the data, not two concats of zeros and an add.
 */
function addCotangents(g: Graph, a: Tensor, b: Tensor): Tensor {
  const [sa, sb] = [segments(g, a.id), segments(g, b.id)];
  if (!sa || !sb || sa.axis !== sb.axis) return a.add(b);
  // every data segment of each must fall where the other has zeros
  const clear = (segs: Segment[], s: Segment) =>
    segs.every((o) => o.id === undefined || o.end <= s.start || o.start >= s.end);
  const dataOf = (x: Segment[], other: Segment[]) => x.filter((s) => s.id !== undefined && clear(other, s));
  const data = [...dataOf(sa.segs, sb.segs), ...dataOf(sb.segs, sa.segs)];
  if (data.length !== [...sa.segs, ...sb.segs].filter((s) => s.id !== undefined).length) return a.add(b);
  data.sort((x, y) => x.start - y.start);
  const ax = sa.axis, shape = a.shape, parts: Tensor[] = [];
  let at = 0;
  const zeros = (n: number) => g.const(0, shape.map((d, i) => (i === ax ? n : d)));
  for (const s of data) {
    if (s.start > at) parts.push(zeros(s.start - at));
    parts.push(g.t(s.id!));
    at = s.end;
  }
  if (at < shape[ax]) parts.push(zeros(shape[ax] - at));
  return parts.length === 1 ? parts[0] : g.add("concat", parts, { axis: ax });
}

/** a concat's inputs as extents along its axis; `id` undefined where the input is zeros */
interface Segment {
  start: number;
  end: number;
  id?: number;
}
function segments(g: Graph, id: number): { axis: number; segs: Segment[] } | undefined {
  const n = g.nodes[id];
  if (n.op !== "concat") return undefined;
  const axis = n.attrs.axis as number;
  let at = 0;
  const segs = n.inputs.map((i) => {
    const m = g.nodes[i], len = m.shape[axis];
    const seg = { start: at, end: at + len, id: m.op === "const" && m.attrs.value === 0 ? undefined : i };
    at += len;
    return seg;
  });
  return { axis, segs };
}

/** nodes the loss depends on */
function reachable(g: Graph, root: number): Set<number> {
  const seen = new Set<number>([root]);
  for (let id = root; id >= 0; id--) {
    if (!seen.has(id)) continue;
    for (const i of g.nodes[id].inputs) seen.add(i);
  }
  return seen;
}

const memo = new WeakMap<Graph, Map<string, boolean>>();
/** does node `id` depend on any of `want`? */
function needsGrad(g: Graph, id: number, want: Set<number>): boolean {
  let m = memo.get(g);
  if (!m) memo.set(g, m = new Map());
  const key = `${id}:${[...want].join(",")}`;
  const hit = m.get(key);
  if (hit !== undefined) return hit;
  const r = want.has(id) || g.nodes[id].inputs.some((i) => needsGrad(g, i, want));
  m.set(key, r);
  return r;
}

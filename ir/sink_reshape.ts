// Pointwise ops see through reshapes that drop axes: an op reading such a reshape of an
// elementwise value is built at that value's shape, and the reshape moves after it. The compiler
// fuses chains of elementwise ops into one kernel, but a value read through a view (a reshape
// aliases its input's buffer) must be materialised first. BatchNorm over views stacked along the
// batch normalises [views, N, C, H, W] while the layers around it see [views·N, C, H, W]:
// without this, its scale, shift, ReLU and residual add would each cost a kernel more.
import { type Attrs, sameShape, type Shape } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import type { Graph } from "./graph.ts";
import type { Tensor } from "./tensor.ts";

/**
 * `op` (pointwise, output shape `out`) built at the higher-rank shape of a reshaped elementwise
 * input, then reshaped to `out`; undefined where no input is such a reshape or another input
 * does not map onto that shape (it must be constant or whole along the reshaped leading axes).
 */
export function sinkReshape(g: Graph, op: string, ids: number[], out: Shape, attrs: Attrs): Tensor | undefined {
  const at = ids.map((i) => g.nodes[i]).find((n) =>
    n.op === "reshape" && sameShape(n.shape, out) && OPS[g.nodes[n.inputs[0]].op].kind === "elementwise" &&
    g.nodes[n.inputs[0]].shape.length > out.length
  );
  if (!at) return undefined;
  const to = g.nodes[at.inputs[0]].shape;
  // the axes both shapes end with; the leading ones differ
  let k = 0;
  while (k < out.length && out[out.length - 1 - k] === to[to.length - 1 - k]) k++;
  const lead = out.slice(0, out.length - k), toLead = to.slice(0, to.length - k);
  const mapped: number[] = [];
  for (const id of ids) {
    const n = g.nodes[id];
    const s = [...Array(out.length - n.shape.length).fill(1), ...n.shape];
    const head = s.slice(0, lead.length), tail = s.slice(lead.length);
    const shape = head.every((d) => d === 1)
      ? [...toLead.map(() => 1), ...tail]
      : sameShape(head, lead)
      ? [...toLead, ...tail]
      : undefined;
    if (!shape) return undefined;
    // a reshape of a reshape reads the first one's input
    const base = n.op === "reshape" ? g.nodes[n.inputs[0]] : n;
    mapped.push(sameShape(base.shape, shape) ? base.id : g.t(base.id).reshape(shape).id);
  }
  return g.add(op, mapped, attrs).reshape(out);
}

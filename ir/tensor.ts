// A handle on a graph node with operator sugar, so losses and layers read like maths.
// Every method is a thin call to Graph.add: the op table stays the single source of truth.
import type { Attrs, Shape, Tensor as SymbolicTensor } from "../kernels/op.ts";
import type { Graph } from "./graph.ts";

type T = Tensor | number;

export class Tensor implements SymbolicTensor {
  constructor(readonly g: Graph, readonly id: number) {}

  get shape(): Shape {
    return this.g.nodes[this.id].shape;
  }
  get rank(): number {
    return this.shape.length;
  }

  op(name: string, others: Tensor[] = [], attrs: Attrs = {}): Tensor {
    return this.g.add(name, [this, ...others], attrs);
  }
  private lift(x: T): Tensor {
    return typeof x === "number" ? this.g.const(x) : x;
  }

  add(x: T): Tensor {
    return this.op("add", [this.lift(x)]);
  }
  sub(x: T): Tensor {
    return this.op("sub", [this.lift(x)]);
  }
  mul(x: T): Tensor {
    return this.op("mul", [this.lift(x)]);
  }
  div(x: T): Tensor {
    return this.op("div", [this.lift(x)]);
  }
  pow(x: T): Tensor {
    return this.op("pow", [this.lift(x)]);
  }
  maximum(x: T): Tensor {
    return this.op("maximum", [this.lift(x)]);
  }
  minimum(x: T): Tensor {
    return this.op("minimum", [this.lift(x)]);
  }
  neg(): Tensor {
    return this.op("neg");
  }
  exp(): Tensor {
    return this.op("exp");
  }
  log(): Tensor {
    return this.op("log");
  }
  sqrt(): Tensor {
    return this.op("sqrt");
  }
  rsqrt(): Tensor {
    return this.op("rsqrt");
  }
  square(): Tensor {
    return this.op("square");
  }
  abs(): Tensor {
    return this.op("abs");
  }
  relu(): Tensor {
    return this.op("relu");
  }
  sigmoid(): Tensor {
    return this.op("sigmoid");
  }
  tanh(): Tensor {
    return this.op("tanh");
  }
  stopGrad(): Tensor {
    return this.op("stopGrad");
  }
  gt(x: T): Tensor {
    return this.op("gt", [this.lift(x)]);
  }
  lt(x: T): Tensor {
    return this.op("lt", [this.lift(x)]);
  }
  eq(x: T): Tensor {
    return this.op("eq", [this.lift(x)]);
  }
  where(a: T, b: T): Tensor {
    return this.op("where", [this.lift(a), this.lift(b)]);
  }

  sum(axes?: number[], keepdims = false): Tensor {
    return this.op("sum", [], { axes: this.axes(axes), keepdims });
  }
  mean(axes?: number[], keepdims = false): Tensor {
    return this.op("mean", [], { axes: this.axes(axes), keepdims });
  }
  max(axes?: number[], keepdims = false): Tensor {
    return this.op("max", [], { axes: this.axes(axes), keepdims });
  }
  logsumexp(axis = -1, keepdims = false): Tensor {
    return this.op("logsumexp", [], { axis: this.ax(axis), keepdims });
  }
  softmax(axis = -1): Tensor {
    return this.op("softmax", [], { axis: this.ax(axis) });
  }

  matmul(b: Tensor, transA = false, transB = false): Tensor {
    return this.op("matmul", [b], { transA, transB });
  }
  reshape(shape: Shape): Tensor {
    return this.op("reshape", [], { shape: [...shape] });
  }
  transpose(perm?: number[]): Tensor {
    const p = perm ?? this.shape.map((_, i) => i).reverse();
    return this.op("transpose", [], { perm: p });
  }
  /** matrix transpose of the last two axes */
  get T(): Tensor {
    const p = this.shape.map((_, i) => i);
    [p[p.length - 2], p[p.length - 1]] = [p[p.length - 1], p[p.length - 2]];
    return this.transpose(p);
  }
  slice(axis: number, start: number, end: number): Tensor {
    return this.op("slice", [], { axis: this.ax(axis), start, end });
  }

  private ax(a: number): number {
    return a < 0 ? a + this.rank : a;
  }
  private axes(a?: number[]): number[] {
    return (a ?? this.shape.map((_, i) => i)).map((x) => this.ax(x));
  }
}

export function concat(ts: Tensor[], axis: number): Tensor {
  const ax = axis < 0 ? axis + ts[0].rank : axis;
  return rejoined(ts, ax) ?? ts[0].g.add("concat", ts, { axis: ax });
}

/** The tensor whose consecutive slices along `axis`, end to end, `ts` are (views taken apart and put back), or undefined. */
function rejoined(ts: Tensor[], axis: number): Tensor | undefined {
  const g = ts[0].g, nodes = ts.map((t) => g.nodes[t.id]);
  const src = nodes[0].inputs[0];
  let at = 0;
  for (const n of nodes) {
    if (n.op !== "slice" || n.inputs[0] !== src || n.attrs.axis !== axis || n.attrs.start !== at) return undefined;
    at = n.attrs.end as number;
  }
  return at === g.nodes[src].shape[axis] ? g.t(src) : undefined;
}

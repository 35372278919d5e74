// The graph IR: a flat list of nodes in creation (= topological) order. Every node has a
// statically known shape, inferred by its op's shape rule at creation time.
import { type Attrs, type Dtype, fmtShape, type Shape, ShapeError } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { sinkReshape } from "./sink_reshape.ts";
import { Tensor } from "./tensor.ts";

export interface Node {
  id: number;
  op: string;
  inputs: number[];
  attrs: Attrs;
  shape: Shape;
  /** where the node came from (spec path or method), used in error messages */
  label?: string;
}

/** A persistent buffer written at the end of the step: optimizer updates, EMA, running stats, queues. */
export interface Update {
  target: number;
  value: number;
}

/** A persistent tensor as a builder asks for it: its kind, name and initial value. */
export interface Persistent {
  op: "param" | "state";
  name: string;
  init: Init;
}

/**
 * What a graph's builder decides as nodes are added. The IR knows nothing of training: the
 * spec → graph stage (step/graph_rules.ts) uses these hooks to round matmul operands to f16 and
 * to build an EMA copy of a module with the same layer code; the graph only applies them.
 */
export interface BuildRules {
  /** the inputs op `op` gets, given those it was asked for (e.g. the operands rounded to f16) */
  inputs?(g: Graph, op: string, ids: number[]): number[];
  /** the persistent tensor created when `asked` is (e.g. an EMA shadow for a parameter) */
  persistent?(asked: Persistent): Persistent;
}

export class Graph {
  nodes: Node[] = [];
  updates: Update[] = [];
  /** named results read back to the host (loss, metrics) */
  outputs: Map<string, number> = new Map();
  /** label applied to nodes created while it is set */
  scope: string | undefined;
  /** the builder's rules applied as nodes are added (see BuildRules); none by default */
  rules: BuildRules | undefined;

  add(op: string, inputs: (Tensor | number)[], attrs: Attrs = {}): Tensor {
    const def = OPS[op];
    if (!def) throw new ShapeError(op, `unknown op '${op}' (known: ${Object.keys(OPS).join(", ")})`);
    let ids = inputs.map((t) => (typeof t === "number" ? t : t.id));
    if (this.rules?.inputs) ids = this.rules.inputs(this, op, ids);
    const inShapes = ids.map((i) => this.nodes[i].shape);
    let shape: Shape;
    try {
      shape = def.shape(inShapes, attrs);
    } catch (e) {
      const where = this.scope ? ` at ${this.scope}` : "";
      const ins = inShapes.map(fmtShape).join(", ");
      throw new ShapeError(op, `${(e as Error).message.replace(/^\w+: /, "")}${where} (inputs ${ins})`);
    }
    if (def.pointwise) {
      const sunk = sinkReshape(this, op, ids, shape, attrs);
      if (sunk) return sunk;
    }
    const node: Node = { id: this.nodes.length, op, inputs: ids, attrs, shape: [...shape], label: this.scope };
    this.nodes.push(node);
    return new Tensor(this, node.id);
  }

  t(id: number): Tensor {
    return new Tensor(this, id);
  }

  /** a buffer the host fills; u8 inputs (image bytes) are read only by kernels that unpack them */
  input(name: string, shape: Shape, dtype: Dtype = "f32"): Tensor {
    return this.add("input", [], dtype === "f32" ? { name, shape: [...shape] } : { name, shape: [...shape], dtype });
  }
  /** trainable parameter; `init` is a host-side initializer spec (see runtime/init.ts) */
  param(name: string, shape: Shape, init: Init, group = "default"): Tensor {
    const p = this.rules?.persistent?.({ op: "param", name, init }) ?? { op: "param", name, init };
    return this.persistent(p.op, p.name, shape, { init: p.init, group });
  }
  /** persistent non-trainable buffer (running stats, EMA weights, queues, optimizer moments) */
  state(name: string, shape: Shape, init: Init): Tensor {
    const p = this.rules?.persistent?.({ op: "state", name, init }) ?? { op: "state", name, init };
    return this.persistent(p.op, p.name, shape, { init: p.init });
  }

  /** params and state are unique by name: asking again returns the same node (weight sharing) */
  private persistent(op: "param" | "state", name: string, shape: Shape, attrs: Attrs): Tensor {
    const had = this.byName.get(name);
    if (had !== undefined) {
      const n = this.nodes[had];
      if (n.op !== op || fmtShape(n.shape) !== fmtShape(shape)) {
        throw new ShapeError(
          op,
          `'${name}' already exists as ${n.op} ${fmtShape(n.shape)}, asked again as ${op} ${fmtShape(shape)}`,
        );
      }
      return this.t(had);
    }
    const t = this.add(op, [], { name, shape: [...shape], ...attrs });
    this.byName.set(name, t.id);
    return t;
  }
  private byName = new Map<string, number>();

  /** a persistent tensor's value as of now in the step: the pending update if one was assigned */
  current(target: Tensor): Tensor {
    for (let i = this.updates.length - 1; i >= 0; i--) {
      if (this.updates[i].target === target.id) return this.t(this.updates[i].value);
    }
    return target;
  }
  find(name: string): Tensor | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.t(id);
  }
  /** per-step scalar from the step uniform (lr, tau, step, seed…) */
  scalar(name: string): Tensor {
    return this.add("scalar", [], { name });
  }
  const(value: number, shape: Shape = []): Tensor {
    return this.add("const", [], { value, shape: [...shape] });
  }

  assign(target: Tensor, value: Tensor): void {
    const t = this.nodes[target.id];
    if (t.op !== "param" && t.op !== "state") throw new Error(`assign: target must be a param or state, got ${t.op}`);
    if (fmtShape(t.shape) !== fmtShape(value.shape)) {
      throw new ShapeError(
        "assign",
        `value ${fmtShape(value.shape)} does not match ${t.attrs.name} ${fmtShape(t.shape)}`,
      );
    }
    // a later assignment to the same target supersedes the earlier one (build it from current())
    this.updates = this.updates.filter((u) => u.target !== target.id);
    this.updates.push({ target: target.id, value: value.id });
  }

  output(name: string, t: Tensor): void {
    this.outputs.set(name, t.id);
  }

  params(): Node[] {
    return this.nodes.filter((n) => n.op === "param");
  }
  /** consumers of each node (including update and output uses) */
  consumers(): number[][] {
    const c: number[][] = this.nodes.map(() => []);
    for (const n of this.nodes) for (const i of n.inputs) c[i].push(n.id);
    return c;
  }
}

export type Init =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "const"; value: number }
  | { kind: "normal"; std: number }
  /** standard normal rows of `width` values, each scaled to unit L2 norm (MoCo's initial random keys) */
  | { kind: "unitRows"; width: number }
  | { kind: "uniform"; bound: number }
  /** copy of another persistent tensor's initial value (EMA targets start equal to online) */
  | { kind: "copy"; of: string };

// The graph IR: a flat list of nodes in creation (= topological) order. Every node has a
// statically known shape, inferred by its op's shape rule at creation time.
import { type Attrs, type Dtype, fmtShape, type Shape, ShapeError } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
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

export class Graph {
  nodes: Node[] = [];
  updates: Update[] = [];
  /** named results read back to the host (loss, metrics) */
  outputs: Map<string, number> = new Map();
  /** label applied to nodes created while it is set */
  scope: string | undefined;
  /**
   * While set, the operands of ops marked f16Operands (matmul, convolutions) are rounded to f16
   * as they are added, except in scopes `keepF32` names (the loss and its statistics stay f32):
   * forward and backward alike, since the backward's matmuls are created the same way.
   */
  mixedPrecision: { keepF32(scope: string | undefined): boolean } | undefined;

  add(op: string, inputs: (Tensor | number)[], attrs: Attrs = {}): Tensor {
    const def = OPS[op];
    if (!def) throw new ShapeError(op, `unknown op '${op}' (known: ${Object.keys(OPS).join(", ")})`);
    let ids = inputs.map((t) => (typeof t === "number" ? t : t.id));
    if (def.f16Operands && this.mixedPrecision && !this.mixedPrecision.keepF32(this.scope)) {
      ids = ids.map((i) => (this.nodes[i].op === "roundF16" ? i : this.add("roundF16", [i]).id));
    }
    const inShapes = ids.map((i) => this.nodes[i].shape);
    let shape: Shape;
    try {
      shape = def.shape(inShapes, attrs);
    } catch (e) {
      const where = this.scope ? ` at ${this.scope}` : "";
      const ins = inShapes.map(fmtShape).join(", ");
      throw new ShapeError(op, `${(e as Error).message.replace(/^\w+: /, "")}${where} (inputs ${ins})`);
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
    if (this.shadowPrefix !== undefined) {
      // an EMA copy: non-trainable state that starts equal to the online parameter
      const shadow = this.shadowPrefix + name;
      this.shadows.set(shadow, name);
      return this.persistent("state", shadow, shape, { init: { kind: "copy", of: name }, group });
    }
    return this.persistent("param", name, shape, { init, group });
  }
  /** persistent non-trainable buffer (running stats, EMA weights, queues, optimizer moments) */
  state(name: string, shape: Shape, init: Init): Tensor {
    return this.persistent("state", (this.shadowPrefix ?? "") + name, shape, { init });
  }

  /**
   * While set, param(name) gives an EMA shadow `${shadowPrefix}${name}` instead (state, copy-
   * initialised) and state(name) is prefixed too: the same layer code builds a target network.
   */
  shadowPrefix: string | undefined;
  /** shadow state name → online parameter name */
  shadows: Map<string, string> = new Map();

  /** params and state are unique by name: asking again returns the same node (weight sharing) */
  private persistent(op: "param" | "state", name: string, shape: Shape, attrs: Attrs): Tensor {
    const had = this.byName.get(name);
    if (had !== undefined) {
      const n = this.nodes[had];
      if (n.op !== op || fmtShape(n.shape) !== fmtShape(shape)) {
        throw new ShapeError(op, `'${name}' already exists as ${n.op} ${fmtShape(n.shape)}, asked again as ${op} ${fmtShape(shape)}`);
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
      throw new ShapeError("assign", `value ${fmtShape(value.shape)} does not match ${t.attrs.name} ${fmtShape(t.shape)}`);
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

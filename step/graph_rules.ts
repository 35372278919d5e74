// The training decisions the spec → graph stage makes as nodes are added (ir/graph.ts
// BuildRules): f16 operands under mixed precision, and EMA shadows, so one layer function builds
// both a module and its target-network copy. They are the step's, not the IR's: a graph only
// applies the rules its builder set.
import type { BuildRules, Graph, Persistent } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";

export interface StepRulesOptions {
  /**
   * f16-mixed: the operands of ops marked f16Operands (matmul, convolutions) are rounded to f16
   * as they are added, except in the scopes `keepF32` names (the loss and its statistics stay
   * f32); forward and backward alike, since the backward's matmuls are created the same way.
   */
  keepF32?: (scope: string | undefined) => boolean;
}

export class StepRules implements BuildRules {
  /**
   * While set, param(name) gives an EMA shadow `${shadowPrefix}${name}` instead (state, copy-
   * initialised) and state(name) is prefixed too: the same layer code builds a target network.
   */
  shadowPrefix: string | undefined;
  /** shadow state name → online parameter name */
  readonly shadows = new Map<string, string>();

  constructor(private opts: StepRulesOptions = {}) {}

  inputs(g: Graph, op: string, ids: number[]): number[] {
    const keepF32 = this.opts.keepF32;
    if (!OPS[op]?.f16Operands || !keepF32 || keepF32(g.scope)) return ids;
    return ids.map((i) => (g.nodes[i].op === "roundF16" ? i : g.add("roundF16", [i]).id));
  }

  persistent(asked: Persistent): Persistent {
    const prefix = this.shadowPrefix;
    if (prefix === undefined) return asked;
    if (asked.op === "state") return { ...asked, name: prefix + asked.name };
    // an EMA copy: non-trainable state that starts equal to the online parameter
    this.shadows.set(prefix + asked.name, asked.name);
    return { op: "state", name: prefix + asked.name, init: { kind: "copy", of: asked.name } };
  }
}

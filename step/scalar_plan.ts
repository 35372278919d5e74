// The scalar plan: every value a step reads from its uniform (learning rates, τ, queue pointers,
// Adam corrections, RNG seed and step, the data position) declared once, with the function of the
// step index that produces it. Graph builders ask the plan for a scalar and get its name back, so
// no name is typed twice; the runtime packs the plan's values for many steps at once into uniform
// slots, so the loop never writes scalars step by step.
import { MAX_SCALARS, SLOT_BYTES } from "../kernels/op.ts";

export type ScalarType = "f32" | "u32";

/** `C` is what the values depend on besides the step index (e.g. the run's length). */
export interface ScalarDef<C> {
  name: string;
  type: ScalarType;
  /** the value at (0-based) step `step` */
  at(step: number, ctx: C): number;
}

/** How a compiled program lays scalars out in its uniform (compiler/compile.ts Program). */
export interface ScalarLayout {
  scalarIndex: Map<string, number>;
  scalarTypes: Map<string, ScalarType>;
}

export class ScalarPlan<C = undefined> {
  private defs = new Map<string, ScalarDef<C>>();

  /** Declares a scalar (again with the same type is fine: the first function wins) and returns its name. */
  declare(name: string, type: ScalarType, at: (step: number, ctx: C) => number): string {
    const had = this.defs.get(name);
    if (had && had.type !== type) throw new Error(`scalar plan: '${name}' declared both as ${had.type} and as ${type}`);
    if (!had) this.defs.set(name, { name, type, at });
    return name;
  }

  names(): string[] {
    return [...this.defs.keys()];
  }

  value(name: string, step: number, ctx: C): number {
    const d = this.defs.get(name);
    if (!d) throw new Error(`scalar plan: no scalar named '${name}' (declared: ${this.names().join(", ")})`);
    return d.at(step, ctx);
  }

  values(step: number, ctx: C): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, d] of this.defs) out[name] = d.at(step, ctx);
    return out;
  }

  /** Checks that a program reads only declared scalars, each with its declared type. */
  check(layout: ScalarLayout, what: string): void {
    for (const [name, type] of layout.scalarTypes) {
      const d = this.defs.get(name);
      if (!d) {
        throw new Error(
          `${what} reads step scalar '${name}', which the scalar plan does not declare (declared: ${
            this.names().join(", ")
          })`,
        );
      }
      if (d.type !== type) {
        throw new Error(`${what} reads step scalar '${name}' as ${type}; the plan declares it ${d.type}`);
      }
    }
  }

  /**
   * The uniform slots of steps [from, from + count) for a program's layout: one SLOT_BYTES slot
   * per step, f32 values as f32 bits and u32 values as integers (taken mod 2^32).
   */
  pack(layout: ScalarLayout, from: number, count: number, ctx: C): ArrayBuffer {
    this.check(layout, "the program");
    const buf = new ArrayBuffer(count * SLOT_BYTES);
    const f = new Float32Array(buf), u = new Uint32Array(buf);
    const used = [...layout.scalarIndex].map(([name, i]) => ({ i, d: this.defs.get(name)! }));
    for (let k = 0; k < count; k++) {
      const base = k * MAX_SCALARS;
      for (const { i, d } of used) {
        const v = d.at(from + k, ctx);
        if (d.type === "u32") u[base + i] = v >>> 0;
        else f[base + i] = v;
      }
    }
    return buf;
  }
}

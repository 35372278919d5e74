// Reductions with a fused elementwise prologue: sum(square(d)) for LARS norms, the Barlow
// Twins sums over C, BN's variance… The prologue group is emitted as a WGSL function of the
// flat input index, `pro(i)`, and the one reduction strategy of kernels/reduce.ts loads through
// it, so the D×D intermediate is never written to memory.
import type { Graph } from "../ir/graph.ts";
import { type Lowering, size, UNIFORM_DECL } from "../kernels/op.ts";
import { type ReduceKind, reduceAxes, reductionLowering, reducePlan, reduceSplit } from "../kernels/reduce.ts";
import { emitGroup, type ScalarIndex } from "./codegen_ew.ts";
import type { FusionPlan } from "./fuse.ts";

export const REDUCTIONS = new Set<string>(["sum", "mean", "max"] satisfies ReduceKind[]);

export function fusedReduction(
  g: Graph,
  id: number,
  plan: FusionPlan,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
): { lowering: Lowering; inputs: number[] } {
  const n = g.nodes[id];
  const src = g.nodes[n.inputs[0]];
  const e = emitGroup(g, src.id, plan, storageOf, scalarIndex, undefined);
  // scalar loads: the prologue yields one f32 per flat index
  const rp = reducePlan(src.shape, reduceAxes(n.op, src.shape, n.attrs), false);
  const decls = [...e.decls, e.scalars.size ? UNIFORM_DECL : "", ...e.libs, `fn pro(i: u32) -> f32 {`, ...e.lines, `  return ${e.value};`, `}`, ""]
    .join("\n");
  const lowering = reductionLowering(n.op as ReduceKind, rp, reduceSplit(rp.o, rp.r), size(src.shape) / size(n.shape), {
    decls,
    load: (off) => `pro(${off})`,
    bindings: e.inputs.map((_, j) => ({ buf: { kind: "in", i: j }, write: false })),
    uniform: e.scalars.size > 0,
    label: `${n.op}∘fused[${e.ops.join(",")}]` + (n.label ? ` @ ${n.label}` : ""),
  });
  return { lowering, inputs: e.inputs };
}

// Reductions with a fused elementwise prologue: sum(square(d)) for LARS norms, the Barlow
// Twins sums over C, BN's variance… The prologue group is emitted as a WGSL function of the
// input offset, `pro(off, …)` — of a vec4 unit when every input can be read by vec4 and the
// reduction's layout and variant allow it, else of a flat index — and the one reduction
// strategy of kernels/reduce.ts loads through it, so the intermediate is never written to
// memory. Values that do not depend on the element are computed once per invocation and passed in.
import type { Graph } from "../ir/graph.ts";
import { type Lowering, size, UNIFORM_DECL } from "../kernels/op.ts";
import {
  parseReduceVariant,
  reduceAxes,
  type ReduceKind,
  reducePlan,
  reduceSplit,
  reductionLowering,
} from "../kernels/reduce.ts";
import { emitGroup, type ScalarIndex, vectorizable } from "./codegen_ew.ts";
import type { GroupView } from "./group.ts";

export function fusedReduction(
  g: Graph,
  id: number,
  plan: GroupView,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  variant?: string,
): { lowering: Lowering; inputs: number[]; ops: string[] } {
  const n = g.nodes[id];
  const src = g.nodes[n.inputs[0]];
  const axes = reduceAxes(n.op, src.shape, n.attrs);
  const parsed = parseReduceVariant(variant);
  const rp = reducePlan(src.shape, axes, parsed.allowVec && vectorizable(g, src.id, plan, src.shape));
  const vec = rp.vec !== "none";
  const layout = { kind: vec ? "vec" : "scalar" } as const;
  const e = emitGroup({ g, top: src.id, plan, storageOf, scalarIndex, shape: src.shape, layout });
  const params = e.invariantNames.map((h) => `, ${h}: f32`).join("");
  const args = e.invariantNames.map((h) => `, ${h}`).join("");
  const decls = [
    ...e.decls,
    e.scalars.size ? UNIFORM_DECL : "",
    ...e.libs,
    vec ? `fn pro(v: u32${params}) -> vec4<f32> {\n  let e = v * 4u;` : `fn pro(i: u32${params}) -> f32 {`,
    ...e.lines,
    `  return ${e.value};`,
    `}`,
    "",
  ].join("\n");
  const lowering = reductionLowering(
    n.op as ReduceKind,
    rp,
    reduceSplit(rp.o, rp.r, parsed.split),
    size(src.shape) / size(n.shape),
    {
      decls,
      setup: e.hoisted.join("\n"),
      load: (off) => `pro(${off}${args})`,
      bindings: e.inputs.map((_, j) => ({ buf: { kind: "in", i: j }, write: false })),
      uniform: e.scalars.size > 0,
      label: `${n.op}∘fused[${e.ops.join(",")}]` + (n.label ? ` @ ${n.label}` : ""),
    },
  );
  return { lowering, inputs: e.inputs, ops: e.ops };
}

// Reductions with a fused elementwise prologue: sum(square(d)) for LARS norms, the Barlow
// Twins sums over C, BN's variance… The prologue group is emitted as a WGSL function of the
// flat input index and evaluated inside the reduction loop, so the D×D intermediate is never
// written to memory. Same split strategy as kernels/reduce.ts (scalar loads).
import type { Graph } from "../ir/graph.ts";
import { type Lowering, type Pass, size, UNIFORM_DECL } from "../kernels/op.ts";
import { offsetExpr, reduceAxes, reducePlan, reduceSplit } from "../kernels/reduce.ts";
import { emitGroup, EW_WORKGROUP, type ScalarIndex } from "./codegen_ew.ts";
import { foldWorkgroups } from "../kernels/wgsl/workgroups.ts";
import type { FusionPlan } from "./fuse.ts";

export const REDUCTIONS = new Set(["sum", "mean", "max"]);

const COMB: Record<string, (a: string, v: string) => string> = {
  sum: (a, v) => `${a} + ${v}`,
  mean: (a, v) => `${a} + ${v}`,
  max: (a, v) => `max(${a}, ${v})`,
};

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
  const axes = reduceAxes(n.op, src.shape, n.attrs);
  const p0 = reducePlan(src.shape, axes, false);
  const { o, r } = p0;
  const p = reduceSplit(o, r);
  const count = size(src.shape) / size(n.shape);
  const comb = COMB[n.op];
  const fin = (a: string) => (n.op === "mean" ? `${a} / ${count}.0` : a);
  const k = e.inputs.length;
  const header = [
    ...e.decls,
    e.scalars.size ? UNIFORM_DECL : "",
    ...e.libs,
    `fn pro(i: u32) -> f32 {`,
    ...e.lines,
    `  return ${e.value};`,
    `}`,
  ].join("\n");
  const head = (count: number) => {
    const wg = foldWorkgroups(Math.ceil(count / EW_WORKGROUP));
    return {
      wg,
      text: `@compute @workgroup_size(${EW_WORKGROUP})\n` +
        `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n` +
        `  let t = gid.x + gid.y * nwg.x * ${EW_WORKGROUP}u;\n  if (t >= ${count}u) { return; }\n`,
    };
  };
  const load = (ri: string) => `pro(b + ${offsetExpr(ri, p0.red)})`;
  const base = offsetExpr("o", p0.kept);
  const ins: Pass["bindings"] = e.inputs.map((_, j) => ({ buf: { kind: "in", i: j }, write: false }));
  const label = `${n.op}∘fused[${e.ops.join(",")}]` + (n.label ? ` @ ${n.label}` : "");
  if (p === 1) {
    const h = head(o);
    const wgsl = header + `\n@group(0) @binding(${k}) var<storage, read_write> y: array<f32>;\n` + h.text +
      `  let o = t; let b = ${base};\n  var acc = ${load("0u")};\n` +
      `  for (var r = 1u; r < ${r}u; r++) { acc = ${comb("acc", load("r"))}; }\n  y[o] = ${fin("acc")};\n}\n`;
    return {
      lowering: { passes: [{ label, wgsl, uniform: e.scalars.size > 0, bindings: [...ins, { buf: { kind: "out" }, write: true }], workgroups: h.wg }] },
      inputs: e.inputs,
    };
  }
  const chunk = Math.ceil(r / p);
  const innerRed = p0.red.length > 0 && p0.red[p0.red.length - 1].stride === 1;
  const h1 = head(p * o), h2 = head(o);
  const pass1 = header + `\n@group(0) @binding(${k}) var<storage, read_write> tmp: array<f32>;\n` + h1.text +
    (innerRed ? `  let p = t % ${p}u; let o = t / ${p}u;` : `  let p = t / ${o}u; let o = t % ${o}u;`) + ` let b = ${base};\n` +
    `  let r0 = p * ${chunk}u; let r1 = min(r0 + ${chunk}u, ${r}u);\n  var acc = ${load("r0")};\n` +
    `  for (var r = r0 + 1u; r < r1; r++) { acc = ${comb("acc", load("r"))}; }\n  tmp[p * ${o}u + o] = acc;\n}\n`;
  const pass2 = `@group(0) @binding(0) var<storage, read> x: array<f32>;\n` +
    `@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n` + h2.text +
    `  var acc = x[t];\n  for (var q = 1u; q < ${p}u; q++) { acc = ${comb("acc", `x[q * ${o}u + t]`)}; }\n  y[t] = ${fin("acc")};\n}\n`;
  return {
    lowering: {
      temps: [p * o],
      passes: [
        { label: `${label} pass 1/2 (${p} partials)`, wgsl: pass1, uniform: e.scalars.size > 0, bindings: [...ins, { buf: { kind: "tmp", i: 0 }, write: true }], workgroups: h1.wg },
        { label: `${n.op} pass 2/2`, wgsl: pass2, bindings: [{ buf: { kind: "tmp", i: 0 }, write: false }, { buf: { kind: "out" }, write: true }], workgroups: h2.wg },
      ],
    },
    inputs: e.inputs,
  };
}

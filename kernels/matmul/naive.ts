// Variant 1 — naive: one output element per thread, scalar loads. The fallback every adapter
// runs and the reference the other variants are checked against on the GPU.
import {
  aIndex,
  batchOffsets,
  bIndex,
  bindings,
  declareBuffers,
  describe,
  grid,
  load1,
  type MatmulProblem,
  type MatmulVariant,
  u,
  vecLayout,
} from "./common.ts";

function lower(p: MatmulProblem) {
  const v = vecLayout(p);
  const wgsl = `${declareBuffers(p)}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (m >= ${u(p.M)} || n >= ${u(p.N)}) { return; }
  ${batchOffsets(p, "gid.z")}
  var acc = 0.0;
  for (var k = 0u; k < ${u(p.K)}; k++) {
    acc = fma(${load1("A", v.a, `aOff + ${aIndex(p, "m", "k")}`)}, ${
    load1("B", v.b, `bOff + ${bIndex(p, "k", "n")}`)
  }, acc);
  }
  ${load1("C", v.c, `cOff + m * ${u(p.N)} + n`)} = acc;
}
`;
  return { wgsl, bindings, workgroups: grid(p, 8, 8, "naive"), label: `matmul naive ${describe(p)}` };
}

export const NAIVE: MatmulVariant = {
  name: "naive",
  doc: "one output per thread, scalar loads; fallback and GPU-side reference",
  supports: () => true,
  lower,
};

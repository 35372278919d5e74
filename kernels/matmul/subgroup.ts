// Variant 3 — the lavapipe design (DESIGN.md: ~25 GFLOP/s at 1024³ on llvmpipe, vs ~17 for
// register blocking). llvmpipe turns any workgroupBarrier into coroutines and each storage
// load costs ~20 FMAs, so: no shared memory, no barriers, few loads per FMA. One workgroup is
// one 8-lane subgroup computing 8 rows × 32 columns; lane l owns columns n0+4l..n0+4l+3 as
// 8 vec4 accumulators (one per row). Per step of 4 k's every lane loads one vec4 of A and
// four vec4 of B; the 8 lanes' A vectors are shared with subgroupBroadcast, so each A value
// is loaded once per subgroup instead of once per lane. 128 FMAs per 5 vec4 loads.
//
// Needs subgroups with at least 8 lanes (llvmpipe: 8 at 256-bit SIMD; GPUs: 16–64).
import {
  aIndex,
  batchOffsets,
  bindings,
  declareBuffers,
  describe,
  grid,
  load1,
  load4,
  type MatmulProblem,
  type MatmulVariant,
  store4,
  u,
  vecLayout,
} from "./common.ts";

const ROWS = 8, LANES = 8;
const range = (n: number) => [...Array(n).keys()];

function lower(p: MatmulProblem) {
  const { M, N, K } = p;
  const v = vecLayout(p);
  const K4 = K - (K % 4);

  // A: !transA — lane l reads row m0+l at k..k+3, so broadcast t_r holds A(m0+r, k..k+3).
  //    transA — A is stored [K, M]: lane l reads stored row k+(l>>1) at m0+4(l&1)..+3, so
  //    A(m0+r, k+j) sits in lane 2j+(r>>2), component r&3. Either way 8 vec4 broadcasts.
  const aSetup = p.transA ? `let am = m0 + 4u * (l & 1u);\n  let ak = l >> 1u;` : `let aRow = aOff + min(m0 + l, ${u(M - 1)}) * ${u(K)};`;
  const aLoad = p.transA ? load4("A", v.a, `aOff + (k + ak) * ${u(M)}`, "am", M, true) : load4("A", v.a, "aRow", "k", K, false);
  const aVal = (r: number, j: number) => (p.transA ? `t${2 * j + (r >> 2)}[${r & 3}]` : `t${r}[${j}]`);

  // B: !transB — four stored rows k..k+3 at columns n..n+3. transB — B is stored [N, K]:
  //    read the four stored rows n..n+3 along k and transpose the 4×4 block in registers.
  const bLoads = p.transB
    ? [
      ...range(4).map((c) => `let q${c} = ${load4("B", v.b, `bOff + min(n + ${u(c)}, ${u(N - 1)}) * ${u(K)}`, "k", K, false)};`),
      ...range(4).map((j) => `let b${j} = vec4<f32>(q0[${j}], q1[${j}], q2[${j}], q3[${j}]);`),
    ]
    : range(4).map((j) => `let b${j} = ${load4("B", v.b, `bOff + (k + ${u(j)}) * ${u(N)}`, "n", N, true)};`);

  const body = [
    `let av = ${aLoad};`,
    ...bLoads,
    ...range(LANES).map((i) => `let t${i} = subgroupBroadcast(av, ${u(i)});`),
    ...range(4).flatMap((j) => range(ROWS).map((r) => `c${r} = fma(vec4<f32>(${aVal(r, j)}), b${j}, c${r});`)),
  ];

  // K % 4 leftover k's: one k at a time with scalar A loads.
  const tailB = p.transB
    ? `vec4<f32>(${range(4).map((c) => load1("B", v.b, `bOff + min(n + ${u(c)}, ${u(N - 1)}) * ${u(K)} + k`)).join(", ")})`
    : load4("B", v.b, `bOff + k * ${u(N)}`, "n", N, true);
  const tail = K4 === K ? "" : `
  for (var k = ${u(K4)}; k < ${u(K)}; k++) {
    let sa = ${load1("A", v.a, `aOff + ${aIndex(p, `min(m0 + l, ${u(M - 1)})`, "k")}`)};
    let bv = ${tailB};
    ${range(ROWS).map((r) => `c${r} = fma(vec4<f32>(subgroupBroadcast(sa, ${u(r)})), bv, c${r});`).join("\n    ")}
  }`;

  const wgsl = `enable subgroups;
${declareBuffers(p)}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) l: u32) {
  ${batchOffsets(p, "wg.z")}
  let m0 = wg.y * ${u(ROWS)};
  let n = wg.x * ${u(4 * LANES)} + 4u * l;
  ${aSetup}
  ${range(ROWS).map((r) => `var c${r} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k = 0u; k < ${u(K4)}; k += 4u) {
    ${body.join("\n    ")}
  }${tail}
  ${range(ROWS).map((r) => `if (m0 + ${u(r)} < ${u(M)}) { ${store4(p, `(m0 + ${u(r)})`, "n", `c${r}`)} }`).join("\n  ")}
}
`;
  return { wgsl, bindings, workgroups: grid(p, 4 * LANES, ROWS, "subgroup"), label: `matmul subgroup ${describe(p)}` };
}

export const SUBGROUP: MatmulVariant = {
  name: "subgroup",
  doc: "8-lane subgroup per 8×32 tile, A shared by subgroupBroadcast, no shared memory or barriers (lavapipe)",
  supports: (f) => f.subgroups,
  lower,
};

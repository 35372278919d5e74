// Variant 2 — register blocking: each thread computes 4 rows × 8 columns (8 vec4
// accumulators) from vec4 loads, 4 k's per step, so 128 FMAs cost 12 vec4 loads. No shared
// memory and no barriers, so it is also reasonable on llvmpipe without subgroups (~16–17
// GFLOP/s there; docs/architecture.md, "The platform") and a portable default on GPUs. Tails (M, N not multiples of
// the tile, K not a multiple of 4) use clamped loads, guarded stores and a scalar k loop.
import {
  aIndex,
  batchOffsets,
  bIndex,
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

const TR = 4, TC = 8, WX = 8, WY = 8;
const range = (n: number) => [...Array(n).keys()];

function lower(p: MatmulProblem) {
  const { M, N, K } = p;
  const v = vecLayout(p);
  const K4 = K - (K % 4);
  const H = TC / 4; // vec4 column chunks per thread

  // A(m+r, k+j): !transA — one vec4 along k per row r (x_r[j]); transA — one vec4 along m
  // per stored row k+j (x_j[r]).
  const aLoads = p.transA
    ? range(4).map((j) => `let x${j} = ${load4("A", v.a, `aOff + (k + ${u(j)}) * ${u(M)}`, "m", M, true)};`)
    : range(TR).map((r) =>
      `let x${r} = ${load4("A", v.a, `aOff + min(m + ${u(r)}, ${u(M - 1)}) * ${u(K)}`, "k", K, false)};`
    );
  const aVal = (r: number, j: number) => (p.transA ? `x${j}[${r}]` : `x${r}[${j}]`);

  // B(k+j, n+4h..n+4h+3) as b{j}_{h}: !transB — direct vec4 loads; transB — read stored rows
  // n..n+7 along k and transpose 4×4 blocks in registers.
  const bLoads = p.transB
    ? [
      ...range(TC).map((c) =>
        `let q${c} = ${load4("B", v.b, `bOff + min(n + ${u(c)}, ${u(N - 1)}) * ${u(K)}`, "k", K, false)};`
      ),
      ...range(4).flatMap((j) =>
        range(H).map((h) => `let b${j}_${h} = vec4<f32>(${range(4).map((c) => `q${4 * h + c}[${j}]`).join(", ")});`)
      ),
    ]
    : range(4).flatMap((j) =>
      range(H).map((h) =>
        `let b${j}_${h} = ${load4("B", v.b, `bOff + (k + ${u(j)}) * ${u(N)}`, `n + ${u(4 * h)}`, N, true)};`
      )
    );

  const fmas = range(4).flatMap((j) =>
    range(TR).flatMap((r) => range(H).map((h) => `c${r}_${h} = fma(vec4<f32>(${aVal(r, j)}), b${j}_${h}, c${r}_${h});`))
  );

  const tailB = (h: number) =>
    `vec4<f32>(${
      range(4).map((c) => load1("B", v.b, `bOff + ${bIndex(p, "k", `min(n + ${u(4 * h + c)}, ${u(N - 1)})`)}`)).join(
        ", ",
      )
    })`;
  const tail = K4 === K ? "" : `
  for (var k = ${u(K4)}; k < ${u(K)}; k++) {
    ${
    range(TR).map((r) => `let a${r} = ${load1("A", v.a, `aOff + ${aIndex(p, `min(m + ${u(r)}, ${u(M - 1)})`, "k")}`)};`)
      .join("\n    ")
  }
    ${range(H).map((h) => `let bt${h} = ${tailB(h)};`).join("\n    ")}
    ${
    range(TR).flatMap((r) => range(H).map((h) => `c${r}_${h} = fma(vec4<f32>(a${r}), bt${h}, c${r}_${h});`)).join(
      "\n    ",
    )
  }
  }`;

  const wgsl = `${declareBuffers(p)}

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${batchOffsets(p, "gid.z")}
  let m = gid.y * ${u(TR)};
  let n = gid.x * ${u(TC)};
  ${range(TR).flatMap((r) => range(H).map((h) => `var c${r}_${h} = vec4<f32>(0.0);`)).join("\n  ")}
  for (var k = 0u; k < ${u(K4)}; k += 4u) {
    ${[...aLoads, ...bLoads, ...fmas].join("\n    ")}
  }${tail}
  ${
    range(TR).map((r) =>
      `if (m + ${u(r)} < ${u(M)}) { ${
        range(H).map((h) => store4(p, `(m + ${u(r)})`, `(n + ${u(4 * h)})`, `c${r}_${h}`)).join(" ")
      } }`
    ).join("\n  ")
  }
}
`;
  return { wgsl, bindings, workgroups: grid(p, TC * WX, TR * WY, "blocked"), label: `matmul blocked ${describe(p)}` };
}

export const BLOCKED: MatmulVariant = {
  name: "blocked",
  doc: "4×8 outputs per thread from vec4 loads, no shared memory; portable default",
  supports: () => true,
  lower,
};

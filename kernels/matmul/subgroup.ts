// Variant 3 — the lavapipe design (docs/architecture.md, "The platform": ~25 GFLOP/s at 1024³ on llvmpipe with 8×32
// tiles, vs ~17 for register blocking; widened here to 16×64, see the measurements below). llvmpipe turns any workgroupBarrier into coroutines and each storage
// load costs ~20 FMAs, so: no shared memory, no barriers, few loads per FMA. One workgroup is
// one 8-lane subgroup computing 8·rg rows × 32·cv columns; lane l owns the column chunks
// n0 + 4l + 32h (h < cv) as vec4 accumulators, one per row. Per step of 4 k's every lane
// loads rg vec4 of A and 4·cv vec4 of B; the 8 lanes' A vectors are shared with
// subgroupBroadcast, so each A value is loaded once per subgroup instead of once per lane.
//
// Needs subgroups with at least 8 lanes (llvmpipe: 8 at 256-bit SIMD; GPUs: 16–64).
// The lavapipe default is now the convolutions' tile (convtile.ts, 1.3–1.8× this kernel); this
// one stays the pick where that tile would first have to transpose a large operand for a short
// product (the ResNet projector's 32 rows against a 2048×2048 weight).
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

const LANES = 8;
const range = (n: number) => [...Array(n).keys()];

export interface SubgroupOptions {
  /** groups of 8 rows per subgroup (A vec4 loads per lane per k step) */
  rg: number;
  /** vec4 column chunks per lane */
  cv: number;
  /** dispatch order: "m" puts M tiles on workgroup x, so consecutive workgroups reuse a B strip */
  order: "m" | "n";
}

function lower(p: MatmulProblem, o: SubgroupOptions) {
  const { M, N, K } = p;
  const { rg, cv } = o;
  const v = vecLayout(p);
  const K4 = K - (K % 4);
  const ROWS = 8 * rg;
  const accs = range(ROWS).flatMap((r) => range(cv).map((h) => ({ r, h, name: `c${r}_${h}` })));

  // A, per group i of 8 rows starting at mi = m0 + 8i:
  //  !transA — lane l reads row mi+l at k..k+3, so broadcast t{i}_{r} holds A(mi+r, k..k+3).
  //  transA — A is stored [K, M]: lane l reads stored row k+(l>>1) at mi+4(l&1)..+3, so
  //  A(mi+r, k+j) sits in lane 2j+(r>>2), component r&3. Either way 8 vec4 broadcasts.
  const aLoad = (i: number) =>
    p.transA
      ? load4("A", v.a, `aOff + (k + (l >> 1u)) * ${u(M)}`, `m0 + ${u(8 * i)} + 4u * (l & 1u)`, M, true)
      : load4("A", v.a, `aOff + min(m0 + ${u(8 * i)} + l, ${u(M - 1)}) * ${u(K)}`, "k", K, false);
  const aVal = (r: number, j: number) => {
    const i = r >> 3, rr = r & 7;
    return p.transA ? `t${i}_${2 * j + (rr >> 2)}[${rr & 3}]` : `t${i}_${rr}[${j}]`;
  };

  // B(k+j, n+32h..+3) as b{j}_{h}: !transB — four stored rows k..k+3; transB — B is stored
  // [N, K]: read the four stored rows n+32h..+3 along k and transpose the 4×4 block in registers.
  const bLoads = range(cv).flatMap((h) => {
    const n = `n + ${u(32 * h)}`;
    return p.transB
      ? [
        ...range(4).map((c) =>
          `let q${c}_${h} = ${load4("B", v.b, `bOff + min(${n} + ${u(c)}, ${u(N - 1)}) * ${u(K)}`, "k", K, false)};`
        ),
        ...range(4).map((j) => `let b${j}_${h} = vec4<f32>(${range(4).map((c) => `q${c}_${h}[${j}]`).join(", ")});`),
      ]
      : range(4).map((j) => `let b${j}_${h} = ${load4("B", v.b, `bOff + (k + ${u(j)}) * ${u(N)}`, n, N, true)};`);
  });

  const body = [
    ...range(rg).map((i) => `let av${i} = ${aLoad(i)};`),
    ...bLoads,
    ...range(rg).flatMap((i) => range(LANES).map((t) => `let t${i}_${t} = subgroupBroadcast(av${i}, ${u(t)});`)),
    ...range(4).flatMap((j) =>
      accs.map(({ r, h, name }) => `${name} = fma(vec4<f32>(${aVal(r, j)}), b${j}_${h}, ${name});`)
    ),
  ];

  // K % 4 leftover k's: one k at a time with scalar A loads.
  const tailB = (h: number) => {
    const n = `n + ${u(32 * h)}`;
    return p.transB
      ? `vec4<f32>(${
        range(4).map((c) => load1("B", v.b, `bOff + min(${n} + ${u(c)}, ${u(N - 1)}) * ${u(K)} + k`)).join(", ")
      })`
      : load4("B", v.b, `bOff + k * ${u(N)}`, n, N, true);
  };
  const tail = K4 === K ? "" : `
  for (var k = ${u(K4)}; k < ${u(K)}; k++) {
    ${
    range(rg).map((i) =>
      `let sa${i} = ${load1("A", v.a, `aOff + ${aIndex(p, `min(m0 + ${u(8 * i)} + l, ${u(M - 1)})`, "k")}`)};`
    ).join("\n    ")
  }
    ${range(cv).map((h) => `let bt${h} = ${tailB(h)};`).join("\n    ")}
    ${
    accs.map(({ r, h, name }) =>
      `${name} = fma(vec4<f32>(subgroupBroadcast(sa${r >> 3}, ${u(r & 7)})), bt${h}, ${name});`
    ).join("\n    ")
  }
  }`;

  const [mTile, nTile] = o.order === "m" ? ["wg.x", "wg.y"] : ["wg.y", "wg.x"];
  const wgsl = `enable subgroups;
${declareBuffers(p)}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) l: u32) {
  ${batchOffsets(p, "wg.z")}
  let m0 = ${mTile} * ${u(ROWS)};
  let n = ${nTile} * ${u(32 * cv)} + 4u * l;
  ${accs.map(({ name }) => `var ${name} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k = 0u; k < ${u(K4)}; k += 4u) {
    ${body.join("\n    ")}
  }${tail}
  ${
    range(ROWS).map((r) =>
      `if (m0 + ${u(r)} < ${u(M)}) { ${
        range(cv).map((h) => store4(p, `(m0 + ${u(r)})`, `(n + ${u(32 * h)})`, `c${r}_${h}`)).join(" ")
      } }`
    ).join("\n  ")
  }
}
`;
  const g = grid(p, 32 * cv, ROWS, "subgroup");
  const workgroups: [number, number, number] = o.order === "m" ? [g[1], g[0], g[2]] : g;
  return { wgsl, bindings, workgroups, label: `matmul subgroup ${describe(p)}` };
}

export function subgroupVariant(name: string, o: SubgroupOptions): MatmulVariant {
  return {
    name,
    doc: `8-lane subgroup per ${8 * o.rg}×${
      32 * o.cv
    } tile, A shared by subgroupBroadcast, no shared memory or barriers (lavapipe)`,
    supports: (f) => f.subgroups,
    lower: (p) => lower(p, o),
  };
}

// Measured on lavapipe (2-core Xeon, CPU-time-normalised GFLOP/s, medians of 3; 1024³ /
// 256×784×1024 / 256×2048×2048 / 2048×256×2048 Aᵀ): 8×32 tiles 33/–/12.6/–; 16×32 38/–/26.5/–;
// 32×32 42/48/35/34; 16×64 45/46/32/43; 24×64 42/43/33/41; 8×128 31/32/21/29. M-fastest
// dispatch order matters when B is wide (256×2048×2048: 32 vs 25 for 16×64), since
// consecutive workgroups then reuse one B column strip from cache. 16×64 (32 accumulators,
// the spill limit) is the best all-rounder.
export const SUBGROUP = subgroupVariant("subgroup", { rg: 2, cv: 2, order: "m" });

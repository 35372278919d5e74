// Variant 4 — shared-memory tiling for real GPUs: a 16×16 workgroup computes a 64×64 tile of
// C, 4×4 outputs per thread. Each step of 16 k's the workgroup copies a 64×16 tile of A and a
// 16×64 tile of B into workgroup memory (zero-filled outside the matrix, so any shape works),
// with consecutive threads reading consecutive addresses for either transpose layout, then
// every thread runs 16 × (2 vec4 shared loads + 16 FMAs). On llvmpipe the barriers make this
// several times slower than the barrier-free variants (docs/architecture.md, "The platform"); the autotuner decides.
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
  store4,
  u,
  vecLayout,
} from "./common.ts";

const BM = 64, BN = 64, BK = 16, WX = 16, WY = 16, THREADS = WX * WY;
const range = (n: number) => [...Array(n).keys()];

function lower(p: MatmulProblem) {
  const { M, N, K } = p;
  const v = vecLayout(p);

  // Element e of a tile -> (kk, mm) so that the fastest-varying coordinate follows memory.
  const aCoord = p.transA
    ? `let mm = e % ${u(BM)}; let kk = e / ${u(BM)};`
    : `let kk = e % ${u(BK)}; let mm = e / ${u(BK)};`;
  const bCoord = p.transB
    ? `let kk = e % ${u(BK)}; let nn = e / ${u(BK)};`
    : `let nn = e % ${u(BN)}; let kk = e / ${u(BN)};`;
  const fill = (i: number, coord: string, row: string, rowLim: number, tile: string, tileW: number, read: string) =>
    `{
      let e = t + ${u(THREADS * i)};
      ${coord}
      let g${row} = ${row}0 + ${row}${row}; let gk = k0 + kk;
      let x = ${read};
      ${tile}[kk * ${u(tileW / 4)} + (${row}${row} >> 2u)][${row}${row} & 3u] = select(0.0, x, g${row} < ${
      u(rowLim)
    } && gk < ${u(K)});
    }`;
  const readA = load1("A", v.a, `aOff + ${aIndex(p, `min(gm, ${u(M - 1)})`, `min(gk, ${u(K - 1)})`)}`);
  const readB = load1("B", v.b, `bOff + ${bIndex(p, `min(gk, ${u(K - 1)})`, `min(gn, ${u(N - 1)})`)}`);

  const wgsl = `${declareBuffers(p)}
var<workgroup> As: array<vec4<f32>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  ${batchOffsets(p, "wg.z")}
  let m0 = wg.y * ${u(BM)};
  let n0 = wg.x * ${u(BN)};
  ${range(4).map((r) => `var c${r} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k0 = 0u; k0 < ${u(K)}; k0 += ${u(BK)}) {
    ${range((BM * BK) / THREADS).map((i) => fill(i, aCoord, "m", M, "As", BM, readA)).join("\n    ")}
    ${range((BN * BK) / THREADS).map((i) => fill(i, bCoord, "n", N, "Bs", BN, readB)).join("\n    ")}
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(BK)}; kk++) {
      let a = As[kk * ${u(BM / 4)} + lid.y];
      let b = Bs[kk * ${u(BN / 4)} + lid.x];
      ${range(4).map((r) => `c${r} = fma(vec4<f32>(a[${r}]), b, c${r});`).join("\n      ")}
    }
    workgroupBarrier();
  }
  let m = m0 + lid.y * 4u;
  let n = n0 + lid.x * 4u;
  ${range(4).map((r) => `if (m + ${u(r)} < ${u(M)}) { ${store4(p, `(m + ${u(r)})`, "n", `c${r}`)} }`).join("\n  ")}
}
`;
  return { wgsl, bindings, workgroups: grid(p, BN, BM, "tiled"), label: `matmul tiled ${describe(p)}` };
}

export const TILED: MatmulVariant = {
  name: "tiled",
  doc: "64×64 workgroup tiles staged in shared memory with barriers, 4×4 per thread (real GPUs)",
  supports: () => true,
  lower,
};

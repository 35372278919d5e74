// matmul: shape rule and errors, float64 reference against a closed form, VJP by finite
// differences (all transpose flags, broadcast batches), every WGSL kernel variant against the
// float64 reference on odd shapes through the real compiler, the GPU backward against the CPU
// backward, and the autotuner's choice and cache.
import assert from "node:assert/strict";
import { evaluate } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { matmulProblem, subgroupsUsable } from "../kernels/matmul/common.ts";
import { defaultVariant, MATMUL_VARIANTS, matmulVariant } from "../kernels/matmul/variants.ts";
import { type Shape, ShapeError, size } from "../kernels/op.ts";
import { chooseVariant, pickVariants, readCache, tuneOp, variantKey, writeCacheEntry } from "../runtime/autotune.ts";
import { runMatmul } from "../runtime/matmul_runner.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";
import { getGpu, runGraphGPU, runOpGPU } from "./util/gpu.ts";

const TRANS = [[false, false], [true, false], [false, true], [true, true]] as const;
const shapesOf = (
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
): [number[], number[]] => [tA ? [K, M] : [M, K], tB ? [N, K] : [K, N]];
const mmShape = (a: Shape, b: Shape, transA = false, transB = false) => {
  const g = new Graph();
  return g.input("a", a).matmul(g.input("b", b), transA, transB).shape;
};

Deno.test("matmul shape rule: transposes and numpy-broadcast batch dims", () => {
  assert.deepEqual(mmShape([7, 5], [5, 13]), [7, 13]);
  assert.deepEqual(mmShape([5, 7], [5, 13], true), [7, 13]);
  assert.deepEqual(mmShape([7, 5], [13, 5], false, true), [7, 13]);
  assert.deepEqual(mmShape([5, 7], [13, 5], true, true), [7, 13]);
  assert.deepEqual(mmShape([2, 1, 7, 5], [3, 5, 13]), [2, 3, 7, 13]);
  assert.deepEqual(mmShape([4, 7, 5], [5, 13]), [4, 7, 13]);
});

Deno.test("matmul bad input names the op and the problem", () => {
  const err = (a: Shape, b: Shape, attrs: Record<string, unknown>, msg: RegExp) => {
    const g = new Graph();
    const x = g.input("a", a), y = g.input("b", b);
    assert.throws(
      () => g.add("matmul", [x, y], attrs),
      (e: Error) => e instanceof ShapeError && /^matmul: /.test(e.message) && msg.test(e.message),
    );
  };
  err([7, 5], [6, 13], {}, /contraction sizes differ.*K=5.*K=6/);
  err([7, 5], [5, 13], { transA: true }, /K=7.*K=5/);
  err([5], [5, 3], {}, /rank >= 2/);
  err([2, 7, 5], [3, 5, 13], {}, /batch dims .* do not broadcast \(2 vs 3\)/);
  err([7, 5], [5, 13], { transA: 1 }, /transA must be a boolean/);
});

Deno.test("matmul float64 reference matches a hand-computed product, for all transpose layouts", () => {
  // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
  const A = [1, 2, 3, 4, 5, 6], At = [1, 4, 2, 5, 3, 6];
  const B = [7, 8, 9, 10, 11, 12], Bt = [7, 9, 11, 8, 10, 12];
  const want = [58, 64, 139, 154];
  for (const [tA, tB] of TRANS) {
    const [as, bs] = shapesOf(2, 2, 3, tA, tB);
    const r = cpuOp("matmul", [{ shape: as, data: tA ? At : A }, { shape: bs, data: tB ? Bt : B }], {
      transA: tA,
      transB: tB,
    });
    assert.deepEqual([...r], want, `transA=${tA} transB=${tB}`);
  }
  // broadcast batch: b's single matrix is used for each of a's 3 matrices
  const a3 = rand(3 * 2 * 3, 5);
  const r = cpuOp("matmul", [{ shape: [3, 2, 3], data: a3 }, { shape: [3, 2], data: B }]);
  for (let z = 0; z < 3; z++) {
    const one = cpuOp("matmul", [{ shape: [2, 3], data: a3.slice(z * 6, z * 6 + 6) }, { shape: [3, 2], data: B }]);
    assertClose(r.slice(z * 4, z * 4 + 4), one, { rtol: 0, atol: 0 }, `batch ${z}`);
  }
});

Deno.test("matmul VJP vs finite differences: all transposes and broadcast batches", () => {
  for (const [tA, tB] of TRANS) {
    const [as, bs] = shapesOf(3, 4, 5, tA, tB);
    checkVjp("matmul", [randArg(as, 1), randArg(bs, 2)], { transA: tA, transB: tB });
  }
  // rank-2 weight shared by a batch (the folded-batch dB path), with and without transB
  checkVjp("matmul", [randArg([2, 3, 4], 3), randArg([4, 5], 4)]);
  checkVjp("matmul", [randArg([2, 3, 4], 3), randArg([5, 4], 4)], { transB: true });
  // transA with a shared weight takes the general unbroadcast path
  checkVjp("matmul", [randArg([2, 4, 3], 5), randArg([4, 5], 6)], { transA: true });
  // size-1 batch dims on both sides broadcast against each other
  checkVjp("matmul", [randArg([2, 1, 3, 4], 7), randArg([3, 2, 4], 8)], { transB: true });
});

// llvmpipe compiles each distinct shader at its first dispatch (~0.5–2 s each), and shapes are
// baked into the WGSL, so the cases are chosen to cover every code path with few shaders:
// odd sizes in all four transpose layouts (scalar loads, ragged tiles, K % 4 leftovers;
// 33×65×17 and 65×33×17 so both M and N span several tiles), vec4-aligned operands in both
// storage orders (12×8×7 with Aᵀ: vec4 along m and n plus a K tail; 8×12×16 with Bᵀ: vec4
// along k), 1×1×1, and a broadcast batch with transposes.
type Case = { M: number; N: number; K: number; tA: boolean; tB: boolean; aBatch?: number[]; bBatch?: number[] };
const ODD: Case[] = [
  { M: 33, N: 65, K: 17, tA: false, tB: false },
  { M: 65, N: 33, K: 17, tA: true, tB: false },
  { M: 65, N: 33, K: 17, tA: false, tB: true },
  { M: 33, N: 65, K: 17, tA: true, tB: true },
];
const VARIANT_CASES: Case[] = [
  ...ODD,
  { M: 12, N: 8, K: 7, tA: true, tB: false },
  { M: 8, N: 12, K: 16, tA: false, tB: true },
  { M: 1, N: 1, K: 1, tA: false, tB: false },
  { M: 9, N: 11, K: 6, tA: true, tB: true, aBatch: [2, 1], bBatch: [3] },
];
// the naive kernel has one code path; the brief's 7×13×5 in all layouts plus a batch
const NAIVE_CASES: Case[] = [
  ...[[false, false], [true, false], [false, true], [true, true]].map(([tA, tB]) => ({ M: 7, N: 13, K: 5, tA, tB })),
  { M: 9, N: 11, K: 6, tA: false, tB: false, aBatch: [2, 1], bBatch: [3] },
];
const caseName = (c: Case) =>
  `${c.aBatch ? `[${c.aBatch}]·[${c.bBatch}] ` : ""}${c.M}x${c.N}x${c.K} ${c.tA ? "T" : "N"}${c.tB ? "T" : "N"}`;

/**
 * Run each case with one variant through the real compiler and runtime; compare to float64.
 * One submit per case keeps each GPU job short (a cold compile is one job), and awaitGpu
 * keeps dawn.node's polling from starving lavapipe while it compiles (runtime/autotune.ts).
 */
async function checkVariant(variant: string, cases: Case[]) {
  const pick = { variant: (op: string) => (op === "matmul" ? variant : undefined) };
  for (const [i, c] of cases.entries()) {
    const [as0, bs0] = shapesOf(c.M, c.N, c.K, c.tA, c.tB);
    const a = randArg([...(c.aBatch ?? []), ...as0], 2 * i + 1), b = randArg([...(c.bBatch ?? []), ...bs0], 2 * i + 2);
    const attrs = { transA: c.tA, transB: c.tB };
    const got = await awaitGpu(runOpGPU("matmul", [a, b], attrs, {}, pick));
    assertClose(got, cpuOp("matmul", [a, b], attrs), { rtol: 1e-4, atol: 1e-6 * c.K }, `${variant} ${caseName(c)}`);
  }
}

// the discrete-GPU tiles share one generator (kernels/matmul/simt.ts): two tiles covering its
// code paths (4 and 8 outputs per invocation along each axis, BK 8 and 16) see every case, the
// other registered tiles the odd layouts; f16 variants are checked in matmul_gpu_class_test.ts
const FULL_GEMM = ["gemm64x64x16t4x4", "gemm128x128x8t8x8"];
const casesOf = (name: string) =>
  name === "naive" ? NAIVE_CASES : !name.startsWith("gemm") || FULL_GEMM.includes(name) ? VARIANT_CASES : ODD;
for (const v of Object.values(MATMUL_VARIANTS).filter((v) => (v.inputType ?? "f32") === "f32")) {
  Deno.test(`matmul GPU variant '${v.name}' matches float64: odd shapes, all transposes, aligned vec4 paths, batch`, async () => {
    const gpu = await getGpu();
    if (!v.supports(gpu.features)) {
      console.warn(`variant '${v.name}' is not supported on ${gpu.description}; not tested here`);
      return;
    }
    await checkVariant(v.name, casesOf(v.name));
  });
}

// the convolutions' tile as a matmul: every operand path — A gathered in place or transposed
// (stored [M, K] with K a multiple of 512), B read in place, zero-padded to whole column tiles
// or transposed — with the shape rule's tiles and forced ones (by column block, no subgroups)
const CONVTILE_CASES: Case[] = [
  { M: 70, N: 128, K: 512, tA: false, tB: false },
  { M: 70, N: 100, K: 512, tA: false, tB: true },
  { M: 130, N: 64, K: 33, tA: true, tB: false },
  { M: 40, N: 3, K: 20, tA: false, tB: false },
  { M: 9, N: 64, K: 512, tA: false, tB: false, aBatch: [2, 1], bBatch: [3] },
  { M: 9, N: 11, K: 6, tA: true, tB: true, aBatch: [2, 1], bBatch: [3] },
];
for (
  const name of ["convtile", "convtile-sg32x2c", "convtile-sg64x1", "convtile-t4x4", "convtile-t8x2", "convtile-t16x1"]
) {
  Deno.test(`matmul GPU variant '${name}' matches float64: A and B transposed, padded or read in place, batch`, async () => {
    const gpu = await getGpu();
    if (!matmulVariant(name)!.supports(gpu.features)) return console.warn(`'${name}' needs subgroups; not tested here`);
    await checkVariant(name, CONVTILE_CASES);
  });
}

Deno.test("matmul GPU: default variant through runOpGPU", async () => {
  const [a, b] = [randArg([33, 17], 1), randArg([17, 65], 2)];
  assertClose(
    await awaitGpu(runOpGPU("matmul", [a, b])),
    cpuOp("matmul", [a, b]),
    { rtol: 1e-4, atol: 1e-5 },
    "default",
  );
});

Deno.test("matmul GPU backward equals the CPU backward (broadcast batch, transposes)", async () => {
  for (const [as, bs, tA, tB] of [[[2, 5, 7], [5, 6], true, false], [[3, 7, 5], [1, 6, 5], false, true]] as const) {
    const g = new Graph();
    const a = g.input("a", as), b = g.input("b", bs);
    const c = a.matmul(b, tA, tB);
    const w = g.input("w", c.shape);
    const [da, db] = grad(g, c.mul(w).sum(), [a, b]);
    g.output("da", da!);
    g.output("db", db!);
    const leaves = new Map([["a", rand(size(as), 1)], ["b", rand(size(bs), 2)], ["w", rand(size(c.shape), 3)]]);
    const ref = evaluate(g, { leaves, scalars: {} });
    const got = await awaitGpu(runGraphGPU(g, leaves));
    assertClose(got.get("da")!, ref[da!.id], { rtol: 1e-4, atol: 1e-5 }, `dA ${as}`);
    assertClose(got.get("db")!, ref[db!.id], { rtol: 1e-4, atol: 1e-5 }, `dB ${bs}`);
  }
});

Deno.test("autotune: times the candidates, picks a correct one, caches the choice by adapter + shape", async () => {
  const gpu = await getGpu();
  // shapes reused from the variant tests, so their shaders are already compiled (Mesa cache)
  const p = matmulProblem([[33, 17], [17, 65]], {});
  const r = await tuneOp(gpu.device, "matmul", [[33, 17], [17, 65]], {}, {
    adapter: gpu.description,
    features: gpu.features,
    budgetMs: 20,
  });
  const tried = Object.values(MATMUL_VARIANTS).filter((v) =>
    v.supports(gpu.features) && (v.inputType ?? "f32") === "f32"
  )
    .map((v) => v.name);
  assert.deepEqual(Object.keys(r.ms).sort(), [...tried].sort());
  assert.ok(tried.every((v) => Number.isFinite(r.ms[v]) && r.ms[v] > 0), JSON.stringify(r.ms));
  assert.deepEqual(r.ms[r.variant], Math.min(...Object.values(r.ms)));
  // the winner really computes the product
  const a = rand(33 * 17, 1), b = rand(17 * 65, 2);
  assertClose(
    await runMatmul(gpu.device, p, r.variant, a, b),
    cpuOp("matmul", [{ shape: [33, 17], data: a }, { shape: [17, 65], data: b }]),
    {
      rtol: 1e-4,
      atol: 1e-5,
    },
    r.variant,
  );

  const cachePath = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const opts = { adapter: gpu.description, features: gpu.features, cachePath };
    // no entry, no tuning: the adapter default
    assert.deepEqual(
      await chooseVariant(gpu.device, "matmul", [[5, 7], [7, 9]], {}, opts),
      defaultVariant(gpu.features, gpu.description),
    );
    const S: Shape[] = [[65, 17], [33, 17]];
    // tuning writes an entry that a later call returns without timing anything
    const tuned = await chooseVariant(gpu.device, "matmul", S, { transB: true }, { ...opts, tune: true, budgetMs: 10 });
    const key = variantKey(gpu.description, "matmul", S, { transB: true });
    assert.deepEqual(readCache(cachePath).entries[key].variant, tuned);
    writeCacheEntry(key, { variant: "naive", ms: {}, at: "test" }, cachePath);
    assert.deepEqual(await chooseVariant(gpu.device, "matmul", S, { transB: true }, { ...opts, tune: true }), "naive");
    // the compiler-facing picker answers synchronously for every matmul of a graph
    const g = new Graph();
    g.output("y", g.input("x", S[0]).matmul(g.input("w", S[1]), false, true));
    const pick = await pickVariants(gpu.device, g, opts);
    assert.deepEqual(pick("matmul", S, { transB: true }), "naive");
    assert.deepEqual(pick("add", [[1], [1]], {}), undefined);
  } finally {
    await Deno.remove(cachePath);
  }
});

Deno.test("default variant: the llvmpipe kernels on CPU adapters, shared-memory tiles sized to the shape elsewhere", () => {
  const nv = "NVIDIA GeForce RTX 4090 / ada";
  assert.deepEqual(defaultVariant({ subgroups: true }, "llvmpipe (LLVM 15.0.6, 256 bits) / vulkan"), "subgroup");
  assert.deepEqual(defaultVariant({ subgroups: false }, "llvmpipe"), "blocked");
  // a problem known: the convolutions' tile where its transposes pay off — a transposed B needs
  // M ≥ 128 rows (the ResNet projector's 32 do not), a transposed A N ≥ 128 columns
  const lp = (a: number[], b: number[], attrs = {}) =>
    defaultVariant({ subgroups: true }, "llvmpipe", matmulProblem([a, b], attrs));
  assert.deepEqual(lp([4096, 4096], [4096, 4096]), "convtile");
  assert.deepEqual(lp([256, 1024], [1024, 1024], { transB: true }), "convtile");
  assert.deepEqual(lp([32, 512], [2048, 512], { transB: true }), "subgroup");
  assert.deepEqual(lp([32, 2048], [2048, 512]), "convtile");
  assert.deepEqual(lp([256, 1024], [1024, 64]), "subgroup");
  // without subgroups: the tile too (8 rows × 2 vec4 per thread), register blocking where it does not suit
  const noSg = (a: number[], b: number[], attrs = {}) =>
    defaultVariant({ subgroups: false }, "llvmpipe", matmulProblem([a, b], attrs));
  assert.deepEqual(noSg([64, 64], [64, 64]), "convtile");
  assert.deepEqual(noSg([32, 512], [2048, 512], { transB: true }), "blocked");
  // no problem known on a GPU: register blocking
  assert.deepEqual(defaultVariant({ subgroups: true }, nv), "blocked");
  // 4096²: 1024 tiles of 128² → the big tile; the BT forward 256×1024: 16 big tiles are too few
  // for a large GPU, 64 tiles of 64² also, so 32×64; the D×D correlation 2048²: 256 big tiles
  assert.deepEqual(
    defaultVariant({ subgroups: true }, nv, matmulProblem([[4096, 4096], [4096, 4096]], {})),
    "gemm128x128x8t8x8",
  );
  assert.deepEqual(
    defaultVariant({ subgroups: true }, nv, matmulProblem([[256, 784], [1024, 784]], { transB: true })),
    "gemm32x64x16t4x4",
  );
  assert.deepEqual(
    defaultVariant({ subgroups: true }, nv, matmulProblem([[256, 2048], [256, 2048]], { transA: true })),
    "gemm128x128x8t8x8",
  );
  assert.deepEqual(
    defaultVariant({ subgroups: true }, nv, matmulProblem([[1024, 784], [784, 1024]], {})),
    "gemm64x64x16t4x4",
  );
  // every default names a registered variant
  assert.ok(
    MATMUL_VARIANTS["gemm32x64x16t4x4"] && MATMUL_VARIANTS["gemm64x64x16t4x4"] && MATMUL_VARIANTS["gemm128x128x8t8x8"],
  );
});

Deno.test("subgroup kernels only where every subgroup has 8 lanes (SwiftShader's 4 gave wrong products)", () => {
  assert.equal(subgroupsUsable(true, 8), true);
  assert.equal(subgroupsUsable(true, 32), true);
  assert.equal(subgroupsUsable(true, 4), false);
  assert.equal(subgroupsUsable(true, undefined), false);
  assert.equal(subgroupsUsable(false, 32), false);
  // and with subgroups off the untuned pick is a kernel that does not use them
  assert.equal(defaultVariant({ subgroups: subgroupsUsable(true, 4) }, "SwiftShader Device (Subzero)"), "blocked");
});

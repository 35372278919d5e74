// The discrete-GPU matmul variants that tests/matmul_test.ts does not cover: the f16 ones
// (inputs rounded to half precision, f32 sums; from f32 storage through the compiler and from
// f16 storage through the standalone runner) against float64 on f16-rounded inputs, and the
// tensor-core (subgroup-matrix) family. That one cannot run on llvmpipe, so its WGSL is checked
// three ways here: its tile arithmetic, names and config choice as plain functions; the real
// kernel's text through Dawn's WGSL parser (which on an adapter without the feature stops at the
// `enable` line only if everything else parses); and the whole kernel with plain-WGSL stand-ins
// for the fragment builtins, run against float64 on odd shapes.
import assert from "node:assert/strict";
import { type MatmulFeatures, matmulProblem, type SubgroupMatrixConfig } from "../kernels/matmul/common.ts";
import { parseGemmName } from "../kernels/matmul/gemm.ts";
import {
  chooseSubgroupMatrixConfig,
  parseSgmatName,
  sgmatCandidates,
  sgmatName,
  type SgmatOptions,
  sgmatShader,
  sgmatTile,
  sgmatVariant,
  sgmatWorkgroupBytes,
} from "../kernels/matmul/sgmat.ts";
import { candidateVariants, matmulVariant } from "../kernels/matmul/variants.ts";
import { runMatmul } from "../runtime/matmul_runner.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { type Arg, assertClose, cpuOp, randArg } from "./util/check.ts";
import { getGpu, runOpGPU } from "./util/gpu.ts";

// the adapter's features, known before the tests register: a test whose feature is missing is a named skip
const FEATURES = (await getGpu()).features;

type Case = { M: number; N: number; K: number; tA: boolean; tB: boolean; aBatch?: number[]; bBatch?: number[] };
const name = (c: Case) =>
  `${c.aBatch ? `[${c.aBatch}]·[${c.bBatch}] ` : ""}${c.M}x${c.N}x${c.K} ${c.tA ? "T" : "N"}${c.tB ? "T" : "N"}`;
const argsOf = (c: Case, seed: number): [Arg, Arg] => [
  randArg([...(c.aBatch ?? []), ...(c.tA ? [c.K, c.M] : [c.M, c.K])], seed),
  randArg([...(c.bBatch ?? []), ...(c.tB ? [c.N, c.K] : [c.K, c.N])], seed + 1),
];
/** the values an f16 kernel multiplies: the f32 it is given, rounded to half precision (rounding
 * the float64 test value directly would differ on the rare f32 halfway cases) */
const f16 = (x: Arg): Arg => ({
  shape: x.shape,
  data: Float64Array.from(x.data, (v) => Math.f16round(Math.fround(v))),
});

/**
 * The variant's output against float64 on the f16-rounded inputs. Products of f16 values are
 * exact in f32, so the tolerance is the f32 one; `unrounded` confirms the case would fail if
 * the kernel multiplied the unrounded values (so the check can tell the two apart).
 */
function checkF16(got: Float32Array, a: Arg, b: Arg, attrs: Record<string, boolean>, K: number, what: string) {
  const tol = { rtol: 1e-4, atol: 1e-6 * K };
  const want = cpuOp("matmul", [f16(a), f16(b)], attrs);
  assertClose(got, want, tol, what);
  const unrounded = cpuOp("matmul", [a, b], attrs);
  assert.throws(() => assertClose(got, unrounded, tol, what), Error, `${what}: indistinguishable from an f32 product`);
}

const ODD: Case[] = [
  { M: 33, N: 65, K: 17, tA: false, tB: false },
  { M: 65, N: 33, K: 17, tA: true, tB: false },
  { M: 65, N: 33, K: 17, tA: false, tB: true },
  { M: 33, N: 65, K: 19, tA: true, tB: true },
];

// ---- f16 SIMT tiles -----------------------------------------------------------------------------

Deno.test({
  name: "gemm f16 variants (f32 storage, f16 tiles) match float64 on f16-rounded inputs",
  ignore: !FEATURES.f16,
  fn: async () => {
    const cases: [string, Case][] = [
      ...ODD.map((c) => ["gemm64x64x16t4x4-f16", c] as [string, Case]),
      ["gemm128x128x16t8x8-f16", ODD[0]],
      ["gemm128x128x16t8x8-f16", { M: 9, N: 12, K: 8, tA: true, tB: false, aBatch: [2], bBatch: [1] }],
    ];
    for (const [i, [v, c]] of cases.entries()) {
      const [a, b] = argsOf(c, 10 * i + 1), attrs = { transA: c.tA, transB: c.tB };
      const got = await awaitGpu(
        runOpGPU("matmul", [a, b], attrs, {}, { variant: (op) => (op === "matmul" ? v : undefined) }),
      );
      checkF16(got, a, b, attrs, c.K, `${v} ${name(c)}`);
    }
  },
});

Deno.test({
  name: "gemm f16-storage variant reads f16 buffers (standalone runner) and refuses the compiler's f32 storages",
  ignore: !FEATURES.f16,
  fn: async () => {
    const gpu = await getGpu();
    for (const [i, c] of [ODD[0], ODD[3], { M: 12, N: 16, K: 8, tA: false, tB: false }].entries()) {
      const [a, b] = argsOf(c, 100 + i), attrs = { transA: c.tA, transB: c.tB };
      const p = matmulProblem([a.shape, b.shape], attrs);
      const got = await awaitGpu(runMatmul(gpu.device, p, "gemm128x128x16t8x8-f16s", a.data, b.data));
      checkF16(got, a, b, attrs, c.K, `f16 storage ${name(c)}`);
    }
    const [a, b] = argsOf(ODD[0], 1);
    await assert.rejects(
      runOpGPU("matmul", [a, b], {}, {}, { variant: () => "gemm128x128x16t8x8-f16s" }),
      /reads f16 buffers; the compiled step stores its tensors in f32/,
    );
  },
});

Deno.test("gemm names: parse round trip, and bad tiles say what is wrong", () => {
  const o = parseGemmName("gemm64x128x8t4x8-f16")!;
  assert.deepEqual(o, { BM: 64, BN: 128, BK: 8, TM: 4, TN: 8, elem: "f16", storage: "f32" });
  assert.equal(matmulVariant("gemm64x128x8t4x8-f16")?.name, "gemm64x128x8t4x8-f16");
  assert.equal(parseGemmName("blocked"), undefined);
  assert.throws(() => parseGemmName("gemm64x64x6t4x4"), /BK must be a multiple of 4/);
  assert.throws(() => parseGemmName("gemm60x64x8t8x4"), /multiples of TM and TN/);
  assert.throws(() => parseGemmName("gemm256x256x8t4x4"), /4096 invocations per workgroup/);
});

// ---- tensor cores: plain functions ------------------------------------------------------------

const NVIDIA_LIKE: SubgroupMatrixConfig[] = [
  { componentType: "f16", resultComponentType: "f16", M: 16, N: 16, K: 16 },
  { componentType: "f16", resultComponentType: "f32", M: 16, N: 8, K: 16 },
  { componentType: "f16", resultComponentType: "f32", M: 16, N: 16, K: 16 },
  { componentType: "i8", resultComponentType: "i32", M: 16, N: 16, K: 32 },
];

Deno.test("tensor cores: config choice takes f16 inputs with f32 results, largest fragment", () => {
  assert.deepEqual(chooseSubgroupMatrixConfig(NVIDIA_LIKE), NVIDIA_LIKE[2]);
  // f16 results only (no f32 sums) or integer only: no config the matmul can use
  assert.equal(chooseSubgroupMatrixConfig([NVIDIA_LIKE[0], NVIDIA_LIKE[3]]), undefined);
  assert.equal(chooseSubgroupMatrixConfig([]), undefined);
  // Intel-like 8×16×16 is taken when it is the only f32-result one
  const intel = { componentType: "f16", resultComponentType: "f32", M: 8, N: 16, K: 16 };
  assert.deepEqual(chooseSubgroupMatrixConfig([NVIDIA_LIKE[0], intel]), intel);
});

Deno.test("tensor cores: tile arithmetic, names and workgroup memory", () => {
  const o: SgmatOptions = { fm: 16, fn: 16, fk: 16, S: 32, WM: 4, WN: 2, FM: 2, FN: 4, BK: 32, storage: "f32" };
  // 4 subgroups × 2 fragments × 16 rows; 2 × 4 × 16 columns; 8 subgroups of 32 lanes
  assert.deepEqual(sgmatTile(o), { BM: 128, BN: 128, threads: 256 });
  assert.equal(sgmatName(o), "sgmat16x16x16-s32-w4x2-f2x4-k32");
  assert.deepEqual(parseSgmatName(sgmatName(o)), { ...o, emulate: false, syntax: "template" });
  assert.deepEqual(parseSgmatName("sgmat16x16x16-s32-w4x2-f2x4-k32-f16s-argsyntax"), {
    ...o,
    storage: "f16",
    emulate: false,
    syntax: "argument",
  });
  // A: 2 buffers × 128 rows × (32 + 8) halves; B: 2 × 32 × (128 + 8) halves; edge scratch 8 × 16 × 16 f32
  assert.equal(sgmatWorkgroupBytes(o), 2 * 2 * (128 * 40 + 32 * 136) + 4 * 8 * 256);
  assert.throws(
    () => parseSgmatName("sgmat16x16x16-s32-w4x2-f2x4-k24"),
    /BK 24 is not a multiple of the fragment K 16/,
  );
  assert.throws(() => parseSgmatName("sgmat16x16x16-s64-w4x8-f1x1-k16"), /2048 invocations/);
  // every candidate for a 16³ config at subgroup size 32 is valid and has BK ≥ 32
  const cands = sgmatCandidates(NVIDIA_LIKE[2], 32);
  assert.equal(cands.length, 3);
  for (const c of cands) {
    assert.ok(c.BK >= 32 && c.BK % 16 === 0 && sgmatTile(c).threads % 32 === 0, sgmatName(c));
    assert.ok(sgmatWorkgroupBytes(c) <= 49152, `${sgmatName(c)}: ${sgmatWorkgroupBytes(c)} bytes`);
  }
});

Deno.test("tensor cores: offered as candidates only for f16 precision on an adapter with a config and a fixed subgroup size", () => {
  const nv: MatmulFeatures = {
    subgroups: true,
    f16: true,
    subgroupMatrix: NVIDIA_LIKE,
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
  };
  const f16 = candidateVariants(nv, { precision: "f16" });
  const sg = f16.filter((n) => n.startsWith("sgmat"));
  assert.deepEqual(sg.sort(), sgmatCandidates(NVIDIA_LIKE[2], 32).map(sgmatName).sort());
  assert.ok(
    f16.every((n) => matmulVariant(n)!.inputType === "f16" && (matmulVariant(n)!.storageType ?? "f32") === "f32"),
  );
  // f32 precision never gets an f16 variant
  assert.ok(candidateVariants(nv, {}).every((n) => (matmulVariant(n)!.inputType ?? "f32") === "f32"));
  // f16 storage: only the f16-storage variants
  assert.ok(candidateVariants(nv, { precision: "f16", storage: "f16" }).every((n) => n.endsWith("-f16s")));
  // no config, or subgroup sizes that vary (AMD-like 32–64): no tensor-core candidates
  assert.ok(!candidateVariants({ ...nv, subgroupMatrix: [] }, { precision: "f16" }).some((n) => n.startsWith("sgmat")));
  assert.ok(
    !candidateVariants({ ...nv, subgroupMaxSize: 64 }, { precision: "f16" }).some((n) => n.startsWith("sgmat")),
  );
  // supports(): the config and subgroup size must match what the adapter reports
  const v = sgmatVariant(sgmatCandidates(NVIDIA_LIKE[2], 32)[0]);
  assert.ok(v.supports(nv));
  assert.ok(!v.supports({ ...nv, subgroupMatrix: [NVIDIA_LIKE[1]] }));
  assert.ok(!v.supports({ ...nv, subgroupMinSize: 16, subgroupMaxSize: 16 }));
  assert.ok(!v.supports({ ...nv, f16: false }));
});

Deno.test("tensor cores: the generated kernel's fragments, strides and workgroup size", () => {
  const o: SgmatOptions = { fm: 16, fn: 16, fk: 16, S: 32, WM: 2, WN: 2, FM: 2, FN: 2, BK: 32, storage: "f32" };
  // 4096³: every tile full, fragments stored straight into C with the row stride N
  const full = sgmatShader(matmulProblem([[4096, 4096], [4096, 4096]], {}), o);
  assert.match(full, /@compute @workgroup_size\(128\)/);
  assert.match(full, /alias FragA = subgroup_matrix_left<f16, 16, 16>;/);
  assert.match(full, /alias FragC = subgroup_matrix_result<f32, 16, 16>;/);
  // A slices are [64 rows][32 + 8] halves, B slices [32][64 + 8]
  assert.match(full, /var<workgroup> As: array<f16, 5120>;/);
  assert.match(full, /var<workgroup> Bs: array<f16, 4608>;/);
  assert.match(
    full,
    /subgroupMatrixLoad<FragA, row_major>\(&As, \(cur \* 64u \+ wm \* 32u \+ 16u\) \* 40u \+ kk, 40u\)/,
  );
  assert.match(
    full,
    /subgroupMatrixLoad<FragB, row_major>\(&Bs, \(cur \* 32u \+ kk\) \* 72u \+ wn \* 32u \+ 16u, 72u\)/,
  );
  assert.match(
    full,
    /subgroupMatrixStore<row_major>\(&C, cOff \+ \(m0 \+ wm \* 32u \+ 16u\) \* 4096u \+ n0 \+ wn \* 32u \+ 16u, acc1_1, 4096u\);/,
  );
  assert.doesNotMatch(full, /workgroup> Cs/);
  assert.equal((full.match(/subgroupMatrixMultiplyAccumulate/g) ?? []).length, 4);
  // a ragged problem branches (uniformly, per workgroup) to the guarded path through Cs
  const ragged = sgmatShader(matmulProblem([[100, 37], [37, 68]], {}), o);
  assert.match(ragged, /if \(m0 \+ 64u <= 100u && n0 \+ 64u <= 68u\)/);
  assert.match(ragged, /subgroupMatrixStore<row_major>\(&Cs, sg \* 256u, acc0_0, 16u\);/);
  // N not a multiple of 4: rows of C are not 16-byte aligned, so every tile goes through Cs
  const odd = sgmatShader(matmulProblem([[100, 37], [37, 67]], {}), o);
  assert.doesNotMatch(odd, /&C,/);
  // the earlier builtin form takes the majorness as an argument
  const arg = sgmatShader(matmulProblem([[64, 32], [32, 64]], {}), { ...o, syntax: "argument" });
  assert.match(arg, /subgroupMatrixLoad<FragA>\(&As, .*, false, 40u\)/);
  assert.match(arg, /subgroupMatrixStore\(&C, .*, acc0_0, false, 64u\);/);
});

// an adapter with subgroup matrices compiles and runs the real kernels in bench/gpu.sh instead
const HAS_SUBGROUP_MATRIX = (await getGpu()).device.features.has(
  "chromium-experimental-subgroup-matrix" as GPUFeatureName,
);

Deno.test({
  name: "tensor cores: Dawn's WGSL parser accepts the generated kernels (both builtin forms)",
  ignore: HAS_SUBGROUP_MATRIX,
  fn: async () => {
    const gpu = await getGpu();
    const o: SgmatOptions = { fm: 16, fn: 16, fk: 16, S: 32, WM: 2, WN: 2, FM: 2, FN: 2, BK: 32, storage: "f32" };
    for (
      const [what, code] of [
        ["template form, ragged", sgmatShader(matmulProblem([[100, 37], [68, 37]], { transB: true }), o)],
        [
          "argument form, full tiles",
          sgmatShader(matmulProblem([[64, 64], [64, 64]], {}), { ...o, syntax: "argument" }),
        ],
        [
          "f16 storage, transposed A",
          sgmatShader(matmulProblem([[40, 100], [40, 68]], { transA: true }), { ...o, storage: "f16" }),
        ],
      ]
    ) {
      const info = await compilationInfo(gpu.device, code);
      const errors = info.messages.filter((m) => m.type === "error");
      // the extension is the only objection: a syntax error anywhere else is reported instead
      assert.equal(errors.length, 1, `${what}: ${errors.map((e) => `${e.lineNum}: ${e.message}`).join("; ")}`);
      assert.match(errors[0].message, /extension 'chromium_experimental_subgroup_matrix' is not allowed/, what);
    }
    // the check can fail: a malformed call is reported as such
    const broken = sgmatShader(matmulProblem([[64, 64], [64, 64]], {}), o).replace(", 40u)", " 40u)");
    const info = await compilationInfo(gpu.device, broken);
    assert.ok(
      info.messages.some((m) => m.type === "error" && /expected/.test(m.message)),
      "a syntax error is reported",
    );
  },
});

/** the compiler's messages for `code`, with the validation error it raises kept out of the device's log */
async function compilationInfo(device: GPUDevice, code: string): Promise<GPUCompilationInfo> {
  device.pushErrorScope("validation");
  const info = await awaitGpu(device.createShaderModule({ code }).getCompilationInfo());
  await awaitGpu(device.popErrorScope());
  return info;
}

// ---- tensor cores: the whole kernel with stand-in fragments, on this adapter -------------------

// the tensor-core kernel needs subgroups of one fixed size and shader-f16
const SUBGROUP_INFO = (await getGpu()).adapter.info as GPUAdapterInfo & {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
};
const FIXED_SUBGROUP = SUBGROUP_INFO.subgroupMinSize === SUBGROUP_INFO.subgroupMaxSize
  ? SUBGROUP_INFO.subgroupMinSize
  : undefined;

Deno.test({
  name: "tensor-core kernel with stand-in fragments matches float64 on f16-rounded inputs: ragged, full, odd N, batch",
  ignore: !FEATURES.subgroups || !FEATURES.f16 || !FIXED_SUBGROUP,
  fn: async () => {
    const gpu = await getGpu();
    const S = FIXED_SUBGROUP!;
    // 8×8×8 fragments keep the stand-ins small; 2×1 subgroups of 1×2 fragments: 16×32 tiles, 2 slices of 8
    const base: SgmatOptions = {
      fm: 8,
      fn: 8,
      fk: 8,
      S,
      WM: 2,
      WN: 1,
      FM: 1,
      FN: 2,
      BK: 16,
      storage: "f32",
      emulate: true,
    };
    const cases: [SgmatOptions, Case][] = [
      [base, ODD[0]], // ragged in M, N and K, both paths of the per-workgroup branch
      [base, ODD[3]], // both operands transposed
      [base, { M: 32, N: 64, K: 40, tA: false, tB: true }], // every tile full: fragments stored straight into C
      [base, { M: 21, N: 30, K: 16, tA: true, tB: false }], // N % 4 ≠ 0: every tile through the scratch
      [{ ...base, WM: 1, WN: 2, FM: 2, FN: 1, BK: 8 }, {
        M: 17,
        N: 24,
        K: 9,
        tA: false,
        tB: false,
        aBatch: [2, 1],
        bBatch: [3],
      }],
    ];
    for (const [i, [o, c]] of cases.entries()) {
      const v = sgmatName(o);
      const [a, b] = argsOf(c, 200 + 2 * i), attrs = { transA: c.tA, transB: c.tB };
      const got = await awaitGpu(
        runOpGPU("matmul", [a, b], attrs, {}, { variant: (op) => (op === "matmul" ? v : undefined) }),
      );
      checkF16(got, a, b, attrs, c.K, `${v} ${name(c)}`);
    }
    // f16 storage through the standalone runner
    const c = ODD[1], [a, b] = argsOf(c, 300), attrs = { transA: c.tA, transB: c.tB };
    const got = await awaitGpu(
      runMatmul(
        gpu.device,
        matmulProblem([a.shape, b.shape], attrs),
        sgmatName({ ...base, storage: "f16" }),
        a.data,
        b.data,
      ),
    );
    checkF16(got, a, b, attrs, c.K, `f16 storage ${name(c)}`);
  },
});

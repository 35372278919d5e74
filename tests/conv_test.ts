// conv2d and its two gradient ops: shape rules, closed forms of the float64 reference,
// finite-difference VJPs (first and second order), and every WGSL variant against float64.
import { evaluate } from "../cpu/reference.ts";
import { compile } from "../compiler/compile.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { ShapeError } from "../kernels/op.ts";
import { assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";
import { getGpu, runGraphGPU, runOpGPU } from "./util/gpu.ts";

// the adapter's features, known before the tests register: a test whose feature is missing is a named skip
const FEATURES = (await getGpu()).features;

type Case = { name: string; x: number[]; w: number[]; stride: number | number[]; pad: number | number[] };
const CASES: Case[] = [
  { name: "3x3 stride 2 pad 1", x: [2, 3, 7, 9], w: [5, 3, 3, 3], stride: 2, pad: 1 },
  { name: "3x3 stride 1 pad 0", x: [2, 3, 7, 9], w: [5, 3, 3, 3], stride: 1, pad: 0 },
  { name: "1x1 stride 1", x: [2, 3, 7, 9], w: [5, 3, 1, 1], stride: 1, pad: 0 },
  { name: "1x1 stride 2 (ResNet shortcut)", x: [2, 3, 7, 9], w: [5, 3, 1, 1], stride: 2, pad: 0 },
  { name: "3x2 kernel, stride [2,1], pad [1,0]", x: [2, 3, 7, 9], w: [5, 3, 3, 2], stride: [2, 1], pad: [1, 0] },
  { name: "3x3 stride 3 pad 2 (empty phases)", x: [1, 2, 5, 4], w: [3, 2, 3, 3], stride: 3, pad: 2 },
];
const geoOut = (c: Case) => {
  const [s0, s1] = typeof c.stride === "number" ? [c.stride, c.stride] : c.stride;
  const [p0, p1] = typeof c.pad === "number" ? [c.pad, c.pad] : c.pad;
  return [
    c.x[0],
    c.w[0],
    Math.floor((c.x[2] + 2 * p0 - c.w[2]) / s0) + 1,
    Math.floor((c.x[3] + 2 * p1 - c.w[3]) / s1) + 1,
  ];
};
/** f throws a ShapeError whose message contains `msg` */
function assertThrows(f: () => unknown, msg: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ShapeError) || !e.message.includes(msg)) {
      throw new Error(`expected ShapeError with "${msg}", got ${e}`);
    }
    return;
  }
  throw new Error(`expected ShapeError with "${msg}", nothing was thrown`);
}
const attrs = (c: Case) => ({ stride: c.stride, pad: c.pad });
/** f32-exact random data, so the GPU sees exactly what the reference sees */
const f32Arg = (shape: number[], seed: number) => ({
  shape,
  data: rand(shape.reduce((a, b) => a * b, 1), seed).map(Math.fround),
});

Deno.test("conv2d shape rule and errors", () => {
  const g = new Graph();
  for (const c of CASES) {
    const y = g.add("conv2d", [g.input(`x${c.name}`, c.x), g.input(`w${c.name}`, c.w)], attrs(c));
    if (y.shape.join() !== geoOut(c).join()) throw new Error(`${c.name}: shape ${y.shape} vs ${geoOut(c)}`);
  }
  const x = g.input("x", [2, 3, 7, 9]);
  let k = 0;
  const bad = (w: number[], a: Record<string, unknown>, msg: string) =>
    assertThrows(() => g.add("conv2d", [x, g.input(`w${k++}`, w)], a), msg);
  bad([5, 4, 3, 3], {}, "conv2d: input has 3 channels but weight [5, 4, 3, 3] expects 4");
  bad([5, 3, 9, 3], {}, "image height = 7 (+ 2·pad 0) is smaller than the kernel height = 9");
  bad([5, 3, 3, 12], { pad: 1 }, "image width = 9 (+ 2·pad 1) is smaller than the kernel width = 12");
  bad([5, 3, 3, 3], { stride: 0 }, "attrs.stride must be an integer ≥ 1");
  bad([5, 3, 3, 3], { pad: [1, 2, 3] }, "attrs.pad must be");
  bad([5, 3, 3], {}, "weight w must be 4-D");
  const w = g.input("w", [5, 3, 3, 3]);
  assertThrows(
    () => g.add("conv2dGradInput", [g.input("g1", [2, 5, 4, 4]), w], { stride: 2, pad: 1, inShape: [2, 3, 7, 9] }),
    "cotangent g is [2, 5, 4, 4] but the convolution's output is [2, 5, 4, 5]",
  );
  assertThrows(
    () => g.add("conv2dGradWeight", [x, g.input("g2", [2, 5, 4, 5])], { stride: 2, pad: 1 }),
    "attrs.wShape must be 4 positive integers",
  );
});

Deno.test("conv2d float64 reference: closed forms", () => {
  // a centred delta kernel with pad 1 is the identity; stride 2 then subsamples
  const x = randArg([1, 2, 5, 7], 3);
  const delta = new Float64Array(2 * 2 * 9);
  delta[(0 * 2 + 0) * 9 + 4] = 1; // out 0 ← in 0
  delta[(1 * 2 + 1) * 9 + 4] = 2; // out 1 ← 2 · in 1
  const y = cpuOp("conv2d", [x, { shape: [2, 2, 3, 3], data: delta }], { pad: 1 });
  assertClose(y, Array.from(x.data, (v, i) => (i < 35 ? v : 2 * v)), {}, "delta kernel");
  const ys = cpuOp("conv2d", [x, { shape: [2, 2, 3, 3], data: delta }], { pad: 1, stride: 2 });
  const want: number[] = [];
  for (let c = 0; c < 2; c++) {
    for (let h = 0; h < 5; h += 2) for (let w = 0; w < 7; w += 2) want.push((c + 1) * x.data[(c * 5 + h) * 7 + w]);
  }
  assertClose(ys, want, {}, "strided delta");
  // a 2x2 kernel of ones sums each window
  const r = cpuOp("conv2d", [{ shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, {
    shape: [1, 1, 2, 2],
    data: [1, 1, 1, 1],
  }]);
  assertClose(r, [12, 16, 24, 28], {}, "window sums");
  // a 1x1 convolution is a matmul over channels at every pixel
  const w1 = randArg([4, 3, 1, 1], 5), x1 = randArg([2, 3, 3, 5], 6);
  const y1 = cpuOp("conv2d", [x1, w1]);
  for (let n = 0; n < 2; n++) {
    for (let o = 0; o < 4; o++) {
      for (let p = 0; p < 15; p++) {
        let s = 0;
        for (let c = 0; c < 3; c++) s += w1.data[o * 3 + c] * x1.data[(n * 3 + c) * 15 + p];
        assertClose([y1[(n * 4 + o) * 15 + p]], [s], {}, "1x1 = matmul");
      }
    }
  }
});

Deno.test("conv2d VJP matches finite differences (float64), every case", () => {
  for (const c of CASES) checkVjp("conv2d", [randArg(c.x, 1), randArg(c.w, 2)], attrs(c));
});

Deno.test("conv2dGradInput / conv2dGradWeight VJPs (second order) match finite differences", () => {
  for (const c of CASES.slice(0, 5)) {
    const gshape = geoOut(c);
    checkVjp("conv2dGradInput", [randArg(gshape, 3), randArg(c.w, 4)], { ...attrs(c), inShape: c.x });
    checkVjp("conv2dGradWeight", [randArg(c.x, 5), randArg(gshape, 6)], { ...attrs(c), wShape: c.w });
  }
});

// ---- GPU against float64 --------------------------------------------------------------------

const NO_SG = { subgroups: false, f16: false };
const VARIANTS = [
  { name: "default (convVariant's rule: sg32x2, sg64x1, sg16x1 or t16x1 by columns and reduction)", opts: {} },
  { name: "sg16x1", opts: { variant: () => "sg16x1" } },
  { name: "sg8x2", opts: { variant: () => "sg8x2" } },
  { name: "sg24x1", opts: { variant: () => "sg24x1" } },
  // the largest tiles: 64 rows, or 32 rows × 2 vec4 per lane
  { name: "sg64x1", opts: { variant: () => "sg64x1" } },
  { name: "sg32x2", opts: { variant: () => "sg32x2" } },
  // tiles numbered by column block (the stride phases and the batch split renumbered too)
  { name: "sg16x1c", opts: { variant: () => "sg16x1c" } },
  { name: "sg32x2c", opts: { variant: () => "sg32x2c" } },
  { name: "no subgroups (t4x4)", opts: { features: NO_SG } },
  { name: "t3x1", opts: { features: NO_SG, variant: () => "t3x1" } },
  { name: "t3x1c", opts: { features: NO_SG, variant: () => "t3x1c" } },
  // the discrete-GPU implicit GEMMs (kernels/conv/gemm.ts): 8×8 per invocation, and 4×4 below
  { name: "gemm128x128x8t8x8", opts: { variant: () => "gemm128x128x8t8x8" } },
];
const GEMM = [{ name: "gemm64x64x16t4x4", opts: { variant: () => "gemm64x64x16t4x4" } }];

/** every op of the family on the GPU against float64; `variants` limits the kernel variants tried */
async function gpuCase(c: Case, variants = VARIANTS) {
  const gshape = geoOut(c);
  const x = f32Arg(c.x, 11), w = f32Arg(c.w, 12), g = f32Arg(gshape, 13);
  const ops: [string, typeof x[], Record<string, unknown>][] = [
    ["conv2d", [x, w], attrs(c)],
    ["conv2dGradInput", [g, w], { ...attrs(c), inShape: c.x }],
    ["conv2dGradWeight", [x, g], { ...attrs(c), wShape: c.w }],
  ];
  for (const [op, args, a] of ops) {
    const want = cpuOp(op, args, a);
    for (const v of variants) {
      const got = await runOpGPU(op, args, a, {}, v.opts);
      assertClose(got, want, { rtol: 1e-4, atol: 1e-5 }, `${op} ${c.name} ${v.name}`);
    }
  }
}

// Each distinct shape × variant is a fresh shader that llvmpipe compiles for ~0.2–1 s, so the
// default variant sees every case and the others only the one with the most structure
// (non-square kernel, stride 2 phases along H, stride 1 along W, padding on one axis).
Deno.test("conv2d family on the GPU matches float64: every case, default kernel", async () => {
  for (const c of CASES) await gpuCase(c, VARIANTS.slice(0, 1));
});
Deno.test("conv2d family on the GPU matches float64: every kernel variant", async () => {
  await gpuCase(CASES[4], VARIANTS.slice(1));
});
// tiles numbered by column block only differ from the default order with several blocks of
// columns (more than 64 output channels for sg32x2c, 32 for sg16x1c, 4 for t3x1c) and of rows
// (45 output positions: two blocks of 32)
Deno.test("conv2d family on the GPU matches float64: 72 columns, the default tile and tiles by column block", async () => {
  const wide: Case = {
    name: "36→72 3x2 stride [2,1]",
    x: [3, 36, 5, 6],
    w: [72, 36, 3, 2],
    stride: [2, 1],
    pad: [1, 0],
  };
  // the default too: its 32×2 tile is chosen from 64 columns on, which the cases above lack
  await gpuCase(wide, VARIANTS.filter((v, k) => k === 0 || v.name.endsWith("c")));
});
// the GPU tiles' index arithmetic (stride phases, empty phases, split reductions with and
// without a ragged last range) differs per case, so one tile sees them all
Deno.test("conv2d family on the GPU matches float64: every case, discrete-GPU implicit GEMM", async () => {
  for (const c of CASES) await gpuCase(c, GEMM);
});

Deno.test({
  name: "conv2d f16 GPU tiles match float64 on f16-rounded inputs (SIMT, and tensor-core with stand-in fragments)",
  ignore: !FEATURES.f16,
  fn: async () => {
    const gpu = await getGpu();
    const r16 = (a: { shape: number[]; data: Float64Array }) => ({ shape: a.shape, data: a.data.map(Math.f16round) });
    // the tensor-core kernel needs one fixed subgroup size; its fragment builtins are emulated here
    const S = gpu.subgroupSize?.min === gpu.subgroupSize?.max ? gpu.subgroupSize?.min : undefined;
    const runs: [Case, string][] = [[CASES[0], "gemm64x64x16t4x4-f16"], [CASES[4], "gemm64x64x16t4x4-f16"]];
    if (S && gpu.features.subgroups) runs.push([CASES[0], `sgmat8x8x8-s${S}-w2x1-f1x2-k16-emu`]);
    for (const [c, variant] of runs) {
      const x = f32Arg(c.x, 41), w = f32Arg(c.w, 42), g = f32Arg(geoOut(c), 43);
      for (
        const [op, args, a] of [
          ["conv2d", [x, w], attrs(c)],
          ["conv2dGradInput", [g, w], { ...attrs(c), inShape: c.x }],
          ["conv2dGradWeight", [x, g], { ...attrs(c), wShape: c.w }],
        ] as const
      ) {
        const got = await runOpGPU(op, [...args], a, {}, { variant: () => variant });
        // products of f16 values are exact in f32: the f32 tolerance holds against the rounded inputs
        assertClose(got, cpuOp(op, args.map(r16), a), { rtol: 1e-4, atol: 1e-5 }, `${op} ${c.name} ${variant}`);
        let differs = false;
        try {
          assertClose(got, cpuOp(op, [...args], a), { rtol: 1e-4, atol: 1e-5 }, "");
        } catch {
          differs = true;
        }
        if (!differs) throw new Error(`${op} ${c.name}: the f16 result is indistinguishable from f32 (no rounding?)`);
      }
    }
  },
});

Deno.test("conv2d rejects unknown kernel variants", async () => {
  const x = f32Arg([1, 1, 3, 3], 1), w = f32Arg([1, 1, 1, 1], 2);
  for (
    const [v, msg] of [
      ["sg12x1", "unknown kernel variant 'sg12x1'"],
      ["fast", "unknown kernel variant 'fast'"],
      ["gemm64x64x6t4x4", "conv2d: matmul variant 'gemm64x64x6t4x4': BK must be a multiple of 4"],
      ["gemm64x64x16t4x4-f16s", "reads f16 buffers; convolutions read f32"],
    ]
  ) {
    let err = "";
    await runOpGPU("conv2d", [x, w], {}, {}, { variant: () => v }).catch((e) => (err = String(e)));
    if (!err.includes(msg)) throw new Error(`variant ${v}: expected "${msg}", got "${err}"`);
  }
});

Deno.test("conv2d GPU: several column tiles, batch-split gradWeight, wide images", async () => {
  // O = 70: three 32-column tiles, the last partly padding; N·HW rows not a multiple of the tile; gradWeight with
  // 3·1·1 = 3 rows splits the batch of 5 into partial sums
  const x = f32Arg([5, 3, 6, 11], 21), w = f32Arg([70, 3, 1, 1], 22), g = f32Arg([5, 70, 6, 11], 23);
  for (
    const [op, args, a] of [
      ["conv2d", [x, w], {}],
      ["conv2dGradInput", [g, w], { inShape: x.shape }],
      ["conv2dGradWeight", [x, g], { wShape: w.shape }],
    ] as const
  ) {
    const want = cpuOp(op, [...args], a);
    assertClose(await runOpGPU(op, [...args], a), want, { rtol: 1e-4, atol: 1e-4 }, op);
    // the GPU tile: two row tiles of 64 for O = 70, a ragged column tile, a split reduction
    const gemm = { variant: () => "gemm64x64x16t4x4" };
    assertClose(await runOpGPU(op, [...args], a, {}, gemm), want, { rtol: 1e-4, atol: 1e-4 }, `${op} gemm`);
  }
});

Deno.test("conv2d backward through autodiff: GPU gradients equal the float64 ones", async () => {
  // loss = Σ r ⊙ relu(conv(relu(conv(x, w1)), w2)): both VJPs, chained, stride 2 then 1
  const g = new Graph();
  const x = g.input("x", [2, 3, 7, 9]), w1 = g.input("w1", [4, 3, 3, 3]), w2 = g.input("w2", [5, 4, 1, 1]);
  const y = x.op("conv2d", [w1], { stride: 2, pad: 1 }).relu().op("conv2d", [w2]).relu();
  const r = g.input("r", y.shape);
  const [dx, dw1, dw2] = grad(g, y.mul(r).sum(), [x, w1, w2]);
  g.output("dx", dx!);
  g.output("dw1", dw1!);
  g.output("dw2", dw2!);
  const leaves = new Map([
    ["x", f32Arg([2, 3, 7, 9], 31).data],
    ["w1", f32Arg([4, 3, 3, 3], 32).data],
    ["w2", f32Arg([5, 4, 1, 1], 33).data],
    ["r", f32Arg([...y.shape], 34).data],
  ]);
  const want = evaluate(g, { leaves, scalars: {} });
  const got = await runGraphGPU(g, leaves);
  for (const [name, t] of [["dx", dx!], ["dw1", dw1!], ["dw2", dw2!]] as const) {
    assertClose(got.get(name)!, want[t.id], { rtol: 1e-4, atol: 1e-5 }, name);
  }
});

Deno.test("two views through one conv weight: its repack runs once per direction, gradients equal float64", async () => {
  // loss = Σ r1 ⊙ conv(x1, w) + Σ r2 ⊙ conv(x2, w): the forward and input-gradient weight
  // repacks of the second view are the first view's (compiler/shared_passes.ts)
  const g = new Graph();
  const w = g.input("w", [6, 3, 3, 3]);
  const xs = [g.input("x1", [2, 3, 9, 9]), g.input("x2", [2, 3, 9, 9])];
  const ys = xs.map((x) => x.op("conv2d", [w], { stride: 1, pad: 1 }));
  const rs = ys.map((y, k) => g.input(`r${k + 1}`, y.shape));
  const loss = ys[0].relu().mul(rs[0]).sum().add(ys[1].relu().mul(rs[1]).sum());
  const [dw, dx1, dx2] = grad(g, loss, [w, ...xs]);
  g.output("dw", dw!);
  g.output("dx1", dx1!);
  g.output("dx2", dx2!);
  const leaves = new Map([
    ["w", f32Arg([6, 3, 3, 3], 41).data],
    ["x1", f32Arg([2, 3, 9, 9], 42).data],
    ["x2", f32Arg([2, 3, 9, 9], 43).data],
    ["r1", f32Arg([...ys[0].shape], 44).data],
    ["r2", f32Arg([...ys[1].shape], 45).data],
  ]);
  const gpu = await getGpu();
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const labels = program.steps.map((s) => s.label.replace(/ @ .*/, ""));
  for (const repack of ["conv2d.weights", "conv2dGradInput.weights"]) {
    const n = labels.filter((l) => l === repack).length;
    // (lowerings without a repack pass have none to share)
    if (n > 1) throw new Error(`${repack} runs ${n} times: ${labels.join(" | ")}`);
  }
  const want = evaluate(g, { leaves, scalars: {} });
  const got = await runGraphGPU(g, leaves);
  for (const [name, t] of [["dw", dw!], ["dx1", dx1!], ["dx2", dx2!]] as const) {
    assertClose(got.get(name)!, want[t.id], { rtol: 1e-4, atol: 1e-5 }, name);
  }
});

Deno.test("the weight gradient's cotangent, transposed by the kernel computing it: no transpose pass, gradients equal float64", async () => {
  // 32 output channels: whole vec4 column tiles, so the transpose has no padding and the ReLU
  // backward's kernel writes it (compiler/relayout.ts); the first conv's cotangent comes from the
  // second's input gradient through a ReLU, the second's from r, both elementwise kernels. Then
  // the same with the first ReLU at [2, 1, 32, 6, 7] (as stacked views run BN): the cotangent is
  // read through a reshape, and its kernel still writes the transposed copy.
  for (const viewed of [false, true]) {
    const g = new Graph();
    const x = g.input("x", [2, 3, 6, 7]), w1 = g.input("w1", [32, 3, 3, 3]), w2 = g.input("w2", [32, 32, 3, 3]);
    const h = x.op("conv2d", [w1], { stride: 1, pad: 1 });
    const a = viewed ? h.reshape([2, 1, 32, 6, 7]).relu().reshape(h.shape) : h.relu();
    const y = a.op("conv2d", [w2], { stride: 2, pad: 1 }).relu();
    const r = g.input("r", y.shape);
    const [dx, dw1, dw2] = grad(g, y.mul(r).sum(), [x, w1, w2]);
    for (const [name, t] of [["dx", dx!], ["dw1", dw1!], ["dw2", dw2!]] as const) g.output(name, t);
    const leaves = new Map([
      ["x", f32Arg([2, 3, 6, 7], 51).data],
      ["w1", f32Arg([32, 3, 3, 3], 52).data],
      ["w2", f32Arg([32, 32, 3, 3], 53).data],
      ["r", f32Arg([...y.shape], 54).data],
    ]);
    const gpu = await getGpu();
    const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
    const transposes = program.steps.filter((s) => s.label.startsWith("conv2dGradWeight.g"));
    if (transposes.length) throw new Error(`${transposes.length} transpose passes of a weight gradient's cotangent`);
    const want = evaluate(g, { leaves, scalars: {} });
    const got = await runGraphGPU(g, leaves);
    for (const [name, t] of [["dx", dx!], ["dw1", dw1!], ["dw2", dw2!]] as const) {
      assertClose(
        got.get(name)!,
        want[t.id],
        { rtol: 1e-4, atol: 1e-5 },
        `${viewed ? "through a reshape: " : ""}${name}`,
      );
    }
  }
});

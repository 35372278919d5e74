// The Winograd convolutions (kernels/conv/winograd.ts): the transform matrices against the
// direct 1-D correlation in float64, each op and variant on the GPU against float64, the
// geometry they refuse, and where the autotuner offers and picks them.
import assert from "node:assert/strict";
import { convGeom } from "../kernels/conv/geometry.ts";
import { WINOGRAD, winogradFits } from "../kernels/conv/winograd.ts";
import { type Attrs, ShapeError } from "../kernels/op.ts";
import { variantCandidates } from "../runtime/autotune.ts";
import { OPS } from "../kernels/registry.ts";
import { cpuOp, rand } from "./util/check.ts";
import { runOpGPU } from "./util/gpu.ts";

Deno.test("Winograd transforms: A^T[(G g) ⊙ (B^T d)] is the correlation of d with g (float64)", () => {
  for (const [name, t] of Object.entries(WINOGRAD)) {
    const a = t.m + 2;
    for (let trial = 0; trial < 5; trial++) {
      const d = rand(a, 10 + trial), g = rand(3, 20 + trial);
      const Gg = t.G.map((row) => row.reduce((s, c, k) => s + c * g[k], 0));
      const Bd = t.BT.map((row) => row.reduce((s, c, k) => s + c * d[k], 0));
      const y = t.AT.map((row) => row.reduce((s, c, k) => s + c * Gg[k] * Bd[k], 0));
      for (let i = 0; i < t.m; i++) {
        const want = d[i] * g[0] + d[i + 1] * g[1] + d[i + 2] * g[2];
        assert.ok(Math.abs(y[i] - want) < 1e-12, `${name}: y[${i}] = ${y[i]}, want ${want}`);
      }
    }
  }
});

const f32Arg = (shape: number[], seed: number) => ({
  shape,
  data: rand(shape.reduce((x, y) => x * y, 1), seed).map(Math.fround),
});

/**
 * Every element within 1e-5 + 3e-5 · Σ|terms| of float64 (the bound the autotuner checks every
 * candidate against, runtime/spot_check.ts): Winograd's rounding error scales with the sum of
 * the magnitudes, not with the result, which cancellation can make arbitrarily small.
 */
async function checkOp(op: string, args: { shape: number[]; data: Float64Array }[], attrs: Attrs, variant: string) {
  const want = cpuOp(op, args, attrs);
  const mag = cpuOp(op, args.map((x) => ({ shape: x.shape, data: x.data.map(Math.abs) })), attrs);
  const got = await runOpGPU(op, args, attrs, {}, { variant: () => variant });
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]), tol = 1e-5 + 3e-5 * mag[i];
    if (!(err <= tol)) throw new Error(`${op} ${variant}: index ${i}: got ${got[i]}, want ${want[i]} (bound ${tol})`);
  }
}

// Blocks that overhang the output on both axes (5×7 → 2×2 or 3×4 blocks), asymmetric and zero
// padding, N > 1, both widths of the products' columns (≤ 32 and 64 padded), tiny images.
const CASES = [
  { x: [2, 3, 5, 7], w: [5, 3, 3, 3], pad: [1, 2] },
  { x: [3, 36, 6, 5], w: [40, 36, 3, 3], pad: 1 },
  { x: [2, 4, 6, 9], w: [3, 4, 3, 3], pad: 0 },
  // images smaller than a block and the kernel: 1×1 with pad 1, and 2×3 with pad 2 (output larger than the input)
  { x: [2, 5, 1, 1], w: [6, 5, 3, 3], pad: 1 },
  { x: [1, 3, 2, 3], w: [4, 3, 3, 3], pad: 2 },
];
for (const c of CASES) {
  Deno.test(`Winograd conv2d family on the GPU within the float64 bound: x ${c.x}, w ${c.w}, pad ${c.pad}`, async () => {
    const [ph, pw] = typeof c.pad === "number" ? [c.pad, c.pad] : c.pad;
    const gshape = [c.x[0], c.w[0], c.x[2] + 2 * ph - 2, c.x[3] + 2 * pw - 2];
    const x = f32Arg(c.x, 1), w = f32Arg(c.w, 2), g = f32Arg(gshape, 3);
    for (const v of Object.keys(WINOGRAD)) {
      await checkOp("conv2d", [x, w], { pad: c.pad }, v);
      await checkOp("conv2dGradInput", [g, w], { pad: c.pad, inShape: c.x }, v);
      await checkOp("conv2dGradWeight", [x, g], { pad: c.pad, wShape: c.w }, v);
    }
  });
}

Deno.test("Winograd without subgroups: the products on the per-thread tile", async () => {
  const x = f32Arg([2, 5, 6, 6], 4), w = f32Arg([6, 5, 3, 3], 5);
  const want = cpuOp("conv2d", [x, w], { pad: 1 });
  const got = await runOpGPU("conv2d", [x, w], { pad: 1 }, {}, {
    variant: () => "wino4",
    features: { subgroups: false, f16: false },
  });
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `index ${i}`);
});

Deno.test("Winograd variants refuse what is not a 3×3 stride-1 convolution, naming it", async () => {
  const x = f32Arg([1, 2, 7, 7], 6);
  for (
    const [w, attrs, msg] of [
      [
        [3, 2, 3, 3],
        { stride: 2, pad: 1 },
        "3×3 kernel at stride 1 with padding ≤ 2, got 3×3 stride [2, 2] pad [1, 1]",
      ],
      [[3, 2, 1, 1], {}, "got 1×1 stride [1, 1]"],
    ] as const
  ) {
    const err = await runOpGPU("conv2d", [x, f32Arg([...w], 7)], attrs, {}, { variant: () => "wino4" }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof ShapeError && err.message.includes(msg), String(err));
  }
});

Deno.test("Winograd temporaries stay within the 128 MiB any adapter binds: a larger batch is refused, not picked", () => {
  // 512 images of 64 channels at 32×32: 32768 blocks of 4×4, 36 · 64 · 32768 floats of input blocks
  const geo = convGeom("conv2d", [512, 64, 32, 32], [64, 64, 3, 3], { pad: 1 });
  assert.throws(() => winogradFits("conv2d", "wino4", geo), /'wino4' needs a 288 MiB temporary for a batch of 512/);
  assert.equal(winogradFits("conv2d", "wino4", convGeom("conv2d", [64, 64, 32, 32], [64, 64, 3, 3], { pad: 1 })), true);
  const choice = OPS.conv2d.variants!, t = { adapter: "llvmpipe", features: { subgroups: true, f16: false } };
  assert.equal(choice.fits!("wino4", [[512, 64, 32, 32], [64, 64, 3, 3]], { pad: 1 }), false);
  assert.equal(choice.fallback(t, [[512, 64, 32, 32], [64, 64, 3, 3]], { pad: 1 }), "default");
  assert.equal(choice.fallback(t, [[128, 64, 32, 32], [64, 64, 3, 3]], { pad: 1 }), "wino4");
});

Deno.test("autotuner: Winograd offered on CPU adapters for the shapes it fits, and the untuned picks", () => {
  const f = { subgroups: true, f16: false };
  for (const op of ["conv2d", "conv2dGradInput", "conv2dGradWeight"]) {
    assert.ok(variantCandidates(op, "llvmpipe", f).includes("wino4"), op);
    assert.ok(!variantCandidates(op, "NVIDIA H100", f).includes("wino4"), op);
  }
  const choice = OPS.conv2d.variants!, t = { adapter: "llvmpipe", features: f };
  const x = (c: number) => [2, c, 8, 8], w = (o: number, c: number, k = 3) => [o, c, k, k];
  assert.equal(choice.fits!("wino4", [x(64), w(64, 64)], { pad: 1 }), true);
  assert.equal(choice.fits!("wino4", [x(64), w(64, 64)], { pad: 1, stride: 2 }), false);
  assert.equal(choice.fits!("wino4", [x(64), w(64, 64, 1)], {}), false);
  assert.equal(choice.fits!("sg32x2", [x(64), w(64, 64, 1)], {}), true);
  // conv2d and the input gradient with 64 channels in and out, the weight gradient from 16 input channels
  assert.equal(choice.fallback(t, [x(64), w(64, 64)], { pad: 1 }), "wino4");
  assert.equal(choice.fallback(t, [x(64), w(32, 64)], { pad: 1 }), "default");
  assert.equal(choice.fallback(t, [x(32), w(64, 32)], { pad: 1 }), "default");
  assert.equal(choice.fallback(t, [x(64), w(64, 64)], { pad: 1, stride: 2 }), "default");
  assert.equal(choice.fallback({ ...t, adapter: "NVIDIA H100" }, [x(64), w(64, 64)], { pad: 1 }), "gemm64x64x16t4x4");
  const gi = OPS.conv2dGradInput.variants!, gw = OPS.conv2dGradWeight.variants!;
  assert.equal(gi.fallback(t, [x(128), w(128, 64)], { pad: 1, inShape: x(64) }), "wino4");
  assert.equal(gi.fallback(t, [x(64), w(64, 32)], { pad: 1, inShape: x(32) }), "default");
  // the weight gradient: F(4×4) over 16 images of 8×8 (64 blocks); with 8 blocks F(2×2); with 3 channels no Winograd
  const img = (n: number, c: number) => [n, c, 8, 8];
  assert.equal(gw.fallback(t, [img(16, 32), img(16, 64)], { pad: 1, wShape: w(64, 32) }), "wino4");
  assert.equal(gw.fallback(t, [img(2, 32), img(2, 64)], { pad: 1, wShape: w(64, 32) }), "wino2");
  assert.equal(gw.fallback(t, [img(16, 3), img(16, 64)], { pad: 1, wShape: w(64, 3) }), "default");
});

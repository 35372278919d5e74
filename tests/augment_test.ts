import assert from "node:assert/strict";
import { drawParams, jitterOrder } from "../kernels/augment/params.ts";
import { augmentCpu } from "../kernels/augment/reference.ts";
import { type AugmentAttrs, normalizeAugment, P } from "../kernels/augment/spec.ts";
import { AUG_RECIPE_NAMES, type AugRecipeName, recipeViews, viewAugmentAttrs } from "../dsl/aug_recipes.ts";
import { canonicalJSON } from "../dsl/io.ts";
import { presets } from "../dsl/presets.ts";
import { forwardGraph } from "../step/forward_graph.ts";
import { blurPlane, gaussianWeights } from "../kernels/augment/blur.ts";
import { adjustHue } from "../kernels/augment/color.ts";
import { ShapeError } from "../kernels/op.ts";
import { assertClose, cpuOp, rand } from "./util/check.ts";
import { runOpGPU } from "./util/gpu.ts";
import { contactSheet } from "../tools/contact_sheet.ts";
import { toByte } from "../report/png.ts";

const SC = { seed: 2024, step: 11 };
/** The augment attrs of view `view` (0 or 1) of a recipe at S×S, as training lowers it. */
const recipeAttrs = (name: AugRecipeName, view: 0 | 1, size: number): AugmentAttrs =>
  viewAugmentAttrs(recipeViews(name, size)[view], view) as AugmentAttrs;
const imgs = (N: number, C: number, H: number, W: number, seed = 5) => ({
  shape: [N, C, H, W],
  data: rand(N * C * H * W, seed, 0, 1),
});
const run = (x: { shape: number[]; data: ArrayLike<number> }, attrs: AugmentAttrs, sc = SC) =>
  augmentCpu(
    normalizeAugment("augment", [x.shape], attrs as Record<string, unknown>),
    Float64Array.from(x.data),
    sc.seed,
    sc.step,
  );
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const grayOf = (r: number, g: number, b: number) => 0.2989 * r + 0.587 * g + 0.114 * b;
const throwsShape = (f: () => unknown, text: string) =>
  assert.throws(
    f,
    (e: Error) => e instanceof ShapeError && e.message.startsWith("augment") && e.message.includes(text),
  );

Deno.test("augment: shape rule and clear errors for bad input", () => {
  const x = [3, 3, 11, 13];
  const shape = (a: AugmentAttrs) => normalizeAugment("augment", [x], a as Record<string, unknown>);
  assert.deepStrictEqual([shape({}).Ho, shape({}).Wo], [11, 13]);
  assert.deepStrictEqual([shape({ crop: { size: [9, 7] } }).Ho, shape({ crop: { size: [9, 7] } }).Wo], [9, 7]);
  throwsShape(() => normalizeAugment("augment", [[3, 2, 11, 13]], {}), "C = 1 or 3");
  throwsShape(() => normalizeAugment("augment", [[3, 11, 13]], {}), "[N, C, H, W]");
  throwsShape(() => shape({ flip: 1.5 }), "attrs.flip");
  throwsShape(() => shape({ crop: { scale: [0.5, 0.2] } }), "attrs.crop.scale");
  throwsShape(() => shape({ crop: { ratio: [1, 2] } }), "crop.ratio");
  throwsShape(() => shape({ crop: { size: [0, 3] } }), "attrs.crop.size");
  throwsShape(() => shape({ blur: { kernel: 4 } }), "attrs.blur.kernel");
  throwsShape(() => shape({ blur: { kernel: 23 } }), "reflect padding");
  throwsShape(() => shape({ colorJitter: { hue: 0.7 } }), "colorJitter.hue");
  assert.throws(() => cpuOp("augment", [imgs(1, 1, 4, 4)], {}, { seed: 1 }), /'seed' and 'step'/);
});

Deno.test("augment reference: closed forms of each deterministic piece", () => {
  const x = imgs(2, 3, 12, 14);
  const [H, W] = [12, 14];
  // no recipe: the identity (bilinear at pixel centres)
  assertClose(run(x, {}).out, x.data, { rtol: 0, atol: 1e-15 }, "identity");
  // exact 2× downscale of the whole image = 2×2 box average
  const half = run(x, { crop: { size: [6, 7] } }).out;
  for (const [n, c, y, xx] of [[0, 0, 0, 0], [1, 2, 5, 6], [0, 1, 3, 4]]) {
    const at = (yy: number, xq: number) => x.data[((n * 3 + c) * H + yy) * W + xq];
    const want = (at(2 * y, 2 * xx) + at(2 * y, 2 * xx + 1) + at(2 * y + 1, 2 * xx) + at(2 * y + 1, 2 * xx + 1)) / 4;
    assert.ok(Math.abs(half[((n * 3 + c) * 6 + y) * 7 + xx] - want) < 1e-12, "2× box average");
  }
  // flip p = 1 mirrors every row
  const fl = run(x, { flip: 1 }).out;
  for (let i = 0; i < fl.length; i++) {
    const col = i % W;
    assert.equal(fl[i], x.data[i - col + (W - 1 - col)]);
  }
  // grayscale p = 1: every channel = 0.2989 r + 0.587 g + 0.114 b
  const gr = run(x, { grayscale: 1 }).out, plane = H * W;
  for (let k = 0; k < plane; k += 17) {
    const g = grayOf(x.data[k], x.data[plane + k], x.data[2 * plane + k]);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(gr[c * plane + k] - g) < 1e-15);
  }
  assertClose(
    run(imgs(2, 1, 5, 7), { grayscale: 1 }).out,
    imgs(2, 1, 5, 7).data,
    { rtol: 0, atol: 0 },
    "gray on C = 1",
  );
  // solarize p = 1
  const so = run(x, { solarize: 1 }).out;
  for (let i = 0; i < so.length; i++) assert.equal(so[i], x.data[i] >= 0.5 ? 1 - x.data[i] : x.data[i]);
});

Deno.test("augment reference: jitter ops follow torchvision's formulas", () => {
  const x = imgs(4, 3, 5, 7, 9), plane = 35;
  const only = (j: AugmentAttrs["colorJitter"]) => run(x, { colorJitter: { ...j, p: 1 } });
  const px = (n: number, k: number) => [0, 1, 2].map((c) => x.data[(n * 3 + c) * plane + k]);
  const b = only({ brightness: 0.4 });
  const c = only({ contrast: 0.4 });
  const s = only({ saturation: 0.4 });
  for (let n = 0; n < 4; n++) {
    const fb = b.params[n * P.COUNT + P.BRIGHT],
      fc = c.params[n * P.COUNT + P.CONTRAST],
      fs = s.params[n * P.COUNT + P.SAT];
    for (const f of [fb, fc, fs]) assert.ok(f >= 0.6 && f <= 1.4, `factor ${f}`);
    let mean = 0;
    for (let k = 0; k < plane; k++) mean += grayOf(...(px(n, k) as [number, number, number])) / plane;
    for (let k = 0; k < plane; k++) {
      const v = px(n, k), g = grayOf(v[0], v[1], v[2]);
      for (let ch = 0; ch < 3; ch++) {
        const i = (n * 3 + ch) * plane + k;
        assert.ok(Math.abs(b.out[i] - clamp01(fb * v[ch])) < 1e-14, "brightness");
        assert.ok(Math.abs(c.out[i] - clamp01(fc * v[ch] + (1 - fc) * mean)) < 1e-14, "contrast");
        assert.ok(Math.abs(s.out[i] - clamp01(fs * v[ch] + (1 - fs) * g)) < 1e-14, "saturation");
      }
    }
  }
  // one channel: contrast blends with the image mean, saturation and hue do nothing
  const g1 = imgs(2, 1, 5, 7, 3);
  const c1 = run(g1, { colorJitter: { contrast: 0.5, saturation: 0.5, hue: 0.3, p: 1 } });
  for (let n = 0; n < 2; n++) {
    const f = c1.params[n * P.COUNT + P.CONTRAST];
    let mean = 0;
    for (let k = 0; k < plane; k++) mean += g1.data[n * plane + k] / plane;
    for (let k = 0; k < plane; k++) {
      assert.ok(Math.abs(c1.out[n * plane + k] - clamp01(f * g1.data[n * plane + k] + (1 - f) * mean)) < 1e-14);
    }
  }
});

Deno.test("adjustHue matches Python colorsys (HSV round trip with shifted hue)", () => {
  const cases: [number[], number, number[]][] = [
    [[0.8, 0.4, 0.2], 0.1, [0.8, 0.76, 0.2]],
    [[0.1, 0.9, 0.3], -0.1, [0.38, 0.9, 0.1]],
    [[0.25, 0.5, 0.95], 0.33, [0.95, 0.25, 0.514]],
    [[1, 0, 0], -0.5, [0, 1, 1]],
    [[0.6, 0.6, 0.2], 0.05, [0.48, 0.6, 0.2]],
    [[0.3, 0.3, 0.3], 0.2, [0.3, 0.3, 0.3]],
    [[0.05, 0.2, 0.1], -0.07, [0.063, 0.2, 0.05]],
  ];
  for (const [v, h, want] of cases) {
    const got = [...v];
    adjustHue(got, h);
    assertClose(got, want, { rtol: 0, atol: 1e-12 }, `hue ${v} + ${h}`);
  }
});

Deno.test("blur equals a direct 2-D gaussian convolution with reflect padding", () => {
  const [H, W, r, sigma] = [7, 9, 2, 1.3];
  const x = rand(H * W, 4, 0, 1);
  const got = Float64Array.from(x);
  blurPlane(got, H, W, sigma, r);
  const w = gaussianWeights(sigma, r);
  assert.ok(Math.abs(w.reduce((a, b) => a + b) - 1) < 1e-15 && w[0] < w[1] && w[1] < w[2]);
  const refl = (k: number, n: number) => (k < 0 ? -k : k >= n ? 2 * n - 2 - k : k);
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) s += w[dy + r] * w[dx + r] * x[refl(y + dy, H) * W + refl(c + dx, W)];
      }
      assert.ok(Math.abs(got[y * W + c] - s) < 1e-14, `blur at ${y},${c}`);
    }
  }
});

Deno.test("jitter order: the 24 Lehmer codes give the 24 permutations, drawn about uniformly", () => {
  const perms = new Set(Array.from({ length: 24 }, (_, k) => jitterOrder(k).join("")));
  assert.equal(perms.size, 24);
  for (const p of perms) assert.deepStrictEqual([...p].sort().join(""), "0123");
  const s = normalizeAugment("augment", [[4800, 3, 8, 8]], {
    colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1, p: 1 },
  });
  const prm = drawParams(s, 1, 2), counts = new Map<string, number>();
  for (let n = 0; n < s.N; n++) {
    const key = [0, 1, 2, 3].map((k) => prm[n * P.COUNT + P.ORDER + k]).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 24);
  // expected 200 each, sd ≈ 14: allow 5 sd
  for (const [k, c] of counts) assert.ok(Math.abs(c - 200) < 70, `order ${k} drawn ${c} times`);
});

Deno.test("parameter distributions of the BYOL recipe at 28×28 (4000 samples)", () => {
  const N = 4000;
  const stats = (view: 0 | 1, blur = false) => {
    // blur is off below 64 px: to see its σ, take the 64 px recipe's blur onto the 28 px view
    const attrs = { ...recipeAttrs("byol", view, 28), ...(blur ? { blur: recipeAttrs("byol", view, 64).blur } : {}) };
    const s = normalizeAugment("augment", [[N, 3, 28, 28]], attrs as Record<string, unknown>);
    return drawParams(s, 77, 5);
  };
  const rate = (p: Float64Array, slot: number) => {
    let c = 0;
    for (let n = 0; n < N; n++) c += p[n * P.COUNT + slot] > 0 ? 1 : 0;
    return c / N;
  };
  const near = (r: number, p: number, what: string) =>
    assert.ok(Math.abs(r - p) <= 5 * Math.sqrt(p * (1 - p) / N) + 1e-12, `${what} rate ${r} vs ${p}`);
  const v1 = stats(1), v0 = stats(0, true);
  near(rate(v1, P.FLIP), 0.5, "flip");
  near(rate(v1, P.JITTER), 0.8, "jitter");
  near(rate(v1, P.GRAY), 0.2, "grayscale");
  near(rate(v1, P.SOLAR), 0.2, "solarize (view 1)");
  near(rate(v0, P.SOLAR), 0, "solarize (view 0)");
  near(rate(v1, P.SIGMA), 0, "blur at 28 px (off by default)");
  near(rate(v0, P.SIGMA), 1, "blur view 0 when forced on");
  let minA = 1, maxA = 0, fallbacks = 0, meanB = 0;
  for (let n = 0; n < N; n++) {
    const q = v1.subarray(n * P.COUNT, (n + 1) * P.COUNT);
    const [i, j, h, w] = [q[P.I], q[P.J], q[P.H], q[P.W]];
    assert.ok(
      Number.isInteger(i) && Number.isInteger(h) && i >= 0 && j >= 0 && i + h <= 28 && j + w <= 28,
      `box ${[i, j, h, w]}`,
    );
    const area = (h * w) / 784;
    // rounding h and w (≥ 7 px here) moves area and ratio by at most ~15%
    assert.ok(area >= 0.08 * 0.85 && area <= 1, `area ${area}`);
    assert.ok(w / h >= 0.75 * 0.85 && w / h <= (4 / 3) / 0.85, `ratio ${w / h}`);
    if (h === 28 && w === 28) fallbacks++;
    minA = Math.min(minA, area);
    maxA = Math.max(maxA, area);
    meanB += q[P.BRIGHT] / N;
    assert.ok(
      q[P.BRIGHT] >= 0.6 && q[P.BRIGHT] < 1.4 && q[P.SAT] >= 0.8 && q[P.SAT] < 1.2 && Math.abs(q[P.HUE]) <= 0.1,
    );
    if (v0[n * P.COUNT + P.SIGMA] > 0) assert.ok(v0[n * P.COUNT + P.SIGMA] >= 0.1 && v0[n * P.COUNT + P.SIGMA] < 2);
  }
  assert.ok(minA < 0.1 && maxA > 0.9, `areas span [${minA}, ${maxA}]`);
  assert.ok(fallbacks < N * 0.05, `${fallbacks} full-image crops`);
  assert.ok(Math.abs(meanB - 1) < 5 * 0.8 / Math.sqrt(12 * N), `mean brightness factor ${meanB}`);
});

Deno.test("augment determinism: same (seed, step) identical; step, seed and view change it", () => {
  const x = imgs(3, 3, 11, 13);
  const a = recipeAttrs("byol", 0, 9), b = recipeAttrs("byol", 1, 9);
  const base = run(x, a).out;
  assert.deepStrictEqual(run(x, a).out, base);
  assert.notDeepStrictEqual(run(x, a, { ...SC, step: 12 }).out, base);
  assert.notDeepStrictEqual(run(x, a, { ...SC, seed: 2025 }).out, base);
  assert.notDeepStrictEqual(run(x, { ...a, view: 1 }).out, base);
  assert.notDeepStrictEqual(run(x, b).params, run(x, a).params);
});

Deno.test("recipes: every recipe's views validate as augment attrs; blur off below 64 px, kernel ≈ S/10 above", () => {
  for (const name of AUG_RECIPE_NAMES) {
    for (const view of [0, 1] as const) {
      const small = normalizeAugment(
        "augment",
        [[2, 3, 28, 28]],
        recipeAttrs(name, view, 28) as Record<string, unknown>,
      );
      assert.equal(small.blur, null, `${name} blur at 28 px`);
      assert.deepStrictEqual([small.Ho, small.Wo], [28, 28]);
      assert.equal(recipeAttrs(name, view, 63).blur, undefined, `${name} blur at 63 px`);
      const big = normalizeAugment("augment", [[2, 3, 96, 96]], recipeAttrs(name, view, 96) as Record<string, unknown>);
      assert.ok(big.blur && big.blur.radius === 5, `${name} blur kernel 11 at 96 px`);
    }
  }
  assert.equal(recipeAttrs("byol", 0, 64).blur!.p, 1);
  assert.equal(recipeAttrs("byol", 1, 64).blur!.p, 0.1);
  assert.equal(recipeAttrs("byol", 1, 28).solarize, 0.2);
  assert.equal(recipeAttrs("moco", 1, 28).crop!.scale![0], 0.2);
  assert.equal(recipeAttrs("simclr", 0, 28).colorJitter!.saturation, 0.8);
  assert.throws(() => recipeViews("dino" as "byol", 28), /unknown augmentation recipe 'dino'/);
});

Deno.test("every preset trains with the views the contact sheet shows (one recipe table)", () => {
  for (const [name, make] of Object.entries(presets)) {
    for (const size of [28, 96]) {
      const spec = make({ imageSize: size });
      const g = forwardGraph(spec, { c: 3, h: size, w: size }).graph;
      const trained = g.nodes.filter((n) => n.op === "augment").map((n) => canonicalJSON(n.attrs));
      const shown = spec.views.map((v, i) => canonicalJSON(viewAugmentAttrs(v.aug, i)));
      assert.deepStrictEqual(trained, shown, `${name} at ${size} px`);
    }
  }
  // SimCLR trains with strength-1 jitter at 28 px; the contact sheet once showed 0.4
  assert.equal(presets.simclr().views[0].aug.colorJitter!.brightness, 0.8);
});

// ---- GPU against the float64 reference ----

// Each op compiles 2–6 shaders and llvmpipe takes up to seconds per shader when its cache is cold,
// so the GPU cases are few: every augmentation alone on RGB, the two C = 1 specifics (contrast
// with the image mean, colour ops that vanish), and everything together at random on both.
const EVERYTHING: AugmentAttrs = {
  crop: { scale: [0.08, 1], size: [9, 9] },
  flip: 0.5,
  colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
  grayscale: 0.5,
  blur: { p: 0.5, sigma: [0.1, 2], kernel: 3 },
  solarize: 0.5,
  view: 1,
};
const JITTER_ALL: AugmentAttrs = { colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.2, p: 1 } };
const GPU_CASES: [string, 1 | 3, number, AugmentAttrs][] = [
  ["crop + flip", 3, 3, { crop: { scale: [0.08, 1], size: [9, 9] }, flip: 0.5 }],
  ["colour jitter, random order", 3, 3, JITTER_ALL],
  ["grayscale", 3, 3, { grayscale: 1 }],
  ["blur", 3, 3, { blur: { p: 1, sigma: [0.1, 2], kernel: 5 } }],
  ["solarize", 3, 3, { solarize: 1 }],
  ["everything", 3, 8, EVERYTHING],
  ["colour jitter, random order", 1, 3, JITTER_ALL],
  ["everything", 1, 8, EVERYTHING],
];
/** Which per-sample switches fired: the GPU comparison is only meaningful where they vary. */
function fired(params: Float64Array, N: number) {
  const on = (slot: number) => Array.from({ length: N }, (_, n) => params[n * P.COUNT + slot] > 0);
  return { flip: on(P.FLIP), jitter: on(P.JITTER), gray: on(P.GRAY), blur: on(P.SIGMA), solar: on(P.SOLAR) };
}

Deno.test("GPU augment equals the float64 reference, each augmentation alone and all together", async () => {
  for (const [name, C, N, attrs] of GPU_CASES) {
    const x = imgs(N, C, 11, 13, C);
    const want = cpuOp("augment", [x], attrs as Record<string, unknown>, SC);
    const got = await runOpGPU("augment", [x], attrs as Record<string, unknown>, SC);
    assertClose(got, want, { rtol: 0, atol: 1e-5 }, `${name}, C = ${C}`);
    const on = fired(run(x, attrs).params, N);
    if (name === "crop + flip") assert.ok(on.flip.includes(true) && on.flip.includes(false), "flip mixed");
    if (name === "everything") {
      // with these seeds every switch is on for some samples and off for others
      for (const [k, v] of Object.entries(on)) {
        assert.ok(v.includes(true) && v.includes(false), `${k} fired for ${v.filter(Boolean).length} of ${N}`);
      }
    }
  }
});

Deno.test("GPU augment is deterministic in (seed, step) and differs across steps", async () => {
  // the shapes and recipe of the "everything" case above, so its compiled pipelines are reused
  const x = imgs(8, 3, 11, 13, 3);
  const attrs = EVERYTHING as Record<string, unknown>;
  const a = await runOpGPU("augment", [x], attrs, SC);
  const b = await runOpGPU("augment", [x], attrs, SC);
  const c = await runOpGPU("augment", [x], attrs, { ...SC, step: SC.step + 1 });
  assert.deepStrictEqual(a, b);
  assert.notDeepStrictEqual(a, c);
});

Deno.test("contact sheet: tiles are (original, view 0, view 1) per image, originals untouched", async () => {
  const x = imgs(5, 3, 10, 10, 8);
  const sheet = await contactSheet(Float32Array.from(x.data), [5, 3, 10, 10], {
    views: recipeViews("byol", 10),
    seed: 1,
    step: 2,
    scale: 2,
    cols: 2,
    cpu: true,
  });
  // 2 groups of 3 tiles per row, 3 rows; tiles 20 px with 2 px padding
  assert.deepStrictEqual([sheet.width, sheet.height, sheet.channels], [6 * 22 + 2, 3 * 22 + 2, 3]);
  const px = (X: number, Y: number, c: number) => sheet.data[(Y * sheet.width + X) * 3 + c];
  // image 2 is the first group of row 1: original at tile column 0
  for (const [y, xx] of [[0, 0], [4, 7], [9, 9]]) {
    for (let c = 0; c < 3; c++) {
      assert.equal(px(2 + 2 * xx, 24 + 2 * y, c), toByte(x.data[((2 * 3 + c) * 10 + y) * 10 + xx]));
    }
  }
  const v1 = run(x, recipeAttrs("byol", 1, 10), { seed: 1, step: 2 }).out;
  assert.equal(px(2 + 2 * 22 + 2 * 4, 24 + 2 * 6, 1), toByte(Math.fround(v1[((2 * 3 + 1) * 10 + 6) * 10 + 4])));
});

// The exported program's augmentations against the project's GPU kernels on one batch: the
// same per-sample crops, flips, jitter factors and order, grayscale, blur σ and solarize (drawn
// from the same Philox stream) and the same pixels within f32 rounding — on RGB images with
// every op (blur included) and on 28×28 gray images with the Barlow Twins recipe.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Aug } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { runGraphGPU } from "./util/gpu.ts";
import { testImages } from "./util/torch_gpu.ts";
import { maxAbsDiff, readTensors, requireTorch, runCases, tempDir, writeTensors } from "./util/torch.ts";

/** Pixels are in [0, 1]: rounding of the bilinear weights and colour maths stays far below this. */
const TOL = 2e-5;

const recipes: { name: string; aug: Aug }[] = [
  {
    name: "full",
    aug: {
      crop: { size: 9, scale: [0.08, 1], ratio: [0.75, 4 / 3] },
      flip: 0.5,
      colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
      grayscale: 0.2,
      blur: { p: 0.5, sigma: [0.1, 2], kernel: 5 },
      solarize: 0.3,
    },
  },
  {
    name: "mild",
    aug: {
      crop: { size: 12, scale: [0.5, 1], ratio: [0.75, 4 / 3] },
      flip: 0.5,
      colorJitter: { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 1 },
    },
  },
  { name: "whole", aug: { flip: 0.5, grayscale: 0.5, solarize: 0.5 } },
];
const grayRecipe: { name: string; aug: Aug } = {
  name: "bt",
  aug: {
    crop: { size: 28, scale: [0.08, 1], ratio: [0.75, 4 / 3] },
    flip: 0.5,
    colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1, p: 0.8 },
    grayscale: 0.2,
    solarize: 0.2,
  },
};

/** The project's views of `images` on the GPU, built as step/forward_graph.ts builds them. */
async function projectViews(
  views: { name: string; aug: Aug }[],
  shape: number[],
  images: Float32Array,
  seed: number,
  step: number,
) {
  const g = new Graph();
  const x = g.input("images", shape);
  views.forEach((v, i) => {
    const crop = v.aug.crop;
    const attrs = {
      ...v.aug,
      crop: crop ? { scale: crop.scale, ratio: crop.ratio, size: [crop.size, crop.size] } : undefined,
      view: i,
    };
    g.output(v.name, x.op("augment", [], attrs));
  });
  return await runGraphGPU(g, new Map([["images", images]]), { seed, step });
}

Deno.test("torch export: augmentations equal the project's on a batch (RGB with every op, gray 28×28)", async () => {
  requireTorch();
  const root = tempDir("augment");
  const sets = [
    { views: recipes, shape: [64, 3, 13, 11], seed: 3, step: 17 },
    { views: [grayRecipe], shape: [48, 1, 28, 28], seed: 0, step: 5 },
  ];
  const project: Map<string, Float32Array>[] = [];
  const cases: { out: string; [k: string]: unknown }[] = [];
  for (const [i, s] of sets.entries()) {
    const images = testImages(s.shape[0], { c: s.shape[1], h: s.shape[2], w: s.shape[3] }, 21 + i);
    writeTensors(join(root, `images${i}.safetensors`), { images: { shape: s.shape, data: images } });
    project.push(await projectViews(s.views, s.shape, images, s.seed, s.step));
    cases.push({
      kind: "augment",
      views: s.views,
      images: join(root, `images${i}.safetensors`),
      seed: s.seed,
      step: s.step,
      out: join(root, `views${i}.safetensors`),
    });
  }
  runCases(root, cases);
  const report: string[] = [];
  sets.forEach((s, i) => {
    const got = readTensors(cases[i].out);
    for (const v of s.views) {
      const want = project[i].get(v.name)!;
      assert.equal(got[v.name].data.length, want.length, `${v.name}: view size`);
      const d = maxAbsDiff(got[v.name].data, want);
      assert(d <= TOL, `view '${v.name}' of ${s.shape.join("×")} images: max |torch − project| = ${d}`);
      // the views are not trivially equal: most pixels moved away from the input
      assert(maxAbsDiff(want, want.map(() => 0.5)) > 0.3, `${v.name}: a degenerate view`);
      report.push(`${v.name} (${s.shape.join("×")}): max |torch − project| = ${d.toExponential(1)}`);
    }
  });
  console.log(report.join("\n"));
});

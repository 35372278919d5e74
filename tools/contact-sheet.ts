// Contact sheet of augmentations: for each image, the original (resized to the view size) and
// its two augmented views, side by side, as one PNG. The views come from the real `augment`
// op compiled to WGSL (or its float64 reference with --cpu), keyed by --seed and --step, so
// the sheet shows exactly what a training step with that seed and step would see.
//
//   deno run -A tools/contact-sheet.ts [--data fashion-mnist|synthetic|cifar10:<dir>|<folder>]
//     [--recipe byol|bt|vicreg|simclr|moco|simsiam] [--n 12] [--offset 0] [--seed 0] [--step 0]
//     [--size 28] [--blur] [--scale 4] [--cols 4] [--cpu] [--out runs/contact-sheet.png]
import { existsSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { compile } from "../compiler/compile.ts";
import { evaluate } from "../cpu/reference.ts";
import { FASHION_MNIST_DIR, loadDatasetSync } from "../data/load.ts";
import { Graph } from "../ir/graph.ts";
import { type AugmentAttrs, RECIPE_NAMES, type RecipeName, viewAttrs } from "../kernels/augment.ts";
import { imageGrid, type Raster, writePng } from "../report/png.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

export interface SheetOptions {
  recipe: RecipeName;
  seed: number;
  step: number;
  /** view size; default the images' size */
  size?: [number, number];
  blur?: boolean;
  scale?: number;
  /** (original, view 0, view 1) groups per row */
  cols?: number;
  cpu?: boolean;
}

/** NCHW batch in [0, 1] → the sheet. Columns per group: original, view 0, view 1. */
export async function contactSheet(
  images: Float32Array,
  shape: [number, number, number, number],
  o: SheetOptions,
): Promise<Raster> {
  const [n, c, h, w] = shape;
  const size = o.size ?? [h, w];
  const g = new Graph();
  const x = g.input("x", shape);
  const views = [
    { crop: { size } } as AugmentAttrs,
    viewAttrs(o.recipe, 0, { size, blur: o.blur }),
    viewAttrs(o.recipe, 1, { size, blur: o.blur }),
  ];
  views.forEach((a, k) => g.output(`v${k}`, g.add("augment", [x], a as Record<string, unknown>)));
  const scalars = { seed: o.seed, step: o.step };
  let outs: Float32Array[];
  if (o.cpu) {
    const vals = evaluate(g, { leaves: new Map([["x", Float64Array.from(images)]]), scalars });
    outs = [0, 1, 2].map((k) => Float32Array.from(vals[g.outputs.get(`v${k}`)!]));
  } else {
    const gpu = await getGpu();
    const ex = await Executable.create(
      gpu,
      compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
    );
    try {
      ex.write("x", images);
      ex.setScalars(scalars);
      ex.run();
      outs = await Promise.all([0, 1, 2].map((k) => ex.read(`v${k}`)));
    } finally {
      ex.destroy();
    }
  }
  const per = c * size[0] * size[1];
  const tiles = new Float32Array(3 * n * per);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) tiles.set(outs[k].subarray(i * per, (i + 1) * per), (3 * i + k) * per);
  }
  return imageGrid(tiles, 3 * n, c, size[0], size[1], {
    cols: 3 * Math.min(n, o.cols ?? 4),
    pad: 2,
    scale: o.scale ?? 4,
  });
}

const HELP = `usage: deno run -A tools/contact-sheet.ts [options]
  --data <spec>     fashion-mnist (default when installed), synthetic, mnist:<dir>, cifar10:<dir>, or a folder
  --recipe <name>   ${RECIPE_NAMES.join(" | ")} (default byol)
  --n <k>           images (default 12)      --offset <i>  first image (default 0)
  --seed <s>        RNG seed (default 0)     --step <t>    training step (default 0)
  --size <px>       view side (default: the images' size)
  --blur            keep gaussian blur on small images (off by default, as solo-learn)
  --scale <k>       pixel magnification (default 4)   --cols <k>  groups per row (default 4)
  --cpu             use the float64 reference instead of the GPU
  --out <file.png>  (default runs/contact-sheet.png)`;

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      recipe: { type: "string", default: "byol" },
      n: { type: "string", default: "12" },
      offset: { type: "string", default: "0" },
      seed: { type: "string", default: "0" },
      step: { type: "string", default: "0" },
      size: { type: "string" },
      blur: { type: "boolean" },
      scale: { type: "string", default: "4" },
      cols: { type: "string", default: "4" },
      cpu: { type: "boolean" },
      out: { type: "string", default: "runs/contact-sheet.png" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return (console.log(HELP), 0);
  const int = (name: string, s: string, min: number) => {
    const k = Number(s);
    if (!Number.isInteger(k) || k < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${s}'`);
    return k;
  };
  if (!RECIPE_NAMES.includes(v.recipe as RecipeName)) {
    throw new Error(`--recipe must be one of ${RECIPE_NAMES.join(", ")}, got '${v.recipe}'`);
  }
  const n = int("n", v.n!, 1), offset = int("offset", v.offset!, 0);
  const data = v.data ?? (existsSync(FASHION_MNIST_DIR) ? "fashion-mnist" : "synthetic");
  const ds =
    loadDatasetSync(data, { trainLimit: offset + n, testLimit: 0, synthetic: { size: 28, channels: 3 } }).train;
  if (ds.n < offset + n) {
    throw new Error(`--data ${data} has ${ds.n} training images, fewer than --offset + --n = ${offset + n}`);
  }
  const per = ds.c * ds.h * ds.w;
  const side = v.size === undefined ? undefined : int("size", v.size, 1);
  const sheet = await contactSheet(ds.images.slice(offset * per, (offset + n) * per), [n, ds.c, ds.h, ds.w], {
    recipe: v.recipe as RecipeName,
    seed: int("seed", v.seed!, 0),
    step: int("step", v.step!, 0),
    size: side ? [side, side] : undefined,
    blur: v.blur,
    scale: int("scale", v.scale!, 1),
    cols: int("cols", v.cols!, 1),
    cpu: v.cpu,
  });
  writePng(v.out!, sheet);
  console.log(
    `${v.out}: ${n} images of ${ds.name} (${ds.c}×${ds.h}×${ds.w}), recipe ${v.recipe}, seed ${v.seed}, step ${v.step}; columns: original, view 0, view 1`,
  );
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`contact-sheet: ${(e as Error).message}`);
    process.exit(1);
  });
}

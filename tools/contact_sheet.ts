// Contact sheet of augmentations: for each image, the original (resized to the view size) and
// its two augmented views, side by side, as one PNG. The views are the first two views of a
// preset or of a spec file, turned into `augment` attrs by the same function the training
// lowering uses (dsl/aug_recipes.ts viewAugmentAttrs), and run by the real op compiled to WGSL
// (or its float64 reference with --cpu), keyed by --seed and --step: the sheet shows exactly
// what a training step with that spec, seed and step sees.
//
//   deno run -A tools/contact_sheet.ts [--data fashion-mnist|synthetic|cifar10:<dir>|<folder>]
//     [--method barlowTwins|simclr|mocoV2|byol|simsiam|vicreg|barlowMean | --spec file.json]
//     [--n 12] [--offset 0] [--seed 0] [--step 0] [--size 28] [--scale 4] [--cols 4] [--cpu]
//     [--out runs/contact-sheet.png]
import { existsSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { evaluate } from "../cpu/reference.ts";
import { FASHION_MNIST_DIR, loadDatasetSync } from "../data/load.ts";
import { viewAugmentAttrs } from "../dsl/aug_recipes.ts";
import { loadSpec } from "../dsl/io.ts";
import { type PresetName, presets } from "../dsl/presets.ts";
import type { Aug } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { imageGrid, type Raster, writePng } from "../report/png.ts";
import { compileFor } from "../runtime/compile_for.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";

export interface SheetOptions {
  /** the spec's first two views (each with a crop, whose side is the view's size) */
  views: [Aug, Aug];
  seed: number;
  step: number;
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
  const [n, c] = shape;
  const side = o.views[0].crop?.size ?? shape[2];
  if ((o.views[1].crop?.size ?? shape[2]) !== side || (!o.views[0].crop && shape[2] !== shape[3])) {
    throw new Error("contact sheet: both views must have the same square size (give each a crop)");
  }
  const size = [side, side];
  const g = new Graph();
  const x = g.input("x", shape);
  const attrs = [{ crop: { size } }, viewAugmentAttrs(o.views[0], 0), viewAugmentAttrs(o.views[1], 1)];
  attrs.forEach((a, k) => g.output(`v${k}`, g.add("augment", [x], a)));
  const scalars = { seed: o.seed, step: o.step };
  let outs: Float32Array[];
  if (o.cpu) {
    const vals = evaluate(g, { leaves: new Map([["x", Float64Array.from(images)]]), scalars });
    outs = [0, 1, 2].map((k) => Float32Array.from(vals[g.outputs.get(`v${k}`)!]));
  } else {
    const gpu = await getGpu();
    const ex = await Executable.create(gpu, await compileFor(gpu, g));
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

const METHODS = Object.keys(presets) as PresetName[];
const HELP = `usage: deno run -A tools/contact_sheet.ts [options]
  --data <name>     fashion-mnist (default when installed), synthetic, mnist:<dir>, cifar10:<dir>,
                    cifar100:<dir>, or a folder
  --method <name>   the views of a preset: ${METHODS.join(" | ")} (default barlowTwins)
  --spec <file>     the first two views of a spec file instead (its crop size sets the view size)
  --n <k>           images (default 12)      --offset <i>  first image (default 0)
  --seed <s>        RNG seed (default 0)     --step <t>    training step (default 0)
  --size <px>       view side for --method (default: the images' size; blur is on from 64 px)
  --scale <k>       pixel magnification (default 4)   --cols <k>  groups per row (default 4)
  --cpu             use the float64 reference instead of the GPU
  --out <file.png>  (default runs/contact-sheet.png)`;

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      method: { type: "string" },
      spec: { type: "string" },
      n: { type: "string", default: "12" },
      offset: { type: "string", default: "0" },
      seed: { type: "string", default: "0" },
      step: { type: "string", default: "0" },
      size: { type: "string" },
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
  if (v.method !== undefined && !METHODS.includes(v.method as PresetName)) {
    throw new Error(`--method must be one of ${METHODS.join(", ")}, got '${v.method}'`);
  }
  if (v.method !== undefined && v.spec !== undefined) throw new Error("give --method or --spec, not both");
  if (v.spec !== undefined && v.size !== undefined) {
    throw new Error("--size applies to --method; a spec's crops set its size");
  }
  const n = int("n", v.n!, 1), offset = int("offset", v.offset!, 0);
  const data = v.data ?? (existsSync(FASHION_MNIST_DIR) ? "fashion-mnist" : "synthetic");
  const ds =
    loadDatasetSync(data, { trainLimit: offset + n, testLimit: 0, synthetic: { size: 28, channels: 3 } }).train;
  if (ds.n < offset + n) {
    throw new Error(`--data ${data} has ${ds.n} training images, fewer than --offset + --n = ${offset + n}`);
  }
  const per = ds.c * ds.h * ds.w;
  const side = v.size === undefined ? ds.h : int("size", v.size, 1);
  const method = (v.method ?? "barlowTwins") as PresetName;
  const spec = v.spec !== undefined ? loadSpec(v.spec) : presets[method]({ imageSize: side });
  if (spec.views.length < 2) throw new Error(`${v.spec ?? method}: the spec has ${spec.views.length} view; need two`);
  const sheet = await contactSheet(ds.images.slice(offset * per, (offset + n) * per), [n, ds.c, ds.h, ds.w], {
    views: [spec.views[0].aug, spec.views[1].aug],
    seed: int("seed", v.seed!, 0),
    step: int("step", v.step!, 0),
    scale: int("scale", v.scale!, 1),
    cols: int("cols", v.cols!, 1),
    cpu: v.cpu,
  });
  writePng(v.out!, sheet);
  console.log(
    `${v.out}: ${n} images of ${ds.name} (${ds.c}×${ds.h}×${ds.w}), views of ${
      v.spec ?? method
    }, seed ${v.seed}, step ${v.step}; columns: original, view 1, view 2`,
  );
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`tools/contact_sheet.ts: ${(e as Error).message}`);
    process.exit(1);
  });
}

// Contact sheet of augmentations: for each image, the original (resized to the view size) and
// its two augmented views, side by side, as one PNG. The views are the first two views of a
// preset or of a spec file, turned into `augment` attrs by the same function the training
// lowering uses (dsl/aug_recipes.ts viewAugmentAttrs), and run by the real op compiled to WGSL
// (or its float64 reference with --cpu), keyed by --seed and --step: the sheet shows exactly
// what a training step with that spec, seed and step sees.
//
//   deno run -A tools/contact_sheet.ts [--data fashion-mnist|synthetic|cifar10:<dir>|<folder>]
//     [--method barlowTwins|simclr|mocoV2|byol|simsiam|vicreg|barlowMean|contrastiveClustering | --spec file.json]
//     [--n 12] [--offset 0] [--seed 0] [--step 0] [--size 28] [--scale 4] [--cols 4] [--cpu]
//     [--out runs/contact-sheet.png]
import { existsSync } from "node:fs";
import process from "node:process";
import { evaluate } from "../cpu/reference.ts";
import { FASHION_MNIST_DIR, loadDatasetSync } from "../data/load.ts";
import { viewAugmentAttrs } from "../dsl/aug_recipes.ts";
import { choiceValue, FlagError, intValue, splitArgs } from "../dsl/flags.ts";
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

const FLAGS = [
  { name: "data", arg: "<name>" },
  { name: "method", arg: "<name>" },
  { name: "spec", arg: "<file>" },
  { name: "n", arg: "<k>" },
  { name: "offset", arg: "<i>" },
  { name: "seed", arg: "<s>" },
  { name: "step", arg: "<t>" },
  { name: "size", arg: "<px>" },
  { name: "scale", arg: "<k>" },
  { name: "cols", arg: "<k>" },
  { name: "cpu" },
  { name: "out", arg: "<file.png>" },
  { name: "help" },
];

export interface SheetArgs {
  data?: string;
  method?: PresetName;
  spec?: string;
  n: number;
  offset: number;
  seed: number;
  step: number;
  size?: number;
  scale: number;
  cols: number;
  cpu: boolean;
  out: string;
}

/** The flags (the project's flag parser, dsl/flags.ts); an unknown flag or a bad value is a FlagError. */
export function parseSheetArgs(argv: string[]): SheetArgs | "help" {
  const v = splitArgs(argv, FLAGS).values;
  if (v.has("help")) return "help";
  const int = (name: string, dflt: number, min: number) => {
    const s = v.get(name);
    return s === undefined ? dflt : intValue(`--${name}`, s, min);
  };
  const method = v.has("method") ? choiceValue("--method", v.get("method")!, METHODS) : undefined;
  if (method !== undefined && v.has("spec")) throw new FlagError("--spec", "give --method or --spec, not both");
  if (v.has("spec") && v.has("size")) throw new FlagError("--size", "applies to --method; a spec's crops set its size");
  return {
    data: v.get("data"),
    method,
    spec: v.get("spec"),
    n: int("n", 12, 1),
    offset: int("offset", 0, 0),
    seed: int("seed", 0, 0),
    step: int("step", 0, 0),
    size: v.has("size") ? int("size", 0, 1) : undefined,
    scale: int("scale", 4, 1),
    cols: int("cols", 4, 1),
    cpu: v.has("cpu"),
    out: v.get("out") ?? "runs/contact-sheet.png",
  };
}

async function main(argv: string[]): Promise<number> {
  const v = parseSheetArgs(argv);
  if (v === "help") return (console.log(HELP), 0);
  const { n, offset } = v;
  const data = v.data ?? (existsSync(FASHION_MNIST_DIR) ? "fashion-mnist" : "synthetic");
  const ds =
    loadDatasetSync(data, { trainLimit: offset + n, testLimit: 0, synthetic: { size: 28, channels: 3 } }).train;
  if (ds.n < offset + n) {
    throw new Error(`--data ${data} has ${ds.n} training images, fewer than --offset + --n = ${offset + n}`);
  }
  const per = ds.c * ds.h * ds.w;
  const side = v.size ?? ds.h;
  const method = v.method ?? "barlowTwins";
  const spec = v.spec !== undefined ? loadSpec(v.spec) : presets[method]({ imageSize: side });
  if (spec.views.length < 2) throw new Error(`${v.spec ?? method}: the spec has ${spec.views.length} view; need two`);
  const sheet = await contactSheet(ds.images.slice(offset * per, (offset + n) * per), [n, ds.c, ds.h, ds.w], {
    views: [spec.views[0].aug, spec.views[1].aug],
    seed: v.seed,
    step: v.step,
    scale: v.scale,
    cols: v.cols,
    cpu: v.cpu,
  });
  writePng(v.out, sheet);
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
    process.exit(e instanceof FlagError ? 2 : 1);
  });
}

// The methods' augmentation recipes: the one table every consumer reads (the presets, the
// contact sheet, docs/recipes.md restates it with sources). Each row is a family of methods
// that publish the same pair of views; horizontal flip p = 0.5, grayscale p = 0.2, jitter
// p = 0.8, aspect ratio [3/4, 4/3] and blur σ ∈ [0.1, 2] are common to all of them.
//
// Small images: blur is off below BLUR_MIN_SIZE px (its kernel, ≈ size/10, would be 3 px at
// 28–32 px, and solo-learn turns it off for CIFAR). SimCLR's jitter strength is s = 1 at every
// size (jitter 0.8s, 0.8s, 0.8s, 0.2s); its CIFAR code uses s = 0.5, which a spec can set.
import { aug, blur, colorJitter, crop } from "./builders.ts";
import type { Aug } from "./schema.ts";

/** Views at least this many pixels on a side get the recipe's gaussian blur. */
export const BLUR_MIN_SIZE = 64;

interface RecipeRow {
  /** what the row is used for, shown by tools */
  methods: string;
  /** random-resized-crop area range */
  scale: [number, number];
  /** colour jitter brightness, contrast, saturation, hue */
  jitter: [number, number, number, number];
  /** blur probability of view 1 and view 2 */
  blur: [number, number];
  /** solarize probability of view 1 and view 2 */
  solarize: [number, number];
}

export const AUG_RECIPES = {
  byol: {
    methods: "BYOL, Barlow Twins, VICReg",
    scale: [0.08, 1],
    jitter: [0.4, 0.4, 0.2, 0.1],
    blur: [1, 0.1],
    solarize: [0, 0.2],
  },
  simclr: {
    methods: "SimCLR",
    scale: [0.08, 1],
    jitter: [0.8, 0.8, 0.8, 0.2],
    blur: [0.5, 0.5],
    solarize: [0, 0],
  },
  moco: {
    methods: "MoCo v2, SimSiam",
    scale: [0.2, 1],
    jitter: [0.4, 0.4, 0.4, 0.1],
    blur: [0.5, 0.5],
    solarize: [0, 0],
  },
  cc: {
    // SimCLR's views at jitter strength s = 0.5 (the official code's CIFAR setting); blur only
    // on its ImageNet subsets, which are above BLUR_MIN_SIZE anyway
    methods: "Contrastive Clustering",
    scale: [0.08, 1],
    jitter: [0.4, 0.4, 0.4, 0.1],
    blur: [0.5, 0.5],
    solarize: [0, 0],
  },
} as const satisfies Record<string, RecipeRow>;

export type AugRecipeName = keyof typeof AUG_RECIPES;
export const AUG_RECIPE_NAMES = Object.keys(AUG_RECIPES) as AugRecipeName[];

/** Gaussian blur with probability p for an S×S view: kernel ≈ S/10 (odd, ≥ 3); off below BLUR_MIN_SIZE. */
function blurFor(size: number, p: number) {
  if (size < BLUR_MIN_SIZE || p === 0) return undefined;
  const kernel = Math.max(3, Math.round(size / 10) | 1);
  return blur(p, [0.1, 2], kernel);
}

/** The two views of recipe `name` for S×S crops (S = `size`). */
export function recipeViews(name: AugRecipeName, size: number): [Aug, Aug] {
  const r: RecipeRow | undefined = AUG_RECIPES[name];
  if (!r) throw new Error(`unknown augmentation recipe '${name}' (known: ${AUG_RECIPE_NAMES.join(", ")})`);
  const [b, c, s, h] = r.jitter;
  const view = (k: 0 | 1) =>
    aug({
      crop: crop(size, [...r.scale]),
      flip: 0.5,
      colorJitter: colorJitter(b, c, s, h, 0.8),
      grayscale: 0.2,
      blur: blurFor(size, r.blur[k]),
      solarize: r.solarize[k] || undefined,
    });
  return [view(0), view(1)];
}

/**
 * The `augment` op's attributes for a spec view (kernels/augment/spec.ts): the crop side
 * becomes [S, S] and `view` (the view's index in the spec) keys its random draws. The
 * training lowering and the contact sheet both go through here, so they cannot differ.
 */
export function viewAugmentAttrs(a: Aug, view: number): Record<string, unknown> {
  const c = a.crop;
  return { ...a, crop: c ? { scale: c.scale, ratio: c.ratio, size: [c.size, c.size] } : undefined, view };
}

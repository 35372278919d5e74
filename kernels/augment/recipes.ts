// The methods' published augmentation recipes (RECIPES.md) as `augment` attrs for one view.
// Small-image convention (≤ 32 px, e.g. 28×28 Fashion-MNIST, CIFAR): blur is off, as
// solo-learn does for CIFAR; pass `blur: true` to keep it.
import type { AugmentAttrs } from "./spec.ts";

export const RECIPE_NAMES = ["byol", "bt", "vicreg", "simclr", "moco", "simsiam"] as const;
export type RecipeName = typeof RECIPE_NAMES[number];

export interface ViewOptions {
  /** output size [H, W]; default 28×28 */
  size?: [number, number];
  /** force blur on or off; default: off for images ≤ 32 px, the recipe's otherwise */
  blur?: boolean;
  /** SimCLR colour strength s (jitter 0.8s, 0.8s, 0.8s, 0.2s); default 0.5 on small images (SimCLR's CIFAR setting), else 1 */
  strength?: number;
  stream?: number;
}

type Row = {
  scale: [number, number];
  jitter: [number, number, number, number];
  blur: [number, number];
  solarize: [number, number];
};

function row(name: RecipeName, s: number): Row {
  switch (name) {
    case "byol":
    case "bt":
    case "vicreg":
      return { scale: [0.08, 1], jitter: [0.4, 0.4, 0.2, 0.1], blur: [1, 0.1], solarize: [0, 0.2] };
    case "simclr":
      return { scale: [0.08, 1], jitter: [0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s], blur: [0.5, 0.5], solarize: [0, 0] };
    case "moco":
    case "simsiam":
      return { scale: [0.2, 1], jitter: [0.4, 0.4, 0.4, 0.1], blur: [0.5, 0.5], solarize: [0, 0] };
  }
}

/** The attrs of view 0 or 1 of a named recipe. */
export function viewAttrs(name: RecipeName, view: 0 | 1, opts: ViewOptions = {}): AugmentAttrs {
  if (!RECIPE_NAMES.includes(name)) {
    throw new Error(`viewAttrs: unknown recipe '${name}' (known: ${RECIPE_NAMES.join(", ")})`);
  }
  if (view !== 0 && view !== 1) throw new Error(`viewAttrs: view must be 0 or 1, got ${view}`);
  const size = opts.size ?? [28, 28];
  const small = Math.min(...size) <= 32;
  const r = row(name, opts.strength ?? (small ? 0.5 : 1));
  const blurOn = opts.blur ?? !small;
  const [brightness, contrast, saturation, hue] = r.jitter;
  return {
    crop: { scale: r.scale, ratio: [3 / 4, 4 / 3], size },
    flip: 0.5,
    colorJitter: { brightness, contrast, saturation, hue, p: 0.8 },
    grayscale: 0.2,
    blur: { p: blurOn ? r.blur[view] : 0, sigma: [0.1, 2] },
    solarize: r.solarize[view],
    view,
    stream: opts.stream ?? 0,
  };
}

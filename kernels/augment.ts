// The image augmentation op: `augment(x [N, C, H, W]) → one view [N, C, Ho, Wo]`, BYOL /
// torchvision style (random resized crop, flip, colour jitter in random order, grayscale,
// gaussian blur, solarize). attrs: an AugmentAttrs recipe (kernels/augment/spec.ts); per-step
// scalars 'seed' and 'step'. Each sample's random parameters come from Philox keyed by
// (seed, stream) with counter (sample, step, view, ·), so a view is a pure function of
// (images, seed, step, recipe) and the two views of a sample differ by their view index.
// No VJP: augmentation sits before the encoder and nothing trainable feeds it.
import { augmentCpu } from "./augment/reference.ts";
import { lowerAugment } from "./augment/lowering.ts";
import { normalizeAugment } from "./augment/spec.ts";
import type { OpDef } from "./op.ts";
import { seedStep } from "./random.ts";

export const AUGMENT: Record<string, OpDef> = {
  augment: {
    kind: "kernel",
    shape: (ins, attrs) => {
      const s = normalizeAugment("augment", ins, attrs);
      return [s.N, s.C, s.Ho, s.Wo];
    },
    cpu: ({ ins: [x], inShapes, attrs, scalars }) => {
      const { seed, step } = seedStep("augment", scalars);
      return augmentCpu(normalizeAugment("augment", inShapes, attrs), x, seed, step).out;
    },
    kernel: (c) => lowerAugment(normalizeAugment("augment", c.inShapes, c.attrs), c),
    doc: "augment(x[N,C,H,W]; recipe) → one augmented view [N,C,Ho,Wo] (scalars seed, step)",
  },
};

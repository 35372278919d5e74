// How BYOL's default run (pipelines/byol.ts: 2 epochs of Fashion-MNIST, batch 256) was found to
// collapse dimensionally with solo-learn's CIFAR LARS, in both engines, and what fixes it. This
// writes that earlier recipe and variants of it, each changing one thing, as spec files to train
// with either engine (`pipelines/byol.ts --spec FILE`, or the PyTorch program of
// `tools/to_torch.ts --spec FILE`) and compare effective rank and accuracy:
//   deno run -A export/torch/study/byol_variants.ts OUT_DIR
// "lars-paper" is the optimizer the preset ships with now, so that file equals pipelines/byol.ts.
import process from "node:process";
import { lars, sgd } from "../../../dsl/builders.ts";
import { saveSpec } from "../../../dsl/io.ts";
import type { PipelineSpec } from "../../../dsl/schema.ts";
import { validateSpec } from "../../../step/validate.ts";
import { spec as byol } from "../../../pipelines/byol.ts";

/** solo-learn's CIFAR LARS, which the preset used before: lr 1.0 per 256, η 0.02, clipped */
const SOLO_LEARN_LARS = lars({ lr: 1.0, weightDecay: 1e-5, momentum: 0.9, eta: 0.02, clip: true });

/** The variants by name: each changes one thing of the earlier recipe (or takes the paper's LARS as a whole). */
export const VARIANTS: Record<string, (s: PipelineSpec) => PipelineSpec> = {
  "solo-learn": (s) => ({ ...s, optimizer: SOLO_LEARN_LARS }),
  /** LARS as the BYOL paper sets it: lr 0.2 per 256, η 1e-3, no clipping, weight decay 1.5e-6 */
  "lars-paper": (s) => ({ ...s, optimizer: lars({ lr: 0.2, weightDecay: 1.5e-6, momentum: 0.9, eta: 1e-3 }) }),
  /** the earlier LARS (η 0.02, clipped) at a fifth of the lr */
  "lr0.2": (s) => ({ ...s, optimizer: { ...SOLO_LEARN_LARS, lr: 0.2 } }),
  /** the earlier LARS with the paper's trust coefficient η = 1e-3 */
  "eta1e-3": (s) => ({ ...s, optimizer: { ...SOLO_LEARN_LARS, eta: 1e-3 } }),
  /** the earlier LARS and the paper's slower target: τ from 0.996 */
  "tau0.996": (s) => ({
    ...s,
    optimizer: SOLO_LEARN_LARS,
    branches: s.branches.map((b) => (b.ema ? { ...b, ema: { ...b.ema, tau: { ...b.ema.tau, base: 0.996 } } } : b)),
  }),
  /** SGD as SimSiam trains (lr 0.05 per 256, momentum 0.9, weight decay 5e-4) */
  sgd: (s) => ({ ...s, optimizer: sgd({ lr: 0.05, weightDecay: 5e-4, momentum: 0.9 }) }),
};

if (import.meta.main) {
  const out = process.argv[2] ?? "runs/byol-variants";
  for (const [name, edit] of Object.entries(VARIANTS)) {
    const spec = validateSpec({ ...edit(structuredClone(byol)), name: `byol-${name}` });
    saveSpec(`${out}/${name}.json`, spec);
    console.log(`${out}/${name}.json`);
  }
}

// InfoNCE (NT-Xent) + Barlow Twins in one loss: the two sides of the essay's duality at once.
// NT-Xent pushes the N×N SAMPLE similarity matrix of the two views towards the identity (it
// needs many negatives, i.e. a big batch N); Barlow Twins pushes the D×D FEATURE correlation
// matrix towards the identity (it needs many features, i.e. a wide D).
//
// Weights: each term is divided by its value at chance, when the two views' embeddings share
// no information, so both start on the same scale (≈ 1) whatever N and D are:
//   NT-Xent at chance: all 2N−1 candidates equally similar → log(2N − 1)
//   Barlow Twins at chance: C_ii ≈ 0 → on-diagonal Σ(1 − C_ii)² ≈ D; off-diagonal C_ij ~ 1/√N
//     gives λ·D(D−1)/N, which is < 5% of D for λ = 0.0051, D ≤ 2048, N ≥ 256 → ≈ D
//   L = NT-Xent(z1, z2) / log(2N − 1) + BT(z1, z2) / D
// (measured at the random initialization in tests/examples_test.ts: both terms are O(1)).
// The weights are constants of the spec, so they are recomputed after --batch and --proj.
// Augmentations, projector and LARS are the Barlow Twins preset's. Flags: --temp, --lambda, …
// Run: deno run -A examples/infonce_barlow.ts --help
import { add, barlowTwins, mul, ntXent } from "../dsl/builders.ts";
import { type BarlowOptions, presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { lossNodes } from "../dsl/resolve.ts";
import { validateSpec } from "../step/validate.ts";
import { isMain } from "../pipelines/run.ts";
import { outWidth, runFinished } from "./run_example.ts";

export interface InfoNceBarlowOptions extends BarlowOptions {
  /** NT-Xent temperature (SimCLR: 0.5) */
  temperature?: number;
}

/** [NT-Xent weight, Barlow Twins weight] for batch N and embedding width D: 1 / value at chance. */
export function balancedWeights(batch: number, d: number): [number, number] {
  return [1 / Math.log(2 * batch - 1), 1 / d];
}

/** The loss with weights for the spec's own batch and width; keeps λ and the temperature. */
export function finish(spec: PipelineSpec): PipelineSpec {
  const nodes = lossNodes(spec.loss);
  const nt = nodes.find((n) => n.op === "ntXent"), bt = nodes.find((n) => n.op === "barlowTwins");
  if (nt?.op !== "ntXent" || bt?.op !== "barlowTwins") {
    throw new Error("infonce-barlow: the loss needs an ntXent and a barlowTwins term");
  }
  const [wNt, wBt] = balancedWeights(spec.batch, outWidth(spec));
  return validateSpec({
    ...spec,
    loss: add(mul(wNt, ntXent("z1", "z2", nt.temperature)), mul(wBt, barlowTwins("z1", "z2", bt.lambda))),
  });
}

export function make(o: InfoNceBarlowOptions = {}): PipelineSpec {
  const bt = presets.barlowTwins({ name: "infonce-barlow", ...o });
  return finish({
    ...bt,
    method: "infoNceBarlow",
    loss: add(ntXent("z1", "z2", o.temperature ?? 0.5), barlowTwins("z1", "z2", o.lambda ?? 0.0051)),
  });
}

export const spec = make();

if (isMain(import.meta)) await runFinished(spec, finish, "examples/infonce_barlow.ts");

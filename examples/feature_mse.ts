// A user-defined loss written from primitive nodes of the loss language (no library node):
// the seed discussion's variant of Barlow Twins. Normalize each feature column of z along the
// batch (no centring), take the D×D feature similarity matrix of the two views, and regress it
// onto the identity with a mean squared error:
//   ẑ = z / ‖z‖ per column,   C = ẑ1ᵀ ẑ2,   L = mean((C − I)²)
// It is the library's featureSimMSE node spelled out (tests/examples_test.ts checks that the
// two agree). The loss is small (a mean over D² entries) but LARS's trust ratio makes the
// update independent of the loss scale, so the Barlow Twins preset's optimizer is kept.
// eye(D) bakes D into the spec, so the loss is rebuilt after --proj.
// Run: deno run -A examples/feature_mse.ts --help
import { eye, featureSimMSE, matmul, mean, normalize, square, sub } from "../dsl/builders.ts";
import { type PresetOptions, presets } from "../dsl/presets.ts";
import type { Expr, PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../step/validate.ts";
import { isMain } from "../pipelines/run.ts";
import { outWidth, runFinished } from "./run_example.ts";

/** mean((ẑaᵀ ẑb − I)²) from primitives, for embeddings of width d. */
export function featureMse(a: Expr, b: Expr, d: number): Expr {
  const c = matmul(normalize(a, 0), normalize(b, 0), { ta: true });
  return mean(square(sub(c, eye(d))));
}

export function finish(spec: PipelineSpec): PipelineSpec {
  return validateSpec({ ...spec, loss: featureMse("z1", "z2", outWidth(spec)) });
}

/** The same run with the library node (its loss does not depend on D, so any flags validate). */
export function makeLibrary(o: PresetOptions = {}): PipelineSpec {
  const bt = presets.barlowTwins({ name: "feature-mse", ...o });
  return validateSpec({ ...bt, method: "featureMse", loss: featureSimMSE("z1", "z2") });
}

export const make = (o: PresetOptions = {}): PipelineSpec => finish(makeLibrary(o));

export const spec = make();

if (isMain(import.meta)) await runFinished(makeLibrary(), finish, "examples/feature_mse.ts");

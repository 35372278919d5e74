// The kNN evaluation's k against the training set actually loaded: spec validation can only
// compare it with data.trainLimit, so a small data set without a limit used to be clamped
// silently to k = n (a different protocol than the one asked for).
import assert from "node:assert/strict";
import { presets } from "../dsl/presets.ts";
import { checkKnnK, evaluateFeatures, pixelsKnn } from "../eval/evaluate.ts";
import type { FeatureSet } from "../eval/features.ts";
import type { Split } from "../data/dataset.ts";
import type { Gpu } from "../runtime/device.ts";
import { makeSynthetic } from "../data/synthetic.ts";

const spec = presets.barlowTwins({ data: "synthetic", eval: { knnK: 200 } });
// never touched: the check throws before any GPU work
const noGpu = undefined as unknown as Gpu;

Deno.test("kNN k larger than the real training set is a clear error naming eval.knnK and the data set", async () => {
  checkKnnK(spec, 200);
  assert.throws(
    () => checkKnnK(spec, 150),
    /^EvalSettingsError: eval\.knnK: the kNN evaluation asks for 200 neighbours but the training set of 'synthetic' has only 150 images; set eval\.knnK to at most 150 in a spec file given with --spec \(no flag sets it\), or add training images$/,
  );
  const few = (n: number): FeatureSet => ({
    data: new Float32Array(n * 4),
    labels: new Int32Array(n),
    n,
    dim: 4,
    classes: 2,
  });
  await assert.rejects(
    () => evaluateFeatures(noGpu, spec, { train: few(150), test: few(10) }),
    /eval\.knnK: .* only 150 images/,
  );
  const data: Split = makeSynthetic({ train: 120, test: 8 });
  await assert.rejects(() => pixelsKnn(noGpu, spec, data), /eval\.knnK: .* only 120 images/);
});

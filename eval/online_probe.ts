// The online linear probe's test accuracy (the probe is trained inside the step, see
// step/online_probe.ts): its weights applied to the test split's frozen features, the class of
// the largest logit against the label. A [n, D]·[D, C] product for ten classes is cheap on the
// host, in float64; ties go to the lower class, as argmax does.
import { checkFeatures, type FeatureSet } from "./features.ts";

/** top-1 of logits = x·Wᵀ + b, W [classes, dim] row-major (a PyTorch Linear), b [classes]. */
export function probeTop1(test: FeatureSet, weight: Float32Array, bias: Float32Array): number {
  checkFeatures(test, "online probe test features");
  const { n, dim, classes } = test;
  if (weight.length !== classes * dim || bias.length !== classes) {
    throw new Error(
      `online probe: weights of ${weight.length} and bias of ${bias.length} values do not fit ${classes} classes of ${dim} features`,
    );
  }
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const x = test.data.subarray(i * dim, (i + 1) * dim);
    let best = 0, bestLogit = -Infinity;
    for (let c = 0; c < classes; c++) {
      let z = bias[c];
      for (let j = 0; j < dim; j++) z += x[j] * weight[c * dim + j];
      if (z > bestLogit) best = c, bestLogit = z;
    }
    if (best === test.labels[i]) hits++;
  }
  return hits / n;
}

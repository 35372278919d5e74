// The raw-pixel baseline: the same weighted kNN on flattened, L2-normalised pixels. A learned
// representation is only interesting if it beats this.
import type { Dataset } from "../data/dataset.ts";
import type { FeatureSet } from "./features.ts";
import { knnEval, type KnnOptions, type KnnResult } from "./knn.ts";

/** A dataset's images as features: one row of c·h·w pixels per image (no copy). */
export function pixelFeatures(ds: Dataset): FeatureSet {
  return { data: ds.images, labels: ds.labels, n: ds.n, dim: ds.c * ds.h * ds.w, classes: ds.classes };
}

export function pixelKnn(train: Dataset, test: Dataset, opts: KnnOptions = {}): Promise<KnnResult> {
  if (train.c * train.h * train.w !== test.c * test.h * test.w) {
    throw new Error(
      `pixelKnn: train images are ${train.c}×${train.h}×${train.w}, test images ${test.c}×${test.h}×${test.w}`,
    );
  }
  return knnEval(pixelFeatures(train), pixelFeatures(test), opts);
}

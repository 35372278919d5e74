// A cluster head scored as a clustering (Contrastive Clustering's protocol): each test image goes
// through the head's module path in inference mode (no augmentation), its cluster is the argmax
// of the K outputs (the argmax of the softmax the loss applies), and the clusters are scored
// against the class labels by ACC (Hungarian), NMI and ARI. No k-means, no training data.
import type { PipelineSpec } from "../dsl/schema.ts";
import type { DeviceImages } from "../runtime/device_images.ts";
import type { Gpu } from "../runtime/device.ts";
import { pathModel } from "./evaluate.ts";
import { extractFeatures } from "./features.ts";
import { type ClusteringScores, scoreClustering } from "./metrics/mod.ts";

export interface ClusterScores extends ClusteringScores {
  /** clusters that received at least one test image (of K) */
  used: number;
  seconds: number;
}

/** Row-wise argmax of [n, dim] outputs (the first of equal maxima, as torch.argmax). */
export function rowArgmax(f: { data: ArrayLike<number>; n: number; dim: number }): Int32Array {
  const out = new Int32Array(f.n);
  for (let i = 0; i < f.n; i++) {
    let best = 0;
    for (let k = 1; k < f.dim; k++) if (f.data[i * f.dim + k] > f.data[i * f.dim + best]) best = k;
    out[i] = best;
  }
  return out;
}

/** The scores of the head computed by module `path` under `weights` on the images of `test`. */
export async function clusterHeadScores(
  gpu: Gpu,
  spec: PipelineSpec,
  path: readonly string[],
  test: DeviceImages,
  weights: (name: string) => Promise<Float32Array>,
): Promise<ClusterScores> {
  const t0 = performance.now();
  const out = await extractFeatures(gpu, pathModel(spec, path, weights), test);
  const pred = rowArgmax(out);
  return { ...scoreClustering(pred, out.labels), used: new Set(pred).size, seconds: (performance.now() - t0) / 1000 };
}

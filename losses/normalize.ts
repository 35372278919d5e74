// L2 normalisation and cosine similarity, the building blocks of every contrastive and
// cosine-regression loss.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";

/**
 * x / max(‖x‖₂, eps) along `axis` (PyTorch's F.normalize). Written as x·rsqrt(max(Σx², eps²))
 * so that an all-zero row gets a zero gradient instead of the 0·∞ = NaN a sqrt would give.
 */
export function normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) throw new ShapeError("normalize", `axis ${axis} out of range for ${fmtShape(x.shape)}`);
  return x.mul(x.square().sum([ax], true).maximum(eps * eps).rsqrt());
}

/** Row-wise cosine similarity of a, b [N, D] → [N] (both rows L2-normalised first). */
export function cosineSimilarity(a: Tensor, b: Tensor, eps = 1e-12): Tensor {
  if (a.rank !== 2 || fmtShape(a.shape) !== fmtShape(b.shape)) {
    throw new ShapeError(
      "cosineSimilarity",
      `needs two [N, D] tensors of one shape, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  return normalize(a, -1, eps).mul(normalize(b, -1, eps)).sum([1]);
}

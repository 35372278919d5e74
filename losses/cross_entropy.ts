// Softmax cross-entropy against integer class labels, the supervised loss of the online linear
// probe (step/online_probe.ts):
//
//   L = mean_i [ logsumexp_j logits_ij − logits_{i, y_i} ]
//
// composed from primitives: the label's logit is picked by a product with oneHot(y), so the
// gradient (softmax − onehot) / N comes from the ops' own VJPs.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";

/**
 * logits [..., N, C], labels [N, 1] holding 0..C-1 (as f32) → the mean cross-entropy over all
 * rows (a scalar). Leading axes share the labels (several views of one batch).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank < 2) {
    throw new ShapeError("softmaxCrossEntropy", `logits must be [..., N, C], got ${fmtShape(logits.shape)}`);
  }
  const [n, classes] = logits.shape.slice(-2);
  if (labels.rank !== 2 || labels.shape[0] !== n || labels.shape[1] !== 1) {
    throw new ShapeError(
      "softmaxCrossEntropy",
      `labels must be [${n}, 1] to match logits ${fmtShape(logits.shape)}, got ${fmtShape(labels.shape)}`,
    );
  }
  const picked = logits.mul(labels.op("oneHot", [], { classes })).sum([-1]);
  return logits.logsumexp(-1).sub(picked).mean();
}

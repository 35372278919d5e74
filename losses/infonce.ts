// InfoNCE with a queue of negatives (MoCo): each query's positive is its own key, the
// negatives are the K keys of earlier batches.
//
//   logits_i = [q_i·k_i, q_i·queue_1, …, q_i·queue_K] / T,   L = mean_i CE(logits_i, 0)
//
// q and k are L2-normalised here; the queue is expected to hold normalised keys already (it is
// written from normalised k). Keys and queue are behind stopGrad: in MoCo they come from the
// momentum encoder, which is updated by EMA, never by gradient.
import { concat, type Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import { check2d } from "./correlation.ts";
import { normalize } from "./normalize.ts";

export function infoNCE(q: Tensor, k: Tensor, queue: Tensor, temperature = 0.2): Tensor {
  check2d("infoNCE", q, k);
  if (queue.rank !== 2 || queue.shape[1] !== q.shape[1]) {
    throw new ShapeError(
      "infoNCE",
      `queue must be [K, ${q.shape[1]}] to match q ${fmtShape(q.shape)}, got ${fmtShape(queue.shape)}`,
    );
  }
  if (!(temperature > 0)) throw new ShapeError("infoNCE", `temperature must be > 0, got ${temperature}`);
  const inv = 1 / temperature;
  const nq = normalize(q), nk = normalize(k.stopGrad());
  const pos = nq.mul(nk).sum([1], true); // [N, 1]
  const neg = nq.matmul(queue.stopGrad(), false, true); // [N, K]
  const logits = concat([pos, neg], 1).mul(inv);
  return logits.logsumexp(1).sub(pos.reshape([q.shape[0]]).mul(inv)).mean();
}

/**
 * The symmetrised loss of MoCo v2+ (solo-learn): ½·(InfoNCE(q1, k2) + InfoNCE(q2, k1)), where
 * q_v / k_v are the query / key of view v. queue2 (default: queue) holds the keys the second
 * term is contrasted with, for implementations that keep one queue per view.
 */
export function infoNCESymmetric(
  q1: Tensor,
  q2: Tensor,
  k1: Tensor,
  k2: Tensor,
  queue: Tensor,
  temperature = 0.2,
  queue2: Tensor = queue,
): Tensor {
  return infoNCE(q1, k2, queue, temperature).add(infoNCE(q2, k1, queue2, temperature)).mul(0.5);
}

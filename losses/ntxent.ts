// NT-Xent (SimCLR): every one of the 2N views must pick out its partner among the other
// 2N − 1 views by cosine similarity / T.
//
//   z = [normalize(za); normalize(zb)]                      [2N, D]
//   s = z zᵀ / T, with s_ii replaced by −1e9                 [2N, 2N]
//   L = mean_i ( logsumexp_j s_ij − s_{i, partner(i)} )
//
// The self-similarity is masked with a large finite negative (exp underflows to exactly 0)
// rather than −∞, which would give ∞ − ∞ = NaN in a max-subtracted logsumexp backward.
import { concat, type Tensor } from "../ir/tensor.ts";
import { ShapeError } from "../kernels/op.ts";
import { check2d } from "./correlation.ts";
import { eye } from "./eye.ts";
import { normalize } from "./normalize.ts";

export const MASKED_LOGIT = -1e9;

export function ntXent(za: Tensor, zb: Tensor, temperature = 0.5): Tensor {
  check2d("ntXent", za, zb);
  if (!(temperature > 0)) throw new ShapeError("ntXent", `temperature must be > 0, got ${temperature}`);
  const n = za.shape[0], inv = 1 / temperature;
  const na = normalize(za), nb = normalize(zb);
  const z = concat([na, nb], 0);
  const s = z.matmul(z, false, true).mul(inv);
  const logits = eye(za.g, 2 * n).where(MASKED_LOGIT, s);
  // the positive logit of row i and of row i + N is the same number: na_i · nb_i / T
  const pos = na.mul(nb).sum([1]).mul(inv);
  return logits.logsumexp(1).sum().sub(pos.sum().mul(2)).mul(1 / (2 * n));
}

// A variant of Barlow Twins raised in the discussion behind this project (docs/lambda_free.md): L2-normalise each feature column along the
// batch, take the feature similarity matrix C = ẑaᵀ ẑb (entries are cosines between feature
// columns, no centring), and regress it onto the identity with a mean squared error:
//   L = mean_ij (C_ij − I_ij)² = ( Σ_i (1 − C_ii)² + Σ_{i≠j} C_ij² ) / D²
import type { Tensor } from "../ir/tensor.ts";
import { check2d, diagOfGram, offDiagSquareSum } from "./correlation.ts";
import { normalize } from "./normalize.ts";

export function featureSimilarityMse(za: Tensor, zb: Tensor, eps = 1e-12): Tensor {
  check2d("featureSimilarityMse", za, zb);
  const d = za.shape[1];
  const na = normalize(za, 0, eps), nb = normalize(zb, 0, eps);
  const c = na.matmul(nb, true, false);
  const diag = diagOfGram(na, nb);
  return diag.sub(1).square().sum().add(offDiagSquareSum(c, diag)).mul(1 / (d * d));
}

// VICReg (Bardes et al., official implementation's formulas):
//   invariance  = mean((za − zb)²)
//   variance    = ½·mean_j relu(1 − √(var_j(za) + eps)) + ½·(same for zb)        (unbiased var)
//   covariance  = Σ_{i≠j} cov(za)_ij² / D + Σ_{i≠j} cov(zb)_ij² / D,  cov = zcᵀzc / (N − 1)
//   loss        = sim·invariance + var·variance + cov·covariance
// The covariance's diagonal is the unbiased variance, already computed for the hinge; the
// off-diagonal sum is Σ (cov − diag(var))² (correlation.ts offDiagSquareSum), not
// Σ cov² − Σ var², which loses its digits in f32 once the features are decorrelated.
import type { Tensor } from "../ir/tensor.ts";
import { check2d, offDiagSquareSum } from "./correlation.ts";

export interface VicregOpts {
  sim?: number;
  var?: number;
  cov?: number;
  eps?: number;
}

export interface VicregTerms {
  loss: Tensor;
  invariance: Tensor;
  variance: Tensor;
  covariance: Tensor;
}

/** hinge on the per-feature std and the off-diagonal covariance energy of one view */
function branchStats(z: Tensor, eps: number): { hinge: Tensor; offCov: Tensor } {
  const [n, d] = z.shape;
  const zc = z.sub(z.mean([0], true));
  const variance = zc.square().sum([0]).mul(1 / (n - 1)); // [D], = diag(cov)
  const hinge = variance.add(eps).sqrt().neg().add(1).relu().mean();
  const cov = zc.matmul(zc, true, false).mul(1 / (n - 1));
  return { hinge, offCov: offDiagSquareSum(cov, variance).mul(1 / d) };
}

export function vicregTerms(za: Tensor, zb: Tensor, opts: VicregOpts = {}): VicregTerms {
  const { sim = 25, var: varW = 25, cov = 1, eps = 1e-4 } = opts;
  check2d("vicreg", za, zb);
  const invariance = za.sub(zb).square().mean();
  const a = branchStats(za, eps), b = branchStats(zb, eps);
  const variance = a.hinge.add(b.hinge).mul(0.5);
  const covariance = a.offCov.add(b.offCov);
  const loss = invariance.mul(sim).add(variance.mul(varW)).add(covariance.mul(cov));
  return { loss, invariance, variance, covariance };
}

export function vicreg(za: Tensor, zb: Tensor, opts: VicregOpts = {}): Tensor {
  return vicregTerms(za, zb, opts).loss;
}

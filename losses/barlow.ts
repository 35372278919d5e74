// Barlow Twins and the λ-free variant (docs/lambda_free.md).
//
//   C = standardize(za)ᵀ standardize(zb) / N                      [D, D]
//   L = scale · ( Σ_i (1 − C_ii)²  +  λ Σ_{i≠j} C_ij² )
//
// The diagonal is taken as Σ_n sa_ni·sb_ni / N (O(N·D), no D×D read); the off-diagonal sum
// is Σ (C − diag)² (correlation.ts offDiagSquareSum), which keeps its precision when C ≈ I.
import type { Tensor } from "../ir/tensor.ts";
import { ShapeError } from "../kernels/op.ts";
import { check2d, diagOfGram, offDiagSquareSum, standardize } from "./correlation.ts";

export interface BarlowOpts {
  /** weight of the redundancy-reduction term (paper: 0.0051) */
  lambda?: number;
  /** multiplies the whole loss (research code variants use 1/32 or 196/D; default 1) */
  scale?: number;
  /** variance epsilon of the standardisation */
  eps?: number;
}

export interface BarlowTerms {
  loss: Tensor;
  /** Σ_i (1 − C_ii)² */
  onDiag: Tensor;
  /** Σ_{i≠j} C_ij² (unweighted) */
  offDiag: Tensor;
  /** the cross-correlation matrix C [D, D] */
  c: Tensor;
}

export function barlowTwinsTerms(za: Tensor, zb: Tensor, opts: BarlowOpts = {}): BarlowTerms {
  const { lambda = 0.0051, scale = 1, eps = 1e-5 } = opts;
  check2d("barlowTwins", za, zb);
  const n = za.shape[0];
  const sa = standardize(za, eps), sb = standardize(zb, eps);
  const c = sa.matmul(sb, true, false).mul(1 / n);
  const diag = diagOfGram(sa, sb).mul(1 / n);
  const onDiag = diag.sub(1).square().sum();
  const offDiag = offDiagSquareSum(c, diag);
  const loss = onDiag.add(offDiag.mul(lambda)).mul(scale);
  return { loss, onDiag, offDiag, c };
}

export function barlowTwins(za: Tensor, zb: Tensor, opts: BarlowOpts = {}): Tensor {
  return barlowTwinsTerms(za, zb, opts).loss;
}

/**
 * λ-free Barlow Twins (docs/lambda_free.md): the off-diagonal sum of each row becomes its mean,
 * Σ_i (1 − C_ii)² + Σ_i mean_{j≠i} C_ij², i.e. λ = 1/(D − 1).
 */
export function barlowTwinsLambdaFree(za: Tensor, zb: Tensor, opts: Omit<BarlowOpts, "lambda"> = {}): Tensor {
  const d = za.shape[1];
  if (d < 2) {
    throw new ShapeError("barlowTwinsLambdaFree", `needs at least 2 features for an off-diagonal, got D = ${d}`);
  }
  return barlowTwins(za, zb, { ...opts, lambda: 1 / (d - 1) });
}

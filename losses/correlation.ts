// Feature statistics along the batch: standardisation and the D×D cross-correlation matrix
// that Barlow Twins, VICReg and the feature-similarity MSE variant drive towards the identity.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";
import { eye } from "./eye.ts";

export function check2d(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.rank !== 2 || fmtShape(t.shape) !== fmtShape(ts[0].shape)) {
      throw new ShapeError(
        op,
        `needs [N, D] embeddings of one shape, got ${ts.map((x) => fmtShape(x.shape)).join(" and ")}`,
      );
    }
  }
  if (ts[0].shape[0] < 2) {
    throw new ShapeError(op, `needs a batch of at least 2 to take statistics, got ${fmtShape(ts[0].shape)}`);
  }
}

/** (z − mean) / √(var + eps) per feature over the batch (biased var): BN without affine. */
export function standardize(z: Tensor, eps = 1e-5): Tensor {
  check2d("standardize", z);
  const zc = z.sub(z.mean([0], true));
  return zc.mul(zc.square().mean([0], true).add(eps).rsqrt());
}

/** C = standardize(za)ᵀ · standardize(zb) / N, [D, D]. */
export function crossCorrelation(za: Tensor, zb: Tensor, eps = 1e-5): Tensor {
  check2d("crossCorrelation", za, zb);
  return standardize(za, eps).matmul(standardize(zb, eps), true, false).mul(1 / za.shape[0]);
}

/**
 * diag(aᵀ b) for a, b [N, D] without forming the D×D product or an identity mask:
 * (aᵀb)_ii = Σ_n a_ni b_ni, an O(N·D) elementwise product and a column sum.
 */
export function diagOfGram(a: Tensor, b: Tensor): Tensor {
  return a.mul(b).sum([0]);
}

/**
 * Σ_{i≠j} M_ij² of a square matrix whose diagonal is also known as the vector `diag` (e.g.
 * from diagOfGram), computed as Σ (M − diag(diag))²: every term is an off-diagonal entry
 * (or an exact-arithmetic zero on the diagonal), so nothing cancels. The shorter
 * Σ M² − Σ diag² subtracts two numbers ≈ D near convergence (C ≈ I) and loses most digits of
 * the redundancy term in f32. `diag` enters under stopGrad: the sum does not depend on the
 * diagonal, and the gradient 2(M − diag(diag)) is 2·M off the diagonal and 0 on it. The
 * identity is the fusable `eye` op with a single consumer, so no D×D mask is stored; M − diag
 * takes the buffer M alone had.
 */
export function offDiagSquareSum(m: Tensor, diag: Tensor): Tensor {
  const d = m.shape[0];
  if (m.rank !== 2 || m.shape[1] !== d || diag.rank !== 1 || diag.shape[0] !== d) {
    throw new ShapeError(
      "offDiagSquareSum",
      `needs a square matrix and its diagonal, got ${fmtShape(m.shape)} and ${fmtShape(diag.shape)}`,
    );
  }
  return m.sub(eye(m.g, d).mul(diag.stopGrad())).square().sum();
}

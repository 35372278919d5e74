// Collapse diagnostics as graph outputs, read back with the other metrics every k steps.
//   std_mean / std_min    per-feature std of z over the batch (biased): 0 = collapsed feature
//   nstd_mean             the same on row-L2-normalised z (SimSiam's yardstick: ≈ 1/√D when
//                         healthy, → 0 when all outputs collapse to one direction)
//   corr_diag_mean        mean C_ii of the cross-correlation of the two views (→ 1: invariance)
//   corr_offdiag_abs_mean mean |C_ij|, i ≠ j (→ 0: decorrelated features)
// The effective rank (exp of the entropy of the normalised singular values of z or C) needs an
// SVD, which is not a primitive: read C or z back and compute it on the host.
import type { Tensor } from "../ir/tensor.ts";
import { check2d, crossCorrelation, diagOfGram, standardize } from "./correlation.ts";
import { eye } from "./eye.ts";
import { normalize } from "./normalize.ts";

export function collapseDiagnostics(
  za: Tensor,
  zb: Tensor = za,
  prefix = "collapse",
  eps = 1e-5,
): Record<string, Tensor> {
  check2d("collapseDiagnostics", za, zb);
  const [n, d] = za.shape;
  // diagnostics never carry gradient, even if someone differentiates a sum that includes them
  const a = za.stopGrad(), b = zb.stopGrad();
  const std = (z: Tensor) => z.sub(z.mean([0], true)).square().mean([0]).sqrt();
  const s = std(a);
  const c = crossCorrelation(a, b, eps);
  const diag = diagOfGram(standardize(a, eps), standardize(b, eps)).mul(1 / n);
  const out: Record<string, Tensor> = {
    std_mean: s.mean(),
    std_min: s.neg().max().neg(),
    nstd_mean: std(normalize(a)).mean(),
    corr_diag_mean: diag.mean(),
    corr_offdiag_abs_mean: c.sub(eye(c.g, d).mul(diag)).abs().sum().mul(1 / Math.max(1, d * (d - 1))),
  };
  for (const [k, t] of Object.entries(out)) za.g.output(`${prefix}.${k}`, t);
  return out;
}

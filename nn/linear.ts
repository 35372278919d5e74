// Fully connected layer y = x·Wᵀ (+ b), PyTorch layout and initialisation.
//
// Params (created through g.param, so calling linear twice with the same name shares them):
//   `${name}.weight` [out, in]  group "default"  init U(−1/√in, 1/√in)
//   `${name}.bias`   [out]      group "bias"     init U(−1/√in, 1/√in)   (only when bias)
// The bias lives in its own group because LARS-style optimizers exclude 1-D params from
// weight decay and trust-ratio adaptation, and Barlow Twins gives biases their own lr.
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";

export interface LinearOpts {
  /** add a learned bias (default true) */
  bias?: boolean;
}

/** x [N, in] → [N, out]. */
export function linear(x: Tensor, name: string, out: number, opts: LinearOpts = {}): Tensor {
  if (x.rank !== 2) throw new ShapeError("linear", `${name}: input must be [N, in], got ${fmtShape(x.shape)}`);
  if (!Number.isInteger(out) || out < 1) {
    throw new ShapeError("linear", `${name}: out must be a positive integer, got ${out}`);
  }
  const inF = x.shape[1];
  // PyTorch's default: kaiming_uniform_(a=√5) reduces to a bound of 1/√fan_in, same for the bias.
  const bound = 1 / Math.sqrt(inF);
  const w = x.g.param(`${name}.weight`, [out, inF], { kind: "uniform", bound });
  const y = x.matmul(w, false, true);
  if (opts.bias === false) return y;
  const b = x.g.param(`${name}.bias`, [out], { kind: "uniform", bound }, "bias");
  return y.add(b);
}

// Batch normalisation composed from reductions and elementwise ops (no private kernel), with
// PyTorch's semantics: normalise with the biased batch variance, track the running variance
// with the unbiased one, running = (1 − momentum)·running + momentum·batch.
//
// Shapes: [N, D] (statistics over N) or [N, C, H, W] (statistics over N, H, W).
// Params (group "bn", only when affine):  `${name}.weight` [C] ones,  `${name}.bias` [C] zeros.
// State:  `${name}.running_mean` [C] zeros,  `${name}.running_var` [C] ones.
//
// Running-stat updates are g.assign()s built on g.current(): when two views pass through the
// same BN in one step, the second update starts from the first one's result, exactly as two
// sequential PyTorch forward calls would.
//
// `groups`: the batch is that many views stacked along N (the step runs the views that share
// a module as one batch, step/forward_graph.ts). Each view keeps its own statistics and its own
// running-stat update, in view order, so the numbers are those of one call per view.
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { fmtShape, ShapeError } from "../kernels/op.ts";

export interface BatchNormOpts {
  /** learn a per-channel scale and shift (default true) */
  affine?: boolean;
  momentum?: number;
  eps?: number;
  /** batch statistics + running-stat update (true, default) or the running stats (false) */
  training?: boolean;
  /** training: N is this many equal groups (views) normalised separately (default 1) */
  groups?: number;
}

export function batchNorm(x: Tensor, name: string, opts: BatchNormOpts = {}): Tensor {
  const { affine = true, momentum = 0.1, eps = 1e-5, training = true, groups = 1 } = opts;
  if (x.rank !== 2 && x.rank !== 4) {
    throw new ShapeError("batchNorm", `${name}: input must be [N, D] or [N, C, H, W], got ${fmtShape(x.shape)}`);
  }
  const g = x.g;
  const c = x.shape[1];
  // per-channel vectors [C] are broadcast against x through this shape
  const chan = x.rank === 2 ? [1, c] : [1, c, 1, 1];
  const runMean = g.state(`${name}.running_mean`, [c], { kind: "zeros" });
  const runVar = g.state(`${name}.running_var`, [c], { kind: "ones" });

  let xhat: Tensor;
  if (training) {
    if (!Number.isInteger(groups) || groups < 1 || x.shape[0] % groups !== 0) {
      throw new ShapeError("batchNorm", `${name}: ${groups} groups do not divide the batch of ${fmtShape(x.shape)}`);
    }
    // the groups as a leading axis: [G, N/G, ...]; statistics over all but G and C
    const xs = groups === 1 ? x : x.reshape([groups, x.shape[0] / groups, ...x.shape.slice(1)]);
    const lead = groups === 1 ? 0 : 1;
    const axes = (x.rank === 2 ? [0] : [0, 2, 3]).map((a) => a + lead);
    const n = axes.reduce((p, a) => p * xs.shape[a], 1);
    if (n < 2) {
      throw new ShapeError(
        "batchNorm",
        `${name}: training needs more than 1 value per channel, got ${fmtShape(x.shape)}${
          groups > 1 ? ` in ${groups} groups` : ""
        }`,
      );
    }
    const mean = xs.mean(axes, true);
    const xc = xs.sub(mean);
    // [N, C, H, W]: the variance is centred on a mean with no gradient (the same sum of the same
    // values, so the same number). Its gradient through the mean is Σ 2(x − mean)/n · … = 0
    // exactly, so no gradient changes, but without that path the backward's four sums over
    // N, H, W (Σg, Σg·x̂, and those for the mean and the variance) no longer depend on one
    // another and share one kernel, as the two means do (compiler/siblings.ts). [N, D] keeps
    // the composed form.
    const centre = x.rank === 4 ? xs.stopGrad().mean(axes, true) : mean;
    const variance = (x.rank === 4 ? xs.sub(centre) : xc).square().mean(axes, true);
    const normed = xc.mul(variance.add(eps).rsqrt());
    xhat = groups === 1 ? normed : normed.reshape(x.shape);
    const m = momentum, unbias = n / (n - 1);
    if (groups === 1) {
      const bm = mean.reshape([c]), bv = variance.reshape([c]).mul(unbias);
      g.assign(runMean, g.current(runMean).mul(1 - m).add(bm.mul(m)));
      g.assign(runVar, g.current(runVar).mul(1 - m).add(bv.mul(m)));
    } else {
      // one update per group in order, as one call per view would leave them:
      // r ← (1 − m)^G·r + Σ_i m·(1 − m)^(G−1−i)·stat_i
      const w = groupWeights(g, mean.shape, m);
      const bm = mean.mul(w).sum([0]).reshape([c]), bv = variance.mul(w.mul(unbias)).sum([0]).reshape([c]);
      g.assign(runMean, g.current(runMean).mul((1 - m) ** groups).add(bm));
      g.assign(runVar, g.current(runVar).mul((1 - m) ** groups).add(bv));
    }
  } else {
    const mean = g.current(runMean).reshape(chan), variance = g.current(runVar).reshape(chan);
    xhat = x.sub(mean).mul(variance.add(eps).rsqrt());
  }
  if (!affine) return xhat;
  const w = g.param(`${name}.weight`, [c], { kind: "ones" }, "bn");
  const b = g.param(`${name}.bias`, [c], { kind: "zeros" }, "bn");
  return xhat.mul(w.reshape(chan)).add(b.reshape(chan));
}

/**
 * m·(1 − m)^(G−1−i) for group i along the leading axis, over the whole of `shape` (the running
 * stats' weights, computed inside the kernel that reads the statistics).
 */
function groupWeights(g: Graph, shape: readonly number[], m: number): Tensor {
  const groups = shape[0], at = [...shape];
  const i = g.add("iota", [], { shape: at, axis: 0 });
  let w = g.const(m * (1 - m) ** (groups - 1), at);
  for (let k = 1; k < groups; k++) w = i.eq(k).where(m * (1 - m) ** (groups - 1 - k), w);
  return w;
}

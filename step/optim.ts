// Parameter updates as graph ops (docs/architecture.md, decision 5: the whole step is one compiled program). Each
// rule reads its learning rate from a per-step scalar and assigns new values to the
// parameter and its moment buffers; the compiler fuses each rule into one kernel per tensor
// (plus the two norm reductions LARS needs).
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

export interface OptimizerConfig {
  kind: "sgd" | "lars" | "adamw";
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** LARS trust coefficient η */
  eta?: number;
  /** LARS: cap the adaptive factor so the effective lr never exceeds the scheduled lr (solo-learn's clip_lr) */
  clip?: boolean;
  /** LARS: 1-D params (biases, BN) get neither weight decay nor trust-ratio adaptation */
  excludeBiasAndNorm?: boolean;
  betas?: [number, number];
  eps?: number;
  /** AdamW: names of the per-step scalars holding the bias corrections 1 − β1^t, 1 − β2^t */
  adamCorrections?: [string, string];
}

export interface ParamSlot {
  param: Tensor;
  grad: Tensor;
  /** name of the per-step scalar holding this parameter's learning rate */
  lr: string;
}

const name = (p: Tensor) => p.g.nodes[p.id].attrs.name as string;

/** Adds the update of every parameter to the graph. Returns the new parameter values. */
export function applyOptimizer(g: Graph, slots: ParamSlot[], cfg: OptimizerConfig): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const s of slots) {
    const next = RULES[cfg.kind](g, s, cfg);
    g.assign(s.param, next);
    out.set(name(s.param), next);
  }
  return out;
}

type Rule = (g: Graph, s: ParamSlot, cfg: OptimizerConfig) => Tensor;

/** is this parameter excluded from decay and adaptation (1-D: biases and BN affine) */
const isExcluded = (p: Tensor, cfg: OptimizerConfig) => (cfg.excludeBiasAndNorm ?? true) && p.rank <= 1;

function momentumStep(g: Graph, s: ParamSlot, d: Tensor, cfg: OptimizerConfig): Tensor {
  const mu = cfg.momentum ?? 0.9;
  const lr = g.scalar(s.lr);
  if (mu === 0) return s.param.sub(lr.mul(d));
  const buf = g.state(`${name(s.param)}.momentum`, s.param.shape, { kind: "zeros" });
  const nb = buf.mul(mu).add(d);
  g.assign(buf, nb);
  const dir = cfg.nesterov ? d.add(nb.mul(mu)) : nb;
  return s.param.sub(lr.mul(dir));
}

const RULES: Record<OptimizerConfig["kind"], Rule> = {
  /** PyTorch SGD: d = g + wd·w; buf = μ·buf + d; w -= lr·(nesterov ? d + μ·buf : buf) */
  sgd: (g, s, cfg) => {
    const wd = cfg.weightDecay ?? 0;
    const d = wd && !isExcluded(s.param, cfg) ? s.grad.add(s.param.mul(wd)) : s.grad;
    return momentumStep(g, s, d, cfg);
  },
  /** LARS as in the Barlow Twins code: d = (g + wd·w)·η‖w‖/‖g + wd·w‖ (1 when a norm is 0) */
  lars: (g, s, cfg) => {
    if (isExcluded(s.param, cfg)) return momentumStep(g, s, s.grad, cfg);
    const wd = cfg.weightDecay ?? 0;
    const d = wd ? s.grad.add(s.param.mul(wd)) : s.grad;
    const wn = s.param.square().sum().sqrt();
    const dn = d.square().sum().sqrt();
    const eta = cfg.eta ?? 0.001;
    let ratio = wn.gt(0).mul(dn.gt(0)).where(wn.mul(eta).div(dn.maximum(1e-30)), 1);
    if (cfg.clip) ratio = ratio.div(g.scalar(s.lr)).minimum(1);
    return momentumStep(g, s, d.mul(ratio), cfg);
  },
  /** AdamW (decoupled decay); bias corrections 1 − β^t come from two per-step scalars (cfg.adamCorrections) */
  adamw: (g, s, cfg) => {
    const [b1, b2] = cfg.betas ?? [0.9, 0.999];
    const eps = cfg.eps ?? 1e-8, wd = isExcluded(s.param, cfg) ? 0 : cfg.weightDecay ?? 0;
    const n = name(s.param);
    const m = g.state(`${n}.adam_m`, s.param.shape, { kind: "zeros" });
    const v = g.state(`${n}.adam_v`, s.param.shape, { kind: "zeros" });
    const nm = m.mul(b1).add(s.grad.mul(1 - b1));
    const nv = v.mul(b2).add(s.grad.square().mul(1 - b2));
    g.assign(m, nm);
    g.assign(v, nv);
    const [bc1, bc2] = cfg.adamCorrections ?? ["adam_bc1", "adam_bc2"];
    const mhat = nm.div(g.scalar(bc1)), vhat = nv.div(g.scalar(bc2));
    const lr = g.scalar(s.lr);
    return s.param.sub(lr.mul(mhat.div(vhat.sqrt().add(eps)).add(s.param.mul(wd))));
  },
};

/** host-side scalars AdamW needs at (1-based) step t */
export function adamScalars(t: number, cfg: OptimizerConfig): Record<string, number> {
  const [b1, b2] = cfg.betas ?? [0.9, 0.999];
  return { adam_bc1: 1 - b1 ** t, adam_bc2: 1 - b2 ** t };
}

/** EMA of parameters after the optimizer step: target ← τ·target + (1 − τ)·online (per-step scalar `tauName`) */
export function applyEma(g: Graph, pairs: { target: Tensor; online: Tensor }[], tauName = "tau"): void {
  const tau = g.scalar(tauName);
  for (const { target, online } of pairs) {
    const cur = g.current(online);
    g.assign(target, target.mul(tau).add(cur.mul(tau.neg().add(1))));
  }
}

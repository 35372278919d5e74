// Assembles a training step graph: loss → gradients (reverse mode) → optimizer updates →
// EMA updates, all in one graph so the compiler lowers the whole step once.
import { grad } from "../ir/autodiff.ts";
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { type LossScaling, scaleLoss } from "./loss_scale.ts";
import { applyEma, applyOptimizer, type OptimizerConfig, type ParamSlot } from "./optim.ts";

export interface TrainingStepOptions {
  optimizer: OptimizerConfig;
  /** per-step scalar name holding the lr of a parameter (by name and rank); "lr" by default */
  lrScalar?: (name: string, rank: number) => string;
  /** EMA pairs by name: target (state) follows online (param) after the optimizer step, with τ from scalar `tau` (default 'tau') */
  ema?: { target: string; online: string; tau?: string }[];
  /** dynamic loss scaling (mixed precision): skip steps whose gradients overflow */
  lossScaling?: LossScaling;
}

export function addTrainingStep(g: Graph, loss: Tensor, opts: TrainingStepOptions): { params: string[] } {
  const params = g.params();
  if (params.length === 0) throw new Error("the loss reaches no parameter: nothing to train");
  const scaling = opts.lossScaling ? scaleLoss(g, loss, opts.lossScaling) : undefined;
  const raw = grad(g, scaling?.scaled ?? loss, params.map((p) => g.t(p.id)));
  const grads = scaling ? raw.map((x) => x && scaling.unscale(x)) : raw;
  const missing = params.filter((_, i) => !grads[i]).map((p) => p.attrs.name as string);
  if (missing.length === params.length) {
    throw new Error("the loss reaches no parameter (every branch is behind stopGrad or EMA)");
  }
  if (missing.length) {
    throw new Error(
      `these parameters get no gradient from the loss: ${
        missing.join(", ")
      } (remove them, or connect them to the loss)`,
    );
  }
  const lrOf = opts.lrScalar ?? (() => "lr");
  const slots: ParamSlot[] = params.map((p, i) => ({
    param: g.t(p.id),
    grad: grads[i]!,
    lr: lrOf(p.attrs.name as string, p.shape.length),
  }));
  g.output("loss", loss);
  // scope labels name the optimizer's and EMA's kernels in profiles (bench/profile_families.ts)
  const outer = g.scope;
  g.scope = "optimizer";
  applyOptimizer(g, slots, opts.optimizer);
  g.scope = "ema";
  for (const e of opts.ema ?? []) {
    const target = g.find(e.target), online = g.find(e.online);
    if (!target || !online) throw new Error(`ema: no tensor named '${!target ? e.target : e.online}'`);
    applyEma(g, [{ target, online }], e.tau);
  }
  g.scope = outer;
  scaling?.finish(grads.map((x) => x!));
  return { params: params.map((p) => p.attrs.name as string) };
}

// Dynamic loss scaling for mixed precision, inside the step: gradients are taken of loss × S so
// that small ones survive the f16 rounding of matmul operands, then divided by S. When any gradient
// is not finite the step is skipped (every state update keeps its old value) and S halves; after
// `growthInterval` good steps in a row S doubles. S and the count of good steps are persistent
// state updated inside the step, so the host never has to read them between steps (the loop
// reads the 'loss_scale' output back with the loss, for the metrics).
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

export interface LossScaling {
  /** initial scale (PyTorch's GradScaler starts at 2^16) */
  init: number;
  /** good steps in a row before the scale doubles */
  growthInterval: number;
}

export const DEFAULT_LOSS_SCALING: LossScaling = { init: 2 ** 16, growthInterval: 2000 };

export interface ScaledLoss {
  /** what to differentiate: loss × S */
  scaled: Tensor;
  /** a gradient of the scaled loss → the gradient of the loss */
  unscale(g: Tensor): Tensor;
  /** after every other update is in the graph: gate them on the gradients being finite, update S */
  finish(grads: Tensor[]): void;
}

export function scaleLoss(g: Graph, loss: Tensor, s: LossScaling = DEFAULT_LOSS_SCALING): ScaledLoss {
  const scale = g.state("loss_scale", [1], { kind: "const", value: s.init });
  const good = g.state("loss_scale_good_steps", [1], { kind: "zeros" });
  return {
    scaled: loss.mul(scale.reshape([])),
    unscale: (gr) => gr.div(scale.reshape([])),
    finish(grads) {
      // a count of the values that are not finite: exactly 0 when all are (a sum of 0s and 1s)
      const bad = grads.map((gr) => gr.op("isFinite").neg().add(1).sum()).reduce((a, b) => a.add(b));
      const ok = bad.eq(0).reshape([1]);
      for (const u of [...g.updates]) {
        const target = g.t(u.target);
        g.assign(target, ok.where(g.t(u.value), target));
      }
      const next = good.add(1);
      const grow = next.gt(s.growthInterval - 0.5);
      const nextScale = ok.where(grow.where(scale.mul(2), scale), scale.mul(0.5));
      g.assign(scale, nextScale);
      g.assign(good, ok.where(grow.where(0, next), 0));
      // the scale the next step uses (a state read after the step would show that too)
      g.output("loss_scale", nextScale);
      g.output("step_skipped", ok.neg().add(1));
    },
  };
}

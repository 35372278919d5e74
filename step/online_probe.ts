// The online linear probe (as solo-learn trains one beside every method): a linear classifier on
// the encoder's features of the training views, trained inside the same compiled step from the
// batch's labels, so its accuracy can be followed epoch by epoch at the cost of one small matmul.
//
// It changes nothing in the self-supervised training: the features enter it through stopGrad,
// its loss is differentiated on its own (ir/autodiff.ts, with respect to its two parameters only)
// and it is added after the SSL step is complete (step/training.ts), so the SSL graph's nodes,
// gradients and updates are the ones a step without the probe has (tests/online_probe_test.ts
// checks the parameters after several steps are bit-identical).
//
// Its optimizer is its own: SGD with momentum 0.9, no weight decay, a constant lr of 0.1 (solo-
// learn's classifier lr; the probe sees detached, fixed-scale features, so no warmup or decay is
// needed for a monitor). Loss: softmax cross-entropy over the rows of all views.
import { grad } from "../ir/autodiff.ts";
import type { Graph } from "../ir/graph.ts";
import { concat, type Tensor } from "../ir/tensor.ts";
import { softmaxCrossEntropy } from "../losses/cross_entropy.ts";
import { linear } from "../nn/linear.ts";
import { applyOptimizer } from "./optim.ts";
import type { TrainingScalars } from "./scalars.ts";

/** The probe's parameters (a PyTorch Linear: weight [classes, features], bias [classes]). */
export const PROBE = "online_probe";
export const PROBE_WEIGHT = `${PROBE}.weight`;
export const PROBE_BIAS = `${PROBE}.bias`;
/** the step's output holding the probe's training loss */
export const PROBE_LOSS = "online_probe_loss";
export const PROBE_LR = 0.1;
export const PROBE_MOMENTUM = 0.9;

/** A probe the spec and data cannot have (a user error: exit status 2). */
export class OnlineProbeError extends Error {
  override name = "OnlineProbeError";
  readonly exitCode = 2;
}

export interface OnlineProbe {
  /** the features the probe reads (one [batch, D] per view) and the batch's labels [batch, 1] */
  features: Tensor[];
  labels: Tensor;
  /** its logits [views·batch, classes] (the views' rows stacked in view order) and its loss */
  logits: Tensor;
  loss: Tensor;
}

/**
 * Adds the probe to a training graph whose SSL step is already built: its forward on the detached
 * `features`, its gradient, its SGD update, and the output PROBE_LOSS.
 */
export function addOnlineProbe(
  g: Graph,
  features: Tensor[],
  labels: Tensor,
  classes: number,
  scalars: TrainingScalars,
): OnlineProbe {
  if (!features.length) throw new OnlineProbeError("online probe: no view goes through the encoder");
  const bad = features.find((f) => f.rank !== 2);
  if (bad) {
    throw new OnlineProbeError(
      `online probe: the encoder's output must be [batch, D] features, got [${bad.shape.join(", ")}]`,
    );
  }
  if (!Number.isInteger(classes) || classes < 2) {
    throw new OnlineProbeError(
      `online probe: needs a data set with at least 2 classes, this one has ${classes}; use --online-probe off`,
    );
  }
  const prev = g.scope;
  g.scope = PROBE;
  // the views' rows stacked: one matmul each way and one loss instead of one per view (the mean
  // over all rows is the mean of the views' means, the views having the same batch); detached
  // after the concat, so one copy serves all views
  const n = features[0].shape[0], views = features.length;
  const x = (views > 1 ? concat(features, 0) : features[0]).stopGrad();
  const logits = linear(x, PROBE, classes);
  // the logits seen as [views, batch, classes]: the batch's labels serve every view
  const loss = softmaxCrossEntropy(logits.reshape([views, n, classes]), labels);
  const params = [g.find(PROBE_WEIGHT)!, g.find(PROBE_BIAS)!];
  const grads = grad(g, loss, params);
  const lr = scalars.plan.declare("online_probe_lr", "f32", () => PROBE_LR);
  applyOptimizer(
    g,
    params.map((param, i) => ({ param, grad: grads[i]!, lr })),
    { kind: "sgd", momentum: PROBE_MOMENTUM, weightDecay: 0 },
  );
  g.output(PROBE_LOSS, loss);
  g.scope = prev;
  return { features, labels, logits, loss };
}

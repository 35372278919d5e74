// Static checking of a loss expression by building its graph, shapes only: every name the loss uses
// becomes a graph input of its static shape, and loss_expr.ts builds the same graph the
// training step will build. Shapes are inferred by the op table as each node is added, so the
// rules that decide whether a loss is well formed live in one place (kernels/ and losses/);
// exposing another op to JSON losses needs no second shape rule here. A problem is reported
// at the path of the innermost expression node that failed (`loss.args[0].b`). Whether
// gradients reach a trainable parameter is answered by reverse-mode autodiff on that graph.
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { LossExprError, lossGraph } from "./loss_expr.ts";
import type { SpecIssue } from "../dsl/error.ts";
import { branchDim, branchTrainable } from "../dsl/resolve.ts";
import type { Expr, PipelineSpec } from "../dsl/schema.ts";

export type Shape = number[];

/** What a name in the loss refers to: a branch output or a queue's contents. */
export interface RefInfo {
  kind: "branch" | "queue";
  /** undefined for a branch whose path is broken: its error is reported there, not at each use */
  shape?: Shape;
  /** gradients through it reach parameters (not stopGrad, not ema, not a queue) */
  trainable: boolean;
}

export interface ExprInfo {
  shape: Shape;
  /** some gradient from the expression reaches a trainable branch */
  trainable: boolean;
}

/** Thrown by the ref resolver for a name whose own definition is broken (reported elsewhere). */
class BrokenRef extends Error {}

/**
 * Shape of `expr` (at spec path `path`) and whether gradients from it reach a trainable branch;
 * pushes a problem to `issues` and returns undefined when the expression does not lower.
 */
export function checkExpr(
  expr: Expr,
  refs: Map<string, RefInfo>,
  path: string,
  issues: SpecIssue[],
): ExprInfo | undefined {
  const g = new Graph();
  const inputs = new Map<string, Tensor>();
  const trainable: Tensor[] = [];
  const ref = (name: string): Tensor => {
    const had = inputs.get(name);
    if (had) return had;
    const r = refs.get(name);
    if (!r) {
      const kinds = (k: string) => [...refs].filter(([, x]) => x.kind === k).map(([n]) => n).join(", ") || "none";
      throw new Error(`unknown branch or queue '${name}' (branches: ${kinds("branch")}; queues: ${kinds("queue")})`);
    }
    if (!r.shape) throw new BrokenRef();
    const t = g.input(name, r.shape);
    inputs.set(name, t);
    if (r.trainable) trainable.push(t);
    return t;
  };
  let out: Tensor;
  try {
    out = lossGraph(expr, ref, g, path);
  } catch (e) {
    const cause = e instanceof LossExprError ? e.cause : e;
    if (cause instanceof BrokenRef) return undefined;
    const at = e instanceof LossExprError ? e.path : path;
    issues.push({ path: at, message: e instanceof LossExprError ? e.detail : (e as Error).message });
    return undefined;
  }
  return { shape: [...out.shape], trainable: reachesTrainable(g, out, trainable) };
}

/** Whether autodiff gives Σ `value` a gradient with respect to any of `wrt`. */
function reachesTrainable(g: Graph, value: Tensor, wrt: Tensor[]): boolean {
  if (wrt.length === 0) return false;
  const scalar = value.rank === 0 ? value : value.sum();
  return grad(g, scalar, wrt).some((t) => t !== null);
}

/** The names the loss may use: branch outputs [batch, D] and queue contents [size, D]. */
export function lossRefs(spec: PipelineSpec): Map<string, RefInfo> {
  const refs = new Map<string, RefInfo>();
  for (const b of spec.branches) {
    const d = branchDim(spec, b);
    const shape = d === undefined ? undefined : [spec.batch, d];
    if (!refs.has(b.name)) refs.set(b.name, { kind: "branch", shape, trainable: branchTrainable(b) });
  }
  for (const q of spec.queues) {
    const of = spec.branches.find((b) => b.name === q.of);
    const d = of && branchDim(spec, of);
    const shape = d === undefined ? undefined : [q.size, d];
    if (!refs.has(q.name)) refs.set(q.name, { kind: "queue", shape, trainable: false });
  }
  return refs;
}

/** The loss of a spec, lowered shapes-only: its problems, at their spec paths. */
export function lossIssues(spec: PipelineSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const info = checkExpr(spec.loss, lossRefs(spec), "loss", issues);
  if (!info) return issues;
  if (info.shape.length !== 0) {
    issues.push({
      path: "loss",
      message: `the loss must be a scalar, got shape [${info.shape.join(", ")}]; reduce it with mean or sum`,
    });
  }
  if (!info.trainable) {
    issues.push({
      path: "loss",
      message:
        "the loss reaches no trainable parameter: every branch it uses is stopGrad, ema, a queue or under a stopGrad node",
    });
  }
  return issues;
}

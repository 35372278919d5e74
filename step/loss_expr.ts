// A spec's loss expression (dsl/schema.ts `Expr`) as a graph: library losses, weighted sums and
// primitives, each node lowered through the losses of this folder or the Tensor sugar.
import type { Expr, LossNode } from "../dsl/schema.ts";
import type { Graph } from "../ir/graph.ts";
import { concat, type Tensor } from "../ir/tensor.ts";
import { barlowTwins, barlowTwinsLambdaFree } from "../losses/barlow.ts";
import { byolLoss, simsiamLoss } from "../losses/cosine_target.ts";
import { standardize } from "../losses/correlation.ts";
import { featureSimilarityMse } from "../losses/feature_mse.ts";
import { infoNCE } from "../losses/infonce.ts";
import { normalize } from "../losses/normalize.ts";
import { ntXent } from "../losses/ntxent.ts";
import { vicreg, type VicregOpts } from "../losses/vicreg.ts";

/** Resolves a name in the expression: a branch output or a queue's contents. */
export type Ref = (name: string) => Tensor;

/** A loss expression that does not lower, with the spec path of the node that failed. */
export class LossExprError extends Error {
  override name = "LossExprError";
  constructor(readonly path: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
  }
}

/**
 * The graph of expression `e`, found at spec path `path` (e.g. "loss"). A shape or reference
 * error is rethrown as a LossExprError naming the innermost node that failed
 * ("loss.args[0].b"), so spec validation and the real forward graph report the same thing.
 */
export function lossGraph(e: Expr, ref: Ref, g: Graph, path: string): Tensor {
  try {
    return lowerNode(e, ref, g, path);
  } catch (err) {
    if (err instanceof LossExprError) throw err;
    throw new LossExprError(path, (err as Error).message, { cause: err });
  }
}

function lowerNode(e: Expr, ref: Ref, g: Graph, path: string): Tensor {
  if (typeof e === "number") return g.const(e);
  if (typeof e === "string") return ref(e);
  const n = e as LossNode;
  const sub = (x: Expr, i: number) => lossGraph(x, ref, g, `${path}.args[${i}]`);
  const ab =
    () => [lossGraph((n as { a: Expr }).a, ref, g, `${path}.a`), lossGraph((n as { b: Expr }).b, ref, g, `${path}.b`)];
  const args = "args" in n ? (n.args as Expr[]).map(sub) : [];
  switch (n.op) {
    case "barlowTwins": {
      const [a, b] = ab();
      return n.lambda === "mean" ? barlowTwinsLambdaFree(a, b) : barlowTwins(a, b, { lambda: n.lambda });
    }
    case "ntXent": {
      const [a, b] = ab();
      return ntXent(a, b, n.temperature);
    }
    case "infoNCE": {
      const [a, b] = ab();
      const neg = n.negatives !== undefined ? lossGraph(n.negatives, ref, g, `${path}.negatives`) : undefined;
      if (!neg) return ntXent(a, b, n.temperature);
      return infoNCE(a, b, neg, n.temperature);
    }
    case "byol": {
      const [a, b] = ab();
      return byolLoss(a, b);
    }
    case "simsiam": {
      const [a, b] = ab();
      return simsiamLoss(a, b);
    }
    case "vicreg": {
      const [a, b] = ab();
      return vicreg(a, b, { sim: n.sim, var: n.var, cov: n.cov } as VicregOpts);
    }
    case "featureSimMSE": {
      const [a, b] = ab();
      return featureSimilarityMse(a, b);
    }
    case "add":
      return args.reduce((x, y) => x.add(y));
    case "mul":
      return args.reduce((x, y) => x.mul(y));
    case "sub":
      return args[0].sub(args[1]);
    case "div":
      return args[0].div(args[1]);
    case "transpose":
      return args[0].T;
    case "stopGrad":
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "square":
    case "abs":
    case "relu":
      return args[0].op(n.op);
    case "sum":
    case "mean":
      return n.axis === undefined ? args[0][n.op]() : args[0][n.op]([n.axis], true);
    case "logsumexp":
      return n.axis === undefined
        ? args[0].reshape([args[0].shape.reduce((p, q) => p * q, 1)]).logsumexp(0)
        : args[0].logsumexp(n.axis, true);
    case "matmul":
      return args[0].matmul(args[1], n.ta ?? false, n.tb ?? false);
    case "normalize":
      return normalize(args[0], n.axis);
    case "softmax":
      return args[0].softmax(n.axis);
    case "standardize":
      return standardize(args[0]);
    case "eye":
      return g.add("eye", [], { shape: [n.n, n.n] });
    case "concat":
      return concat(args, n.axis);
  }
}

/** The branches of the first two-branch library loss in the expression (depth first). */
export function lossPair(e: Expr): { a: string; b: string } | undefined {
  if (typeof e !== "object") return undefined;
  if ("a" in e && typeof e.a === "string" && typeof e.b === "string") return { a: e.a, b: e.b };
  for (const x of ("args" in e ? e.args : []) as Expr[]) {
    const f = lossPair(x);
    if (f) return f;
  }
  return undefined;
}

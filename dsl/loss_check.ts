// Static typing of a loss expression: the shape of every node (concrete numbers: the batch
// and the declared widths are static) and whether gradients from it can reach a trainable
// parameter. Problems are reported with the node's path inside the spec (`loss.args[0].b`).
import { joinPath, type SpecIssue } from "./error.ts";
import type { Expr, LossNode } from "./schema.ts";

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
  trainable: boolean;
}

const fmt = (s: Shape) => `[${s.join(", ")}]`;

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
export function broadcast(a: Shape, b: Shape): Shape | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(Math.max(x, y));
  }
  return out;
}

/**
 * Infers the shape of `expr` at `path`, pushing problems to `issues`. Returns undefined for a
 * sub-expression that has a problem, so one mistake is reported once rather than at every
 * ancestor.
 */
export function checkExpr(
  expr: Expr,
  refs: Map<string, RefInfo>,
  path: string,
  issues: SpecIssue[],
): ExprInfo | undefined {
  if (typeof expr === "number") return { shape: [], trainable: false };
  if (typeof expr === "string") {
    const r = refs.get(expr);
    if (r) return r.shape ? { shape: r.shape, trainable: r.trainable } : undefined;
    const kinds = (k: string) => [...refs].filter(([, x]) => x.kind === k).map(([n]) => n).join(", ") || "none";
    issues.push({
      path,
      message: `unknown branch or queue '${expr}' (branches: ${kinds("branch")}; queues: ${kinds("queue")})`,
    });
    return undefined;
  }
  const fail = (message: string, at = path) => {
    issues.push({ path: at, message });
    return undefined;
  };
  const sub = (e: Expr, key: string | number, base = path) => checkExpr(e, refs, joinPath(base, key), issues);
  const args = "args" in expr ? expr.args.map((e, i) => sub(e, i, joinPath(path, "args"))) : [];
  if (args.some((x) => !x)) return undefined;
  const xs = args as ExprInfo[];
  const anyTrain = (infos: ExprInfo[]) => infos.some((x) => x.trainable);

  // library losses are exactly the nodes with operands a and b (see LIBRARY_LOSSES)
  if ("a" in expr) return checkLibrary(expr, path, sub, fail);

  switch (expr.op) {
    case "add":
    case "mul":
    case "sub":
    case "div": {
      let shape: Shape | undefined = xs[0].shape;
      for (const x of xs.slice(1)) shape = shape && broadcast(shape, x.shape);
      if (!shape) return fail(`${expr.op}: shapes ${xs.map((x) => fmt(x.shape)).join(", ")} do not broadcast`);
      return { shape, trainable: anyTrain(xs) };
    }
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "square":
    case "abs":
    case "relu":
      return xs[0];
    case "stopGrad":
      return { shape: xs[0].shape, trainable: false };
    case "transpose":
      if (xs[0].shape.length !== 2) return fail(`transpose needs a matrix, got ${fmt(xs[0].shape)}`);
      return { shape: [xs[0].shape[1], xs[0].shape[0]], trainable: xs[0].trainable };
    case "sum":
    case "mean":
    case "logsumexp": {
      const s = xs[0].shape;
      if (expr.axis === undefined) return { shape: [], trainable: xs[0].trainable };
      if (s.length !== 2) return fail(`${expr.op} over axis ${expr.axis} needs a matrix, got ${fmt(s)}`);
      return { shape: s.map((d, i) => (i === expr.axis ? 1 : d)), trainable: xs[0].trainable };
    }
    case "matmul": {
      const [a, b] = xs;
      if (a.shape.length !== 2 || b.shape.length !== 2) {
        return fail(`matmul needs two matrices, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
      }
      const [m, k1] = expr.ta ? [a.shape[1], a.shape[0]] : a.shape;
      const [k2, n] = expr.tb ? [b.shape[1], b.shape[0]] : b.shape;
      if (k1 !== k2) {
        return fail(
          `matmul inner widths differ: ${expr.ta ? "aᵀ" : "a"} is ${fmt([m, k1])}, ${expr.tb ? "bᵀ" : "b"} is ${
            fmt([k2, n])
          }`,
        );
      }
      return { shape: [m, n], trainable: anyTrain(xs) };
    }
    case "normalize":
    case "standardize":
      if (xs[0].shape.length !== 2) return fail(`${expr.op} needs a matrix, got ${fmt(xs[0].shape)}`);
      return xs[0];
    case "eye":
      return { shape: [expr.n, expr.n], trainable: false };
    case "concat": {
      const other = 1 - expr.axis;
      if (xs.some((x) => x.shape.length !== 2)) {
        return fail(`concat needs matrices, got ${xs.map((x) => fmt(x.shape)).join(", ")}`);
      }
      if (xs.some((x) => x.shape[other] !== xs[0].shape[other])) {
        return fail(
          `concat along axis ${expr.axis} needs equal sizes on axis ${other}, got ${
            xs.map((x) => fmt(x.shape)).join(", ")
          }`,
        );
      }
      const shape = [...xs[0].shape];
      shape[expr.axis] = xs.reduce((s, x) => s + x.shape[expr.axis], 0);
      return { shape, trainable: anyTrain(xs) };
    }
  }
  return fail(`unknown op '${(expr as LossNode).op}'`);
}

type Sub = (e: Expr, key: string | number) => ExprInfo | undefined;
type Fail = (message: string, at?: string) => undefined;

/** Library losses compare two [N, D] matrices a and b of the same shape and return a scalar. */
function checkLibrary(expr: LossNode & { a: Expr; b: Expr }, path: string, sub: Sub, fail: Fail): ExprInfo | undefined {
  const a = sub(expr.a, "a");
  const b = sub(expr.b, "b");
  if (!a || !b) return undefined;
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    return fail(`${expr.op} compares two [N, D] matrices, got a ${fmt(a.shape)} and b ${fmt(b.shape)}`);
  }
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) {
    return fail(
      `${expr.op} needs a and b of the same shape, got a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      } (use branches whose last modules have the same width)`,
    );
  }
  const trainable = a.trainable || b.trainable;
  if (expr.op === "barlowTwins" && expr.lambda === "mean" && a.shape[1] < 2) {
    return fail(`barlowTwins with lambda 'mean' (1/(D−1)) needs D ≥ 2, got D = ${a.shape[1]}`);
  }
  if (expr.op === "infoNCE" && expr.negatives !== undefined) {
    const n = sub(expr.negatives, "negatives");
    if (!n) return undefined;
    if (n.shape.length !== 2 || n.shape[1] !== a.shape[1]) {
      return fail(
        `infoNCE negatives must be a [K, ${a.shape[1]}] matrix like a's rows, got ${fmt(n.shape)}`,
        joinPath(path, "negatives"),
      );
    }
  }
  return { shape: [], trainable };
}

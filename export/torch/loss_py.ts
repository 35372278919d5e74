// The spec's loss expression as Python statements, one per node, in the order step/loss_expr.ts
// lowers it: library nodes call sslport.losses, weighted sums and primitives become torch
// operators with numpy broadcasting, numbers become float32 constants, names read a branch
// output (global batch) or a queue's contents from before the step.
import type { Expr, LossNode } from "../../dsl/schema.ts";
import { ExportError } from "./plan.ts";
import { pyFloat, pyStr } from "./python.ts";

export interface LossCode {
  /** statements computing the loss into the variable `result` */
  lines: string[];
  result: string;
}

/** `branches` and `queues` are the names the expression may read. */
export function lossCode(expr: Expr, branches: Set<string>, queues: Set<string>): LossCode {
  const lines: string[] = [];
  let next = 0;
  const emit = (code: string, path: string): string => {
    const v = `x${next++}`;
    lines.push(`${v} = ${code}  # ${path}`);
    return v;
  };
  const visit = (e: Expr, path: string): string => {
    if (typeof e === "number") return emit(`c(${pyFloat(e)})`, path);
    if (typeof e === "string") {
      if (branches.has(e)) return `b[${pyStr(e)}]`;
      if (queues.has(e)) return `q[${pyStr(e)}]`;
      throw new ExportError(`${path}: '${e}' is neither a branch nor a queue`);
    }
    const n = e as LossNode;
    const args = "args" in n ? (n.args as Expr[]).map((x, i) => visit(x, `${path}.args[${i}]`)) : [];
    const ab = () => [visit((n as { a: Expr }).a, `${path}.a`), visit((n as { b: Expr }).b, `${path}.b`)];
    switch (n.op) {
      case "barlowTwins": {
        const [a, b] = ab();
        return emit(`L.barlow_twins(${a}, ${b}, ${n.lambda === "mean" ? '"mean"' : pyFloat(n.lambda)})`, path);
      }
      case "ntXent": {
        const [a, b] = ab();
        return emit(`L.nt_xent(${a}, ${b}, ${pyFloat(n.temperature)})`, path);
      }
      case "infoNCE": {
        const [a, b] = ab();
        if (n.negatives === undefined) return emit(`L.nt_xent(${a}, ${b}, ${pyFloat(n.temperature)})`, path);
        const neg = visit(n.negatives, `${path}.negatives`);
        return emit(`L.info_nce(${a}, ${b}, ${neg}, ${pyFloat(n.temperature)})`, path);
      }
      case "byol":
      case "simsiam":
      case "featureSimMSE": {
        const [a, b] = ab();
        const fn = { byol: "byol", simsiam: "simsiam", featureSimMSE: "feature_sim_mse" }[n.op];
        return emit(`L.${fn}(${a}, ${b})`, path);
      }
      case "vicreg": {
        const [a, b] = ab();
        return emit(`L.vicreg(${a}, ${b}, sim=${pyFloat(n.sim)}, var=${pyFloat(n.var)}, cov=${pyFloat(n.cov)})`, path);
      }
      case "add":
      case "mul": {
        const sym = n.op === "add" ? "+" : "*";
        return args.slice(1).reduce((acc, x) => emit(`${acc} ${sym} ${x}`, path), args[0]);
      }
      case "sub":
        return emit(`${args[0]} - ${args[1]}`, path);
      case "div":
        return emit(`${args[0]} / ${args[1]}`, path);
      case "neg":
      case "exp":
      case "log":
      case "sqrt":
      case "square":
      case "abs":
      case "relu":
      case "transpose":
      case "stopGrad":
        return emit(`L.UNARY[${pyStr(n.op)}](${args[0]})`, path);
      case "sum":
      case "mean":
      case "logsumexp":
        return emit(`L.reduce(${pyStr(n.op)}, ${args[0]}${n.axis === undefined ? "" : `, ${n.axis}`})`, path);
      case "matmul":
        return emit(
          `L.matmul(${args[0]}, ${args[1]}, ta=${n.ta ? "True" : "False"}, tb=${n.tb ? "True" : "False"})`,
          path,
        );
      case "normalize":
        return emit(`L.normalize(${args[0]}, ${n.axis})`, path);
      case "softmax":
        return emit(`torch.softmax(${args[0]}, ${n.axis})`, path);
      case "standardize":
        return emit(`L.standardize(${args[0]})`, path);
      case "eye":
        return emit(`L.eye(${n.n}, c(0.0))`, path);
      case "concat":
        return emit(`torch.cat([${args.join(", ")}], ${n.axis})`, path);
    }
  };
  const result = visit(expr, "loss");
  return { lines, result };
}

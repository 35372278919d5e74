import { evaluate } from "../cpu/reference.ts";
import { Graph } from "../ir/graph.ts";
import { assertClose, cpuOp, rand, randArg } from "./util/check.ts";
import { runGraphGPU, runOpGPU } from "./util/gpu.ts";

Deno.test("fused elementwise chain with broadcasting matches float64", async () => {
  const g = new Graph();
  const x = g.input("x", [7, 13, 5]), y = g.input("y", [13, 1]), s = g.scalar("lr");
  const z = x.mul(y).add(1).exp().sub(x.square().mul(s)).relu().div(y.abs().add(0.5));
  g.output("z", z);
  const leaves = new Map([["x", rand(7 * 13 * 5, 1)], ["y", rand(13, 2)]]);
  const expect = evaluate(g, { leaves, scalars: { lr: 0.3 } })[z.id];
  for (const fuse of [true, false]) {
    const got = (await runGraphGPU(g, leaves, { lr: 0.3 }, { fuse })).get("z")!;
    assertClose(got, expect, { rtol: 1e-5, atol: 1e-6 }, `fuse=${fuse}`);
  }
});

Deno.test("every elementwise op on the GPU matches float64", async () => {
  const pos = new Set(["log", "sqrt", "rsqrt"]);
  for (const op of ["neg", "exp", "log", "sqrt", "rsqrt", "square", "abs", "sign", "relu", "sigmoid", "tanh", "copy"]) {
    const a = [randArg([5, 7], 4, pos.has(op) ? 0.1 : -2, 2)];
    assertClose(await runOpGPU(op, a), cpuOp(op, a), { rtol: 2e-6, atol: 1e-6 }, op);
  }
  for (const op of ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "gt", "ge", "lt", "le", "eq"]) {
    const a = [randArg([3, 1, 5], 5, op === "pow" ? 0.1 : -2, 2), randArg([4, 1], 6, 0.5, 2)];
    assertClose(await runOpGPU(op, a), cpuOp(op, a), { rtol: 1e-5, atol: 1e-6 }, op);
  }
  const w = [randArg([3, 4], 7), randArg([3, 1], 8), randArg([4], 9)];
  assertClose(await runOpGPU("where", w), cpuOp("where", w), {}, "where");
});

Deno.test("reductions with a fused elementwise prologue match float64 (sum, mean, max; any axes)", async () => {
  for (
    const [op, axes, keepdims] of [["sum", [0, 1, 2], false], ["mean", [1], true], ["max", [0, 2], false], [
      "sum",
      [2],
      false,
    ]] as const
  ) {
    const g = new Graph();
    const x = g.input("x", [7, 13, 5]), y = g.input("y", [13, 1]), s = g.scalar("lr");
    const r = x.mul(y).add(s).square().op(op, [], { axes: [...axes], keepdims });
    g.output("r", r);
    const leaves = new Map([["x", rand(7 * 13 * 5, 3)], ["y", rand(13, 4)]]);
    const expect = evaluate(g, { leaves, scalars: { lr: 0.7 } })[r.id];
    const got = (await runGraphGPU(g, leaves, { lr: 0.7 })).get("r")!;
    assertClose(got, expect, { rtol: 2e-5, atol: 1e-5 }, `${op} over ${axes}`);
  }
});

import { assertClose, checkVjp, cpuOp, randArg } from "./util/check.ts";

const unary = ["neg", "exp", "log", "sqrt", "rsqrt", "square", "abs", "relu", "sigmoid", "tanh", "copy"];
Deno.test("elementwise unary VJPs match finite differences (float64)", () => {
  for (const op of unary) {
    const pos = ["log", "sqrt", "rsqrt"].includes(op);
    checkVjp(op, [randArg([7, 13], 3, pos ? 0.5 : -1, pos ? 2 : 1)]);
  }
});
Deno.test("elementwise binary VJPs with broadcasting match finite differences", () => {
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum"]) {
    checkVjp(op, [randArg([7, 1, 5], 1, 0.5, 2), randArg([13, 1], 2, 0.5, 2)]);
  }
  checkVjp("pow", [randArg([5, 3], 1, 0.5, 2), randArg([3], 2, 0.5, 2)]);
  checkVjp("where", [randArg([5, 3], 1), randArg([5, 1], 2), randArg([3], 3)], {}, { wrt: [1, 2] });
});
Deno.test("broadcasting follows numpy rules", () => {
  const r = cpuOp("add", [{ shape: [2, 1], data: [1, 2] }, { shape: [3], data: [10, 20, 30] }]);
  assertClose(r, [11, 21, 31, 12, 22, 32], {}, "add broadcast");
});

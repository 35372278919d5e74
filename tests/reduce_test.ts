// sum / mean / max: float64 references against naive loops, shape rules, VJPs by finite
// differences, the tie rule of max, and (when a GPU harness is present) WGSL vs float64.
import { grad } from "../compiler/autodiff.ts";
import { evaluate } from "../cpu/reference.ts";
import { Graph } from "../ir/graph.ts";
import { reduceGroups, reduceSplit } from "../kernels/reduce.ts";
import { ShapeError } from "../kernels/op.ts";
import { assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";

function assertEquals(a: unknown, b: unknown): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
}
function assertThrows(f: () => unknown, cls: new (...a: never[]) => Error, msg: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof cls) || !(e as Error).message.includes(msg)) throw new Error(`wrong error: ${e}`);
    return;
  }
  throw new Error(`expected an error containing '${msg}'`);
}

const S = [7, 13, 5];
const x = rand(7 * 13 * 5, 5);
const at = (i: number, j: number, k: number) => x[(i * 13 + j) * 5 + k];

Deno.test("sum/mean/max over axes [0, 2] match naive loops, with and without keepdims", () => {
  const sum = new Float64Array(13), max = new Float64Array(13).fill(-Infinity);
  for (let i = 0; i < 7; i++) for (let j = 0; j < 13; j++) for (let k = 0; k < 5; k++) {
    sum[j] += at(i, j, k);
    max[j] = Math.max(max[j], at(i, j, k));
  }
  const arg = { shape: S, data: x };
  assertClose(cpuOp("sum", [arg], { axes: [0, 2], keepdims: false }), sum, { rtol: 1e-12 }, "sum");
  assertClose(cpuOp("mean", [arg], { axes: [0, 2], keepdims: true }), sum.map((v) => v / 35), { rtol: 1e-12 }, "mean");
  assertClose(cpuOp("max", [arg], { axes: [2, 0], keepdims: false }), max, { rtol: 0 }, "max");
});

Deno.test("reduction shape rules", () => {
  const g = new Graph();
  const t = g.input("x", S);
  assertEquals(t.sum([1], true).shape, [7, 1, 5]);
  assertEquals(t.sum([1]).shape, [7, 5]);
  assertEquals(t.mean().shape, []);
  assertEquals(t.max([-1]).shape, [7, 13]);
  assertEquals(t.sum([]).shape, S);
  assertThrows(() => t.sum([3]), ShapeError, "axis 3 out of range");
  assertThrows(() => t.op("sum", [], { axes: [1, 1] }), ShapeError, "repeated axis");
});

Deno.test("sum over no axes is the identity; full sum of a closed form", () => {
  const arg = { shape: S, data: x };
  assertClose(cpuOp("sum", [arg], { axes: [], keepdims: false }), x, { rtol: 0 }, "identity");
  const n = 1001, ramp = { shape: [7, 11, 13], data: Array.from({ length: n }, (_, i) => i) };
  assertClose(cpuOp("sum", [ramp], { axes: [0, 1, 2], keepdims: false }), [(n * (n - 1)) / 2], { rtol: 1e-15 }, "ramp");
});

Deno.test("sum/mean/max VJPs match finite differences on odd shapes", () => {
  for (const op of ["sum", "mean", "max"]) {
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
      for (const keepdims of [false, true]) checkVjp(op, [randArg(S, 7)], { axes, keepdims });
    }
  }
});

Deno.test("max splits its gradient equally among tied maxima", () => {
  const g = new Graph();
  const t = g.input("x", [2, 4]);
  const [dx] = grad(g, t.max([1]).mul(g.const(6)).sum(), [t]);
  const v = evaluate(g, { leaves: new Map([["x", Float64Array.of(1, 3, 3, 2, 5, 5, 5, -1)]]), scalars: {} });
  assertClose(v[dx!.id], [0, 3, 3, 0, 2, 2, 2, 0], { rtol: 1e-15 }, "ties");
});

Deno.test("reduction geometry: merged axis groups and split choice", () => {
  // [256, 2048] over axis 0: one reduced group (stride 2048) and one kept group
  assertEquals(reduceGroups([256, 2048], [0]), { red: [{ n: 256, stride: 2048 }], kept: [{ n: 2048, stride: 1 }] });
  // size-1 axes vanish and adjacent reduced axes merge
  assertEquals(reduceGroups([3, 1, 4, 5, 2], [2, 3]), {
    red: [{ n: 20, stride: 2 }],
    kept: [{ n: 3, stride: 40 }, { n: 2, stride: 1 }],
  });
  assertEquals(reduceSplit(1, 2048 * 2048), 1024); // full sum: many threads participate
  assertEquals(reduceSplit(2048, 256), 4); // batch sum of 2048 features
  assertEquals(reduceSplit(65536, 64), 1); // enough outputs: one pass
  assertEquals(reduceSplit(1, 4096, "single"), 1);
  assertEquals(reduceSplit(1, 4096, "split7"), 7);
});

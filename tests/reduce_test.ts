// sum / mean / max: float64 references against naive loops, shape rules, VJPs by finite
// differences, the tie rule of max, WGSL kernels vs float64, forward and backward.
import { grad } from "../ir/autodiff.ts";
import { evaluate } from "../cpu/reference.ts";
import { Graph } from "../ir/graph.ts";
import { reduceGroups, reducePlan, reduceSplit } from "../kernels/reduce.ts";
import { ShapeError } from "../kernels/op.ts";
import { assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";
import { gpuBackward, runOpGPU } from "./util/gpu.ts";

function assertEquals(a: unknown, b: unknown): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
  }
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
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 13; j++) {
      for (let k = 0; k < 5; k++) {
        sum[j] += at(i, j, k);
        max[j] = Math.max(max[j], at(i, j, k));
      }
    }
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
  // units: vec4 along the reduction for row sums, along the outputs for column sums
  assertEquals(reducePlan([256, 2048], [1]), {
    red: [{ n: 512, stride: 1 }],
    kept: [{ n: 256, stride: 512 }],
    vec: "red",
    r: 512,
    o: 256,
  });
  assertEquals(reducePlan([256, 2048], [0]), {
    red: [{ n: 256, stride: 512 }],
    kept: [{ n: 512, stride: 1 }],
    vec: "kept",
    r: 256,
    o: 512,
  });
  assertEquals(reducePlan([7, 13, 5], [0, 2]).vec, "none");
  assertEquals(reduceSplit(1, 1024 * 1024), 1024); // full sum: many threads participate
  assertEquals(reduceSplit(512, 256), 1); // batch sum of 2048 features (512 vec4 columns): one pass
  assertEquals(reduceSplit(1, 1024), 1); // a short full sum: one thread beats a second dispatch
  assertEquals(reduceSplit(1, 2048), 32); // longer: chunks of 64 units
  assertEquals(reduceSplit(65536, 64), 1); // enough outputs: one pass
  assertEquals(reduceSplit(1, 4096, "single"), 1);
  assertEquals(reduceSplit(1, 4096, "split7"), 7);
  assertEquals(reduceSplit(1, 10, "split4"), 4); // chunks of 3, 3, 3, 1
  assertEquals(reduceSplit(1, 10, "split6"), 5); // chunks of 2: six would leave one empty
});

// ---- GPU (WGSL) vs float64 ----------------------------------------------------------------

const cases: { shape: number[]; axes: number[] }[] = [
  { shape: [7, 13, 5], axes: [0, 2] }, // interleaved reduced / kept groups
  { shape: [7, 13, 5], axes: [1] },
  { shape: [7, 13, 5], axes: [0, 1, 2] },
  { shape: [37, 53], axes: [0] }, // column sums (batch statistics)
  { shape: [37, 53], axes: [1] }, // row sums
  { shape: [3, 1, 9, 11], axes: [1, 2] }, // size-1 axis inside the reduced set
  { shape: [6, 9, 12], axes: [2] }, // vec4 along the reduction
  { shape: [6, 9, 12], axes: [0, 1] }, // vec4 along the outputs
  { shape: [5, 4, 3, 8], axes: [1, 3] }, // vec4 reduction split over two groups
];

// auto picks one pass for all of these (R is short); the forced splits cover the two-pass path
const forced: { op: string; c: number; variant: string }[] = [
  { op: "sum", c: 0, variant: "split3" },
  { op: "sum", c: 3, variant: "split16" },
  { op: "mean", c: 2, variant: "split7" },
  { op: "max", c: 0, variant: "split2" },
  { op: "max", c: 5, variant: "split5" },
  { op: "sum", c: 6, variant: "split2" },
  { op: "max", c: 7, variant: "split3" },
  { op: "mean", c: 8, variant: "split2" },
  { op: "sum", c: 8, variant: "scalar-split5" },
  { op: "max", c: 7, variant: "scalar" },
];

Deno.test("GPU sum/mean/max match float64 in one-pass and two-pass variants", async () => {
  const run = async (op: string, c: number, variant?: string) => {
    const { shape, axes } = cases[c], a = randArg(shape, 11 + c);
    const got = await runOpGPU(op, [a], { axes, keepdims: c % 2 === 0 }, {}, { variant: () => variant });
    const want = cpuOp(op, [a], { axes, keepdims: c % 2 === 0 });
    assertClose(
      got,
      want,
      { rtol: 1e-4, atol: 1e-5 },
      `${op} ${JSON.stringify(shape)} axes ${axes} ${variant ?? "auto"}`,
    );
  };
  for (const op of ["sum", "mean", "max"]) for (let c = 0; c < cases.length; c++) await run(op, c);
  for (const f of forced) await run(f.op, f.c, f.variant);
});

Deno.test("GPU full sum of 1000×1001 stays accurate (two-pass blocked sum)", async () => {
  const a = randArg([1000, 1001], 3, 0, 1); // all positive: the worst case for a running f32 sum
  const want = cpuOp("sum", [a], { axes: [0, 1], keepdims: false });
  const got = await runOpGPU("sum", [a], { axes: [0, 1], keepdims: false });
  assertClose(got, want, { rtol: 2e-6, atol: 0 }, "full sum");
  const cols = await runOpGPU("mean", [a], { axes: [0], keepdims: true });
  assertClose(cols, cpuOp("mean", [a], { axes: [0], keepdims: true }), { rtol: 1e-5, atol: 0 }, "column means");
});

Deno.test("GPU backward of sum/mean/max matches the float64 backward", async () => {
  for (const op of ["sum", "mean", "max"]) {
    await gpuBackward(op, [randArg([7, 13, 5], 21)], { axes: [0, 2], keepdims: false }, [0]);
  }
});

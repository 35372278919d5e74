// Pooling: shape rules and errors, closed forms, finite-difference VJPs, GPU against float64.
import { evaluate } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { ShapeError } from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { assertClose, checkVjp, cpuOp, rand } from "./util/check.ts";
import { runGraphGPU, runOpGPU } from "./util/gpu.ts";

/** f throws a ShapeError whose message contains `msg` */
function assertThrows(f: () => unknown, msg: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ShapeError) || !e.message.includes(msg)) {
      throw new Error(`expected ShapeError with "${msg}", got ${e}`);
    }
    return;
  }
  throw new Error(`expected ShapeError with "${msg}", nothing was thrown`);
}
/** random values on a grid of distinct multiples of 1/64 (exact in f32): no ties, so argmax is well defined */
function distinct(shape: number[], seed: number) {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rand(n, seed);
  const order = [...r.keys()].sort((a, b) => r[a] - r[b]);
  const data = new Float64Array(n);
  order.forEach((idx, rank) => (data[idx] = (rank - n / 2) / 64));
  return { shape, data };
}

type Case = { name: string; x: number[]; a: Record<string, unknown>; out: number[] };
const CASES: Case[] = [
  { name: "3x3 s2 p1 (ResNet stem)", x: [2, 3, 7, 9], a: { kernel: 3, stride: 2, pad: 1 }, out: [2, 3, 4, 5] },
  { name: "2x2 (default stride)", x: [2, 3, 7, 9], a: { kernel: 2 }, out: [2, 3, 3, 4] },
  { name: "2x2 over an even width (a vec2 per window row)", x: [2, 3, 7, 8], a: { kernel: 2 }, out: [2, 3, 3, 4] },
  { name: "3x2 tiles, even width (vec2 rows)", x: [1, 2, 8, 6], a: { kernel: [3, 2] }, out: [1, 2, 2, 3] },
  { name: "3x3 s1 p0 (overlapping)", x: [2, 3, 7, 9], a: { kernel: 3, stride: 1 }, out: [2, 3, 5, 7] },
  { name: "3x2 s[1,2] p[1,0]", x: [1, 2, 5, 6], a: { kernel: [3, 2], stride: [1, 2], pad: [1, 0] }, out: [1, 2, 5, 3] },
];

Deno.test("pooling shape rules and errors", () => {
  const g = new Graph();
  for (const c of CASES) {
    const x = g.input(c.name, c.x);
    for (const op of ["maxPool2d", "avgPool2d"]) {
      const s = g.add(op, [x], c.a).shape;
      if (s.join() !== c.out.join()) throw new Error(`${op} ${c.name}: ${s} vs ${c.out}`);
    }
  }
  if (g.add("globalAvgPool", [g.input("gx", [2, 3, 7, 9])]).shape.join() !== "2,3") {
    throw new Error("globalAvgPool shape");
  }
  const x = g.input("x", [2, 3, 7, 9]);
  assertThrows(
    () => g.add("maxPool2d", [x], { kernel: 8 }),
    "maxPool2d: image height = 7 (+ 2·pad 0) is smaller than the kernel height = 8",
  );
  assertThrows(
    () => g.add("avgPool2d", [x], { kernel: 3, pad: 2 }),
    "avgPool2d: pad [2, 2] must be at most half the kernel [3, 3]",
  );
  assertThrows(() => g.add("maxPool2d", [x], {}), "attrs.kernel is required");
  assertThrows(() => g.add("maxPool2d", [x], { kernel: 2, stride: 0 }), "attrs.stride must be an integer ≥ 1");
  assertThrows(() => g.add("maxPool2d", [g.input("x3", [3, 7, 9])], { kernel: 2 }), "input must be 4-D (NCHW)");
  assertThrows(() => g.add("globalAvgPool", [g.input("x2", [3, 7])]), "globalAvgPool: input must be 4-D");
  assertThrows(
    () => g.add("maxPool2dGrad", [x, g.input("g", [2, 3, 4, 4])], { kernel: 3, stride: 2, pad: 1 }),
    "cotangent g is [2, 3, 4, 4] but the pooled output is [2, 3, 4, 5]",
  );
});

Deno.test("pooling float64 reference: closed forms", () => {
  const x = { shape: [1, 1, 3, 4], data: [1, 5, 2, 0, 3, 4, 8, 7, -1, 6, 9, 2] };
  assertClose(cpuOp("maxPool2d", [x], { kernel: 2 }), [5, 8], {}, "max 2x2");
  assertClose(cpuOp("avgPool2d", [x], { kernel: 2 }), [13 / 4, 17 / 4], {}, "avg 2x2");
  // pad counts as zeros for avg (divisor 4), and never wins for max even when all real values are negative
  const neg = { shape: [1, 1, 2, 2], data: [-1, -2, -3, -4] };
  assertClose(
    cpuOp("maxPool2d", [neg], { kernel: 2, stride: 1, pad: 1 }),
    [-1, -1, -2, -1, -1, -2, -3, -3, -4],
    {},
    "max with pad",
  );
  assertClose(
    cpuOp("avgPool2d", [neg], { kernel: 2, stride: 1, pad: 1 }),
    [-1, -3, -2, -4, -10, -6, -3, -7, -4].map((v) => v / 4),
    {},
    "avg with pad",
  );
  assertClose(cpuOp("globalAvgPool", [x]), [(1 + 5 + 2 + 0 + 3 + 4 + 8 + 7 - 1 + 6 + 9 + 2) / 12], {}, "global avg");
  // overlapping windows: the shared maximum collects the gradient of both windows; ties go to the first
  const r = cpuOp(
    "maxPool2dGrad",
    [{ shape: [1, 1, 1, 3], data: [1, 9, 1] }, { shape: [1, 1, 1, 2], data: [10, 20] }],
    { kernel: [1, 2], stride: 1 },
  );
  assertClose(r, [0, 30, 0], {}, "maxPool2dGrad overlap");
  const t = cpuOp("maxPool2dGrad", [{ shape: [1, 1, 1, 2], data: [4, 4] }, { shape: [1, 1, 1, 1], data: [7] }], {
    kernel: [1, 2],
  });
  assertClose(t, [7, 0], {}, "maxPool2dGrad tie");
});

Deno.test("pooling VJPs match finite differences (float64)", () => {
  for (const c of CASES) {
    checkVjp("maxPool2d", [distinct(c.x, 1)], c.a);
    checkVjp("avgPool2d", [distinct(c.x, 2)], c.a);
    checkVjp("avgPool2dGrad", [distinct(c.out, 3)], { ...c.a, inShape: c.x });
  }
  checkVjp("globalAvgPool", [distinct([2, 3, 7, 9], 6)]);
});

Deno.test("pooling on the GPU matches float64", async () => {
  for (const c of CASES) {
    const x = distinct(c.x, 7), g = distinct(c.out, 8);
    const ops: [string, typeof x[], Record<string, unknown>][] = [
      ["maxPool2d", [x], c.a],
      ["maxPool2dGrad", [x, g], c.a],
      ["avgPool2d", [x], c.a],
      ["avgPool2dGrad", [g], { ...c.a, inShape: c.x }],
    ];
    for (const [op, args, a] of ops) {
      assertClose(await runOpGPU(op, args, a), cpuOp(op, args, a), {}, `${op} ${c.name}`);
    }
  }
  const x = distinct([2, 3, 7, 9], 9);
  assertClose(await runOpGPU("globalAvgPool", [x]), cpuOp("globalAvgPool", [x]), {}, "globalAvgPool");
});

Deno.test("pooling backward through autodiff: GPU gradient equals the float64 one", async () => {
  // loss = Σ r ⊙ globalAvgPool(avgPool(maxPool(x))): every pooling VJP, chained
  const g = new Graph();
  const x = g.input("x", [2, 3, 9, 11]);
  const y = x.op("maxPool2d", [], { kernel: 3, stride: 2, pad: 1 }).op("avgPool2d", [], { kernel: 2, stride: 1 }).op(
    "globalAvgPool",
  );
  const r = g.input("r", y.shape);
  const [dx] = grad(g, y.mul(r).sum(), [x]);
  g.output("dx", dx!);
  const leaves = new Map([["x", distinct([2, 3, 9, 11], 10).data], ["r", distinct([...y.shape], 11).data]]);
  const want = evaluate(g, { leaves, scalars: {} })[dx!.id];
  assertClose((await runGraphGPU(g, leaves)).get("dx")!, want, {}, "dx");
});

Deno.test("max-pool gradient over windows that tile the map: one pass, ties to the first pixel as in float64", async () => {
  // values with many ties (0, 1, 2 repeating), sides not multiples of the stride (zeros past the last window)
  // (an even width takes the vec2-row kernels)
  for (const [shape, kernel] of [[[2, 3, 7, 9], 2], [[1, 2, 7, 6], 3], [[2, 3, 7, 8], 2]] as [number[], number][]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = { shape, data: Float64Array.from({ length: n }, (_, i) => (i * 7) % 3) };
    const out = [shape[0], shape[1], Math.floor(shape[2] / kernel), Math.floor(shape[3] / kernel)];
    const g = distinct(out, 12);
    const a = { kernel };
    const lowering = OPS.maxPool2dGrad.kernel!({
      inShapes: [shape, out],
      outShape: shape,
      attrs: a,
      scalar: () => "0.0",
      scalarU32: () => "0u",
      features: { subgroups: false, f16: false },
    });
    if (lowering.passes.length !== 1) throw new Error(`${lowering.passes.length} passes for ${kernel}×${kernel} tiles`);
    const pairs = kernel === 2 && shape[3] % 2 === 0;
    const label = lowering.passes[0].label ?? "";
    if (label.includes("pairs") !== pairs) throw new Error(`[${shape}]: ${label}`);
    assertClose(
      await runOpGPU("maxPool2dGrad", [x, g], a),
      cpuOp("maxPool2dGrad", [x, g], a),
      {},
      `[${shape}] k${kernel}`,
    );
  }
});

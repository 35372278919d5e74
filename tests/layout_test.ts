// reshape, transpose, slice, concat, gather / scatterAddRows, writeRows: float64 references
// against explicit index maths, shape errors, VJPs by finite differences, WGSL kernels vs
// float64, forward and backward.
import { evaluate } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { concat } from "../ir/tensor.ts";
import { ShapeError } from "../kernels/op.ts";
import { foldWorkgroups } from "../kernels/wgsl/workgroups.ts";
import { type Arg, assertClose, checkVjp, cpuOp, rand, randArg } from "./util/check.ts";
import { gpuBackward, runOpGPU } from "./util/gpu.ts";

function assertEquals(a: unknown, b: unknown): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
  }
}
function assertThrows(f: () => unknown, msg: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ShapeError) || !e.message.includes(msg)) throw new Error(`wrong error: ${e}`);
    return;
  }
  throw new Error(`expected a ShapeError containing '${msg}'`);
}

const S = [7, 13, 5];
const x = rand(7 * 13 * 5, 5);
const X = { shape: S, data: x };
/** rows [r0, r1) of a row-major [R, d] array */
const rowsOf = (a: ArrayLike<number>, d: number, r0: number, r1 = r0 + 1) => Array.from(a).slice(r0 * d, r1 * d);

Deno.test("transpose moves element (i,j,k) to its permuted place", () => {
  const y = cpuOp("transpose", [X], { perm: [2, 0, 1] }); // [5, 7, 13]
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 13; j++) {
      for (let k = 0; k < 5; k++) {
        if (y[(k * 7 + i) * 13 + j] !== x[(i * 13 + j) * 5 + k]) throw new Error(`transpose wrong at ${i},${j},${k}`);
      }
    }
  }
});

Deno.test("slice and concat pick and join blocks along an axis", () => {
  const s = cpuOp("slice", [X], { axis: 1, start: 3, end: 11 }); // [7, 8, 5]
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 8; j++) {
      for (let k = 0; k < 5; k++) {
        if (s[(i * 8 + j) * 5 + k] !== x[(i * 13 + j + 3) * 5 + k]) throw new Error(`slice wrong at ${i},${j},${k}`);
      }
    }
  }
  const a = randArg([3, 2, 5], 1), b = randArg([3, 4, 5], 2);
  const c = cpuOp("concat", [a, b, randArg([3, 1, 5], 3)], { axis: 1 }); // [3, 7, 5]
  const third = rand(15, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 7; j++) {
      for (let k = 0; k < 5; k++) {
        const want = j < 2 ? a.data[(i * 2 + j) * 5 + k] : j < 6 ? b.data[(i * 4 + j - 2) * 5 + k] : third[i * 5 + k];
        if (c[(i * 7 + j) * 5 + k] !== want) throw new Error(`concat wrong at ${i},${j},${k}`);
      }
    }
  }
});

Deno.test("gather picks rows; scatterAddRows sums rows into their index, repeats included", () => {
  const t = randArg([6, 3, 2], 4), idx = { shape: [5], data: [4, 0, 4, 5, 2] };
  const y = cpuOp("gather", [t, idx]);
  idx.data.forEach((r, b) => assertClose(rowsOf(y, 6, b), rowsOf(t.data, 6, r), { rtol: 0 }, "gather"));
  const src = randArg([5, 3, 2], 5);
  const z = cpuOp("scatterAddRows", [src, idx], { rows: 6 });
  const row = (r: number) => rowsOf(z, 6, r);
  const srow = (b: number) => rowsOf(src.data, 6, b);
  assertClose(row(4), srow(0).map((v, j) => v + srow(2)[j]), { rtol: 1e-15 }, "repeated index");
  assertClose(row(1), [0, 0, 0, 0, 0, 0], { rtol: 0 }, "untouched row");
  assertClose(row(5), srow(3), { rtol: 0 }, "row 5");
});

Deno.test("writeRows is a FIFO write that wraps around the queue", () => {
  const base = randArg([7, 3], 1), rows = randArg([3, 3], 2);
  for (const start of [0, 2, 5, 6, 19]) {
    const y = cpuOp("writeRows", [base, rows], { start: "qpos" }, { qpos: start });
    for (let k = 0; k < 7; k++) {
      const rel = (k - (start % 7) + 7) % 7;
      const want = rel < 3 ? rowsOf(rows.data, 3, rel) : rowsOf(base.data, 3, k);
      assertClose(rowsOf(y, 3, k), want, { rtol: 0 }, `start ${start} row ${k}`);
    }
  }
});

Deno.test("layout shape rules and clear errors", () => {
  const g = new Graph();
  const t = g.input("x", S);
  assertEquals(t.reshape([13, 35]).shape, [13, 35]);
  assertEquals(t.transpose([1, 2, 0]).shape, [13, 5, 7]);
  assertEquals(t.T.shape, [7, 5, 13]);
  assertEquals(t.slice(-1, 1, 4).shape, [7, 13, 3]);
  assertEquals(concat([t, t.slice(0, 0, 2)], 0).shape, [9, 13, 5]);
  const tab = g.input("tab", [11, 4]), idx = g.input("idx", [6]);
  assertEquals(g.add("gather", [tab, idx]).shape, [6, 4]);
  assertEquals(g.add("scatterAddRows", [g.input("src", [6, 4]), idx], { rows: 11 }).shape, [11, 4]);
  assertEquals(g.add("writeRows", [tab, g.input("new", [3, 4])], { start: "q" }).shape, [11, 4]);
  assertThrows(() => t.reshape([7, 64]), "cannot reshape [7, 13, 5] (455 elements) to [7, 64]");
  assertThrows(() => t.transpose([0, 0, 1]), "not a permutation");
  assertThrows(() => t.slice(1, 5, 14), "range [5, 14)");
  assertThrows(() => concat([t, g.input("y", [7, 12, 5])], 0), "differ outside axis 0");
  assertThrows(() => g.add("gather", [tab, g.input("i2", [6, 1])]), "indices must be 1-D");
  assertThrows(
    () => g.add("scatterAddRows", [g.input("s5", [5, 4]), idx], { rows: 11 }),
    "5 rows but there are 6 indices",
  );
  assertThrows(() => g.add("writeRows", [tab, g.input("big", [12, 4])], { start: "q" }), "cannot write 12 rows");
  assertThrows(() => g.add("writeRows", [tab, g.input("n2", [3, 4])], { start: 3 }), "must name a per-step scalar");
  assertThrows(
    () => cpuOp("gather", [randArg([3, 2]), { shape: [2], data: [1, 3] }]),
    "index 3 is not an integer row in [0, 3)",
  );
});

Deno.test("layout VJPs match finite differences", () => {
  checkVjp("reshape", [X], { shape: [13, 35] });
  checkVjp("transpose", [X], { perm: [2, 0, 1] });
  checkVjp("transpose", [X], { perm: [1, 0, 2] });
  for (const [start, end] of [[0, 4], [3, 11], [9, 13], [0, 13]]) checkVjp("slice", [X], { axis: 1, start, end });
  checkVjp("slice", [X], { axis: 2, start: 1, end: 4 });
  checkVjp("concat", [randArg([3, 2, 5], 1), randArg([3, 4, 5], 2), randArg([3, 1, 5], 3)], { axis: 1 });
  checkVjp("concat", [randArg([2, 3], 1), randArg([5, 3], 2)], { axis: 0 });
  const idx = { shape: [5], data: [4, 0, 4, 5, 2] };
  checkVjp("gather", [randArg([6, 3, 2], 4), idx], {}, { wrt: [0] });
  checkVjp("scatterAddRows", [randArg([5, 3, 2], 4), idx], { rows: 6 }, { wrt: [0] });
});

// ---- GPU (WGSL) vs float64 ----------------------------------------------------------------

Deno.test("slices put back together in order are the tensor itself; anything else is a concat", () => {
  const g = new Graph();
  const x = g.input("x", [6, 2]), [a, b, c] = [[0, 2], [2, 5], [5, 6]].map(([s, e]) => x.slice(0, s, e));
  if (concat([a, b, c], 0).id !== x.id) throw new Error("the three slices of x rejoined are not x");
  for (const [what, parts] of [["out of order", [b, a, c]], ["a gap", [a, c]], ["not to the end", [a, b]]] as const) {
    if (g.nodes[concat([...parts], 0).id].op !== "concat") throw new Error(`${what}: not a concat`);
  }
});

Deno.test("gradients of slices that tile a tensor join as one concat; overlapping ones add", () => {
  for (
    const [cuts, joined] of [[[[0, 2], [2, 5]], true], [[[0, 3], [2, 5]], false], [[[1, 2], [3, 5]], true]] as const
  ) {
    const g = new Graph();
    const x = g.input("x", [5, 3]), r = g.input("r", [5, 3]);
    // each slice weighted by its rows of r, so the gradient is r where a slice covers x, summed over overlaps
    const loss = cuts.map(([a, b]) => x.slice(0, a, b).mul(r.slice(0, a, b)).sum()).reduce((p, q) => p.add(q));
    const [dx] = grad(g, loss, [x]);
    const node = g.nodes[dx!.id];
    if ((node.op === "concat" && node.inputs.every((i) => g.nodes[i].op !== "concat")) !== joined) {
      throw new Error(`${JSON.stringify(cuts)}: gradient is ${node.op} of ${node.inputs.map((i) => g.nodes[i].op)}`);
    }
    const rv = rand(15, 4, -1, 1);
    const got = evaluate(g, { leaves: new Map([["x", rand(15, 3, -1, 1)], ["r", rv]]), scalars: {} })[dx!.id];
    const want = rv.map((v, i) => v * cuts.filter(([a, b]) => Math.floor(i / 3) >= a && Math.floor(i / 3) < b).length);
    assertClose(got, want, { rtol: 1e-15, atol: 0 }, JSON.stringify(cuts));
  }
});

Deno.test("GPU layout kernels match float64 exactly", async () => {
  const same = async (op: string, args: Arg[], attrs = {}, scalars = {}) => {
    assertClose(await runOpGPU(op, args, attrs, scalars), cpuOp(op, args, attrs, scalars).map(Math.fround), {
      rtol: 0,
      atol: 0,
    }, `${op} ${JSON.stringify(attrs)}`);
  };
  await same("transpose", [X], { perm: [2, 0, 1] });
  await same("transpose", [randArg([37, 53], 2)], { perm: [1, 0] });
  // 4×4 vec4 tiles: 2-D, N-D with untouched axes, and size-1 axes squeezed out
  await same("transpose", [randArg([8, 12], 2)], { perm: [1, 0] });
  await same("transpose", [randArg([3, 8, 5, 12], 2)], { perm: [0, 3, 2, 1] });
  await same("transpose", [randArg([2, 1, 8, 4], 2)], { perm: [3, 1, 0, 2] });
  await same("slice", [X], { axis: 1, start: 3, end: 11 });
  await same("slice", [X], { axis: 0, start: 6, end: 7 });
  await same("concat", [randArg([3, 2, 5], 1), randArg([3, 4, 5], 2), randArg([3, 1, 5], 3)], { axis: 1 });
  const idx = { shape: [9], data: [4, 0, 4, 5, 2, 2, 2, 10, 0] };
  await same("gather", [randArg([11, 3, 7], 4), idx]);
  await same("writeRows", [randArg([11, 7], 1), randArg([4, 7], 2)], { start: "qpos" }, { qpos: 9 });
  await same("writeRows", [randArg([11, 7], 1), randArg([4, 7], 2)], { start: "qpos" }, { qpos: 2 });
  // scatter-add sums in a different order than float64: compare with a tolerance
  const src = randArg([9, 3, 7], 5);
  assertClose(
    await runOpGPU("scatterAddRows", [src, idx], { rows: 11 }),
    cpuOp("scatterAddRows", [src, idx], { rows: 11 }),
    { rtol: 1e-6, atol: 1e-7 },
    "scatterAddRows",
  );
});

Deno.test("GPU reshape is a view: values pass through unchanged", async () => {
  assertClose(
    await runOpGPU("reshape", [X], { shape: [35, 13] }),
    Float32Array.from(x),
    { rtol: 0, atol: 0 },
    "reshape",
  );
});

Deno.test("GPU backward of transpose/slice/concat/gather matches the float64 backward", async () => {
  await gpuBackward("transpose", [X], { perm: [2, 0, 1] }, [0]);
  await gpuBackward("slice", [X], { axis: 1, start: 3, end: 11 }, [0]);
  await gpuBackward("concat", [randArg([3, 2, 5], 1), randArg([3, 4, 5], 2)], { axis: 1 }, [0, 1]);
  await gpuBackward("gather", [randArg([11, 3, 7], 4), { shape: [9], data: [4, 0, 4, 5, 2, 2, 2, 10, 0] }], {}, [0]);
});

Deno.test("launches past 65535 workgroups fold into x·y and still cover every element once", async () => {
  for (const groups of [1, 65535, 65536, 131071, 1e6]) {
    const [x, y, z] = foldWorkgroups(groups);
    if (x > 65535 || y > 65535 || z !== 1 || x * y < groups || x * (y - 1) >= groups) {
      throw new Error(`foldWorkgroups(${groups}) = ${[x, y, z]}`);
    }
  }
  // a transpose of 2049×2049 = 4 198 401 elements, one thread each in workgroups of 64, needs
  // 65 601 workgroups: the folded launch must write every element exactly where the reference does
  const big = { shape: [2049, 2049], data: rand(2049 * 2049, 11) };
  const got = await runOpGPU("transpose", [big], { perm: [1, 0] });
  const want = cpuOp("transpose", [big], { perm: [1, 0] });
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== Math.fround(want[i])) {
      throw new Error(`transpose of 2049×2049 wrong at ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
});

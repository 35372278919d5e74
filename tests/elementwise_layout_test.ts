// The code paths of generated elementwise kernels (compiler/codegen_ew.ts) and reduction
// prologues (compiler/codegen_reduce.ts), each checked to be the path taken (by its WGSL) and
// against the float64 reference on odd shapes: the rows layout (inputs repeating along the
// leading axes loaded once per column), the vec4 layout (with a partial last vec4, splat
// loads per vec4 or once per invocation, pair loads, per-element vec4 index math), the scalar
// fallback, values hoisted out of the loop.
import { evaluate } from "../cpu/reference.ts";
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { size } from "../kernels/op.ts";
import { assertClose, rand } from "./util/check.ts";
import { getGpu, runGraphGPU } from "./util/gpu.ts";
import { Executable } from "../runtime/executable.ts";

type Layout = "rows" | "vec" | "scalar";

/** The layout the kernel computing `id` was generated with, read off its WGSL. */
function layoutOf(wgsl: string): Layout {
  if (/let c = t % \d+u;/.test(wgsl)) return "rows";
  if (/var<storage, read_write> \w+: array<vec4<f32>>/.test(wgsl)) return "vec";
  return "scalar";
}

/** Leaves with deterministic values for every input of `g` (positive where `pos` lists them). */
function leavesOf(g: Graph, pos: string[] = []): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>();
  g.nodes.forEach((n, k) => {
    if (n.op !== "input") return;
    const name = n.attrs.name as string;
    m.set(name, rand(size(n.shape), 31 + k, pos.includes(name) ? 0.2 : -1, 2));
  });
  return m;
}

/** Compiles, checks the kernel of `out` took `want`, runs it and compares to float64. */
async function check(
  what: string,
  g: Graph,
  out: Tensor,
  want: Layout,
  scalars: Record<string, number> = {},
  pos: string[] = [],
) {
  g.output("out", out);
  const p = compile(g);
  const st = p.steps.find((s) => s.kind === "dispatch" && s.node === out.id);
  if (!st || st.kind !== "dispatch") throw new Error(`${what}: no kernel computes the output`);
  const got = layoutOf(st.pass.wgsl);
  if (got !== want) throw new Error(`${what}: expected the ${want} layout, got ${got}\n${st.pass.wgsl}`);
  const leaves = leavesOf(g, pos);
  const expect = evaluate(g, { leaves, scalars })[out.id];
  const res = (await runGraphGPU(g, leaves, scalars)).get("out")!;
  assertClose(res, expect, { rtol: 2e-6, atol: 2e-6 }, what);
  return st.pass.wgsl;
}

Deno.test("rows layout: inputs repeating along the leading axes, loaded once per column", async () => {
  {
    // 7 rows (a partial block of rows per invocation), 12 columns: [12] and [1, 12] vectors
    const g = new Graph();
    const x = g.input("x", [7, 12]), a = g.input("a", [12]), b = g.input("b", [1, 12]);
    const wgsl = await check("[7, 12]·[12] + [1, 12]", g, x.mul(a).add(b).relu().mul(g.scalar("s")), "rows", {
      s: 0.7,
    });
    // the vectors are read before the row loop
    const loop = wgsl.indexOf("for (");
    for (const m of wgsl.matchAll(/let a\d+ = in\d\[c\]/g)) {
      if (m.index! > loop) throw new Error("vector load inside the loop");
    }
  }
  {
    // two periods: [5, 8] repeats every 40 elements, [8] every 8 (read at c % 2)
    const g = new Graph();
    const x = g.input("x", [3, 5, 8]), p = g.input("p", [5, 8]), q = g.input("q", [8]);
    const wgsl = await check("[3, 5, 8] with [5, 8] and [8]", g, x.sub(p).mul(q).add(p.mul(q)), "rows");
    if (!wgsl.includes("[c % 2u]")) throw new Error("the [8] vector is not read at c % 2");
  }
});

Deno.test("vec4 layout: partial last vec4, single values, splat and per-element vec4 loads, index ops", async () => {
  for (const n of [1, 2, 3, 4099]) {
    const g = new Graph();
    const x = g.input("x", [n]), y = g.input("y", [n]), z = g.input("z", [1]);
    await check(`[${n}] (n % 4 = ${n % 4})`, g, x.mul(y).add(z).sub(g.scalar("s")).abs().sqrt(), "vec", { s: 0.3 });
  }
  {
    // [6, 1] against [6, 8]: four neighbours share one value (splat)
    const g = new Graph();
    const x = g.input("x", [6, 8]), w = g.input("w", [6, 1]);
    await check("[6, 8]·[6, 1]", g, x.mul(w).add(x), "vec");
  }
  {
    // [2, 1, 8] against [2, 3, 8]: contiguous fours, but the index depends on the row (not a repeat)
    const g = new Graph();
    const x = g.input("x", [2, 3, 8]), y = g.input("y", [2, 1, 8]);
    await check("[2, 3, 8] − [2, 1, 8]", g, x.sub(y).square(), "vec");
  }
  {
    // an op reading the element index, per lane: eye over an [8, 12] batch
    const g = new Graph();
    const x = g.input("x", [8, 12]);
    await check("eye [8, 12]", g, x.add(g.add("eye", [], { shape: [8, 12] })), "vec");
  }
  {
    // … and where the last vec4 is partial
    const g = new Graph();
    const x = g.input("x", [5, 7]);
    await check("eye [5, 7]", g, x.mul(g.add("eye", [], { shape: [5, 7] }).add(1)), "vec");
  }
  for (const axis of [0, 1, 2]) {
    // iota: each element's coordinate along one axis (its float64 rule checked against the
    // coordinates themselves first, then the kernel against it)
    const g = new Graph();
    const shape = [3, 5, 7], x = g.input("x", shape);
    const iota = g.add("iota", [], { shape, axis });
    const coords = evaluate(g, { leaves: leavesOf(g), scalars: {} })[iota.id];
    coords.forEach((v, i) => {
      const want = [Math.floor(i / 35), Math.floor(i / 7) % 5, i % 7][axis];
      if (v !== want) throw new Error(`iota axis ${axis} [${i}]: ${v}, want ${want}`);
    });
    await check(`iota [3, 5, 7] axis ${axis}`, g, x.mul(iota.add(1)), "vec");
  }
});

Deno.test("splat inputs are read once per invocation when 4–8 vec4s divide their runs", async () => {
  /** the splat loads of `wgsl` happen before its element loop, which walks `per` vec4s */
  const once = (what: string, wgsl: string, per: number) => {
    const loop = wgsl.indexOf("for (");
    if (!wgsl.includes(`v < min(t * ${per}u + ${per}u,`)) throw new Error(`${what}: not ${per} vec4s:\n${wgsl}`);
    if (/\[j\d+ \/ 4u\]/.test(wgsl.slice(loop))) throw new Error(`${what}: a splat load in the loop:\n${wgsl}`);
  };
  {
    // BatchNorm's apply + ReLU over 28×28: runs of 784 = 196 vec4s, walked 7 at a time
    const g = new Graph();
    const x = g.input("x", [3, 5, 28, 28]), m = g.input("m", [1, 5, 1, 1]), s = g.input("s", [5, 1, 1]);
    const b = g.input("b", [1, 5, 1, 1]);
    once("[3, 5, 28, 28]", await check("[3, 5, 28, 28] per channel", g, x.sub(m).mul(s).add(b).relu(), "vec"), 7);
  }
  {
    // per sample (runs of 3·64) and per channel (64): 8 vec4s divide both
    const g = new Graph();
    const x = g.input("x", [2, 3, 8, 8]), n = g.input("n", [2, 1, 1, 1]), c = g.input("c", [1, 3, 1, 1]);
    once("[2, 3, 8, 8]", await check("[2, 3, 8, 8] per sample and channel", g, x.mul(n).sub(c), "vec"), 8);
  }
  {
    // runs of 12 = 3 vec4s: no count of 4–8 divides them; loaded per vec4, 8 per invocation
    const g = new Graph();
    const x = g.input("x", [4, 6, 12]), y = g.input("y", [4, 6, 1]);
    const wgsl = await check("[4, 6, 12]·[4, 6, 1]", g, x.mul(y).exp(), "vec");
    if (!wgsl.includes("v < min(t * 8u + 8u,") || !/\[j\d+ \/ 4u\]/.test(wgsl.slice(wgsl.indexOf("for (")))) {
      throw new Error(`runs of 3 vec4s: expected per-vec4 splat loads:\n${wgsl}`);
    }
  }
});

Deno.test("a partial last vec4 leaves the padding after the last element untouched", async () => {
  const g = new Graph();
  const x = g.input("x", [5]);
  g.output("y", x.add(1));
  const gpu = await getGpu();
  const p = compile(g);
  const ex = await Executable.create(gpu, p);
  try {
    ex.write("x", Float32Array.of(1, 2, 3, 4, 5));
    ex.run();
    // the buffer holds 8 floats (16-byte rounding); new buffers are zero, x + 1 would give 1
    const [all] = await ex.readMany([[p.outputs.get("y")!.storage, 8]]);
    assertClose(all, [2, 3, 4, 5, 6, 0, 0, 0], { rtol: 0, atol: 0 }, "y with its padding");
  } finally {
    ex.destroy();
  }
});

Deno.test("pair loads: a value repeated over runs of ≥ 3 that are not fours (per channel over 7×7)", async () => {
  {
    // BatchNorm's apply over a 7×7 map: runs of 49, a vec4 straddling two channels every 49
    // elements; 2·3·49 = 294 elements end in a partial vec4
    const g = new Graph();
    const x = g.input("x", [2, 3, 7, 7]), m = g.input("m", [1, 3, 1, 1]), s = g.input("s", [3, 1, 1]);
    const wgsl = await check("[2, 3, 7, 7] per channel", g, x.sub(m).mul(s).relu(), "vec");
    if (!wgsl.includes("select(")) throw new Error(`no pair load:\n${wgsl}`);
  }
  for (const run of [3, 5, 6, 7]) {
    // runs from the shortest that keeps four neighbours within two values
    const g = new Graph();
    const x = g.input("x", [11, run]), y = g.input("y", [11, 1]);
    await check(`[11, ${run}]·[11, 1]`, g, x.mul(y).exp(), "vec");
  }
});

Deno.test("scalar fallback when four neighbours map to neither four inputs nor one", async () => {
  {
    // runs of 2: four neighbours can take three values
    const g = new Graph();
    const x = g.input("x", [5, 2]), y = g.input("y", [5, 1]);
    await check("[5, 2]·[5, 1]", g, x.mul(y).exp(), "scalar");
  }
  {
    const g = new Graph();
    const x = g.input("x", [6, 6]), y = g.input("y", [6]);
    await check("[6, 6]·[6] (period 6)", g, x.mul(y), "scalar");
  }
});

Deno.test("values independent of the element are computed once per invocation, before the loop", async () => {
  const g = new Graph();
  const x = g.input("x", [9, 16]), z = g.input("z", [1]);
  // r depends on z and a step scalar only
  const r = z.mul(g.scalar("s")).add(1).sqrt();
  const wgsl = await check("x·sqrt(z·s + 1)", g, x.mul(r), "vec", { s: 2 }, ["z"]);
  const loop = wgsl.indexOf("for (");
  const sqrt = wgsl.indexOf("sqrt(");
  if (sqrt < 0 || sqrt > loop) throw new Error(`sqrt is evaluated inside the loop:\n${wgsl}`);
});

Deno.test("reduction prologues read by vec4 where they can, element by element where not", async () => {
  const cases: [string, (g: Graph) => Tensor, boolean][] = [
    // column sums (vec4 along the outputs) with a row vector, a splat and a single value
    [
      "sum_0([9, 16]·[16] + [9, 1] + [1])",
      (g) => g.input("x", [9, 16]).mul(g.input("a", [16])).add(g.input("w", [9, 1])).add(g.input("z", [1])).sum([0]),
      true,
    ],
    // row sums (vec4 along the reduction)
    ["max_1([6, 8]·[1])", (g) => g.input("x", [6, 8]).mul(g.input("z", [1])).max([1], true), true],
    ["mean over all of [5, 12]²", (g) => g.input("x", [5, 12]).square().mean(), true],
    // [1, 1, 2] against [5, 6, 2]: pairs, not fours: the scalar prologue
    ["sum_12([5, 6, 2]·[1, 1, 2])", (g) => g.input("x", [5, 6, 2]).mul(g.input("y", [1, 1, 2])).sum([1, 2]), false],
    // odd everything
    ["sum_0([7, 13, 5]·[13, 1])", (g) => g.input("x", [7, 13, 5]).mul(g.input("y", [13, 1])).sum([0, 2]), false],
  ];
  for (const [what, build, vec] of cases) {
    const g = new Graph();
    const out = build(g);
    g.output("out", out);
    const st = compile(g).steps.find((s) => s.kind === "dispatch" && s.node === out.id);
    if (!st || st.kind !== "dispatch") throw new Error(`${what}: no kernel`);
    const isVec = st.pass.wgsl.includes("-> vec4<f32>");
    if (isVec !== vec) throw new Error(`${what}: expected a ${vec ? "vec4" : "scalar"} prologue\n${st.pass.wgsl}`);
    const leaves = leavesOf(g);
    assertClose((await runGraphGPU(g, leaves)).get("out")!, evaluate(g, { leaves, scalars: {} })[out.id], {
      rtol: 1e-5,
      atol: 1e-5,
    }, what);
  }
});

Deno.test("a reduction prologue loads its per-output inputs once per invocation, at the output index", async () => {
  const cases: [string, number[], string][] = [
    // BatchNorm's per-channel sums: vec4 along the reduced H·W, one output per channel
    ["[3, 5, 8, 8] per channel", [3, 5, 8, 8], "[o / 4u][o % 4u]"],
    // 7×7: the scalar prologue
    ["[4, 3, 7, 7] per channel", [4, 3, 7, 7], "[o]"],
  ];
  for (const [what, shape, at] of cases) {
    const g = new Graph();
    const C = shape[1];
    const x = g.input("x", shape), m = g.input("m", [1, C, 1, 1]), s = g.input("s", [C, 1, 1]);
    const out = x.sub(m).mul(s).relu().sum([0, 2, 3], true);
    g.output("out", out);
    const st = compile(g).steps.find((s) => s.kind === "dispatch" && s.node === out.id);
    if (!st || st.kind !== "dispatch") throw new Error(`${what}: no kernel`);
    const wgsl = st.pass.wgsl, pro = wgsl.slice(wgsl.indexOf("fn pro"), wgsl.indexOf("@compute"));
    const once = wgsl.split("\n").filter((l) => /^ {2}let a\d+ = in[12]\[/.test(l) && l.endsWith(`${at};`)).length;
    if (once !== 2 || /\bin[12]\[/.test(pro)) throw new Error(`${what}: m and s not loaded once at ${at}:\n${wgsl}`);
    const leaves = leavesOf(g);
    assertClose((await runGraphGPU(g, leaves)).get("out")!, evaluate(g, { leaves, scalars: {} })[out.id], {
      rtol: 1e-5,
      atol: 1e-5,
    }, what);
  }
});

Deno.test("an elementwise kernel reading a u8 input is refused with the input named", () => {
  const g = new Graph();
  const img = g.input("img", [4, 4], "u8");
  g.output("y", img.reshape([16]).mul(2)); // through a view too
  try {
    compile(g);
  } catch (e) {
    const msg = (e as Error).message;
    if (!msg.includes("'img'") || !msg.includes("u8") || !msg.includes("f32 only")) {
      throw new Error(`unclear error: ${msg}`);
    }
    return;
  }
  throw new Error("compiled an elementwise read of u8 data");
});

// The fusion planner's decisions beyond grouping (compiler/recompute.ts): cheap values are
// recomputed in each reader when that moves fewer bytes, kept when it does not or when the
// readers' elements differ; every stand-alone dispatch says why; BatchNorm-shaped graphs give
// the same numbers as float64 with fewer kernels; short reductions run in one pass; sibling
// reductions of BatchNorm2d's backward share a kernel without changing a bit, and so does an
// optimizer's momentum computed by the parameter update that reads it; the compiler's modules
// import each other without cycles.
import { evaluate } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { batchNorm } from "../nn/batchnorm.ts";
import { compile, type CompileOptions, fusionPlanOf, type Program } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { size } from "../kernels/op.ts";
import { assertClose, rand } from "./util/check.ts";
import { getGpu, runGraphGPU } from "./util/gpu.ts";
import { Executable } from "../runtime/executable.ts";

const N = 37, C = 20;

function leavesOf(g: Graph): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>();
  g.nodes.forEach((n, k) => {
    if (n.op === "input" || n.op === "param") m.set(n.attrs.name as string, rand(size(n.shape), 50 + k, -1, 1));
  });
  return m;
}
const dispatchesOf = (p: Program, node: number) => p.steps.filter((s) => s.kind === "dispatch" && s.node === node);
function why(p: Program, node: number): string {
  const s = dispatchesOf(p, node)[0];
  if (!s || s.kind !== "dispatch") throw new Error(`node ${node} has no dispatch`);
  return s.why ?? "";
}
function expectMatch(text: string, re: RegExp, what: string) {
  if (!re.test(text)) throw new Error(`${what}: '${text}' does not match ${re}`);
}

/** BatchNorm over a batch, as nn/batchnorm.ts composes it, with a forward output and a backward-like reader of x̂. */
function bnGraph() {
  const g = new Graph();
  const x = g.input("x", [N, C]), bias = g.input("bias", [C]);
  const gamma = g.input("gamma", [1, C]), beta = g.input("beta", [1, C]), dy = g.input("dy", [N, C]);
  const h = x.add(bias);
  const mean = h.mean([0], true);
  const xc = h.sub(mean);
  const variance = xc.square().mean([0], true);
  const xhat = xc.mul(variance.add(1e-5).rsqrt());
  const y = xhat.mul(gamma).add(beta).relu();
  const dgamma = dy.mul(xhat).sum([0], true);
  g.output("y", y);
  g.output("dgamma", dgamma);
  return { g, h, xc, xhat, y, dgamma };
}

Deno.test("BatchNorm: x + b, x − mean and x̂ are recomputed in their readers, not stored", async () => {
  const { g, h, xc, xhat, y, dgamma } = bnGraph();
  const { plan } = fusionPlanOf(g);
  for (const [t, name] of [[h, "x + b"], [xc, "x − mean"], [xhat, "x̂"]] as [Tensor, string][]) {
    if (plan.materialized.has(t.id)) throw new Error(`${name} is materialised: ${plan.why.get(t.id)}`);
  }
  // x̂ is evaluated in the forward output's kernel and in the dγ reduction's loop
  const ks = plan.kernelsOf.get(xhat.id)!;
  if (!ks.includes(y.id) || !ks.includes(dgamma.id)) throw new Error(`x̂ is evaluated in kernels ${ks}`);
  const leaves = leavesOf(g);
  const want = evaluate(g, { leaves, scalars: {} });
  for (const reuse of [true, false]) {
    const got = await runGraphGPU(g, leaves, {}, { reuse });
    assertClose(got.get("y")!, want[y.id], { rtol: 1e-4, atol: 1e-5 }, `y, reuse ${reuse}`);
    assertClose(got.get("dgamma")!, want[dgamma.id], { rtol: 1e-4, atol: 1e-4 }, `dγ, reuse ${reuse}`);
  }
  // four passes: mean, variance, the [1, C] rsqrt, y; dγ — against nine before recomputation
  const p = compile(g);
  const n = p.stats.dispatches;
  if (n !== 5) throw new Error(`expected 5 dispatches, got ${n}: ${p.steps.map((s) => s.label).join(" | ")}`);
});

Deno.test("recomputation is decided by bytes: three readers take it, four keep it", () => {
  for (const readers of [3, 4]) {
    const g = new Graph();
    const a = g.input("a", [N, C]), b = g.input("b", [N, C]);
    const ab = a.mul(b);
    // each reader is pinned and reads one more full-size input of its own
    for (let k = 0; k < readers; k++) g.output(`o${k}`, ab.add(g.input(`z${k}`, [N, C])));
    const p = compile(g);
    const { plan } = fusionPlanOf(g);
    // recompute: each reader reads a and b (2 values) instead of ab (1): `readers` extra values;
    // keep: write ab, read it `readers` times, read a and b once: readers + 3 values
    if (readers === 3) {
      if (plan.materialized.has(ab.id)) throw new Error(`3 readers: a·b materialised (${plan.why.get(ab.id)})`);
      if (p.stats.dispatches !== 3) throw new Error(`3 readers: ${p.stats.dispatches} dispatches`);
    } else {
      if (!plan.materialized.has(ab.id)) throw new Error("4 readers: a·b recomputed");
      expectMatch(
        why(p, ab.id),
        /^4 consumers in different kernels: add #\d+, add #\d+, add #\d+, add #\d+; recomputing in each would read 23\.1 KiB, materialising moves 20\.2 KiB$/,
        "4 readers",
      );
    }
  }
});

Deno.test("sums of one 4-D shape over the same axes count as one reader where they can share a kernel", async () => {
  // BatchNorm2d's backward: per-channel sums of a·b (times one map each) and one kernel reading
  // a·b. Counted as five readers, a·b would stay (recomputing reads a and b five times: 10 maps,
  // against 8 to materialise); as the kernels they become, it is recomputed. With 16 storage
  // buffers the four sums fit one kernel; with 8 (a, b, the maps, an output each) two: three
  // and one (recomputing then reads 6 maps, as many as materialising moves).
  for (const [maxStorageBuffers, sumKernels] of [[16, 1], [8, 2]]) {
    const g = new Graph();
    const shape = [3, 5, 6, 7];
    const a = g.input("a", shape), b = g.input("b", shape), ab = a.mul(b);
    // (an output is pinned to its own kernel: the sums meet in a per-channel combination)
    const sums = [0, 1, 2, 3].map((k) => ab.mul(g.input(`z${k}`, shape)).sum([0, 2, 3], true));
    const t = sums[0].add(sums[1].mul(2)).add(sums[2].mul(3)).add(sums[3].mul(4));
    g.output("t", t);
    g.output("y", ab.add(g.input("w", shape)));
    const { plan } = fusionPlanOf(g, true, maxStorageBuffers);
    if (plan.materialized.has(ab.id)) throw new Error(`a·b materialised: ${plan.why.get(ab.id)}`);
    const p = compile(g, { maxStorageBuffers });
    const sumKernelsRun = p.steps.filter((s) =>
      s.kind === "dispatch" && /^(siblings\[)?sum/.test(s.label ?? "")
    ).length;
    if (sumKernelsRun !== sumKernels) throw new Error(`the sums: ${p.steps.map((s) => s.label).join(" | ")}`);
    const leaves = leavesOf(g), want = evaluate(g, { leaves, scalars: {} });
    const got = await runGraphGPU(g, leaves, {}, { maxStorageBuffers });
    assertClose(got.get("t")!, want[t.id], { rtol: 1e-4, atol: 1e-4 }, `t, ${maxStorageBuffers} buffers`);
  }
});

Deno.test("a vector read by larger kernels stays materialised; a single value is recomputed once per invocation", () => {
  const g = new Graph();
  const x = g.input("x", [N, C]), m = g.input("m", [1, C]);
  const v = m.mul(2).exp();
  g.output("p", x.mul(v));
  g.output("q", x.add(v).sum([0]));
  // a single value (a LARS-style ratio) read by two kernels of [N, C]
  const r = x.square().sum().sqrt().mul(0.5);
  g.output("s", x.mul(r).add(1));
  g.output("t", x.sub(r).relu());
  const p = compile(g);
  const { plan } = fusionPlanOf(g);
  expectMatch(
    why(p, v.id),
    /^shape \[1, 20\] differs from consumer (mul|sum) #\d+'s \[37, 20\] \(recomputing would repeat it per element\)$/,
    "[1, C]",
  );
  if (plan.materialized.has(r.id)) throw new Error(`the ratio is materialised: ${plan.why.get(r.id)}`);
  for (const s of p.steps) {
    if (s.kind !== "dispatch" || !s.pass.wgsl.includes("sqrt(")) continue;
    const wgsl = s.pass.wgsl;
    if (wgsl.indexOf("sqrt(") > wgsl.indexOf("for (")) {
      throw new Error(`${s.label}: the ratio is computed per element\n${wgsl}`);
    }
  }
});

Deno.test("every stand-alone elementwise kernel and reduction pass says why; other kernels do not", async () => {
  const g = new Graph();
  const x = g.input("x", [N, 12]), w = g.param("w", [12, 8], { kind: "normal", std: 0.1 });
  const h = x.matmul(w).relu(); // read by the matmul below: must be stored
  const o = h.matmul(g.input("v", [8, 5]));
  const colsum = o.sum([0]); // reads a matmul output
  const long = g.input("big", [3000, 2]).sum([0]); // 3000 rows: two passes
  g.output("loss", o.square().mean().add(colsum.sum()).add(long.sum()));
  g.assign(w, w.mul(0.5));
  const p = compile(g);
  for (const s of p.steps) {
    if (s.kind !== "dispatch") continue;
    const standAlone = s.label.startsWith("fused[") || /^(sum|mean|max)( |$)/.test(s.label);
    if (standAlone && !s.why) throw new Error(`'${s.label}' stands alone without a reason`);
    if (!standAlone && s.why) throw new Error(`'${s.label}' has a reason: ${s.why}`);
  }
  expectMatch(why(p, h.id), /^read by matmul #\d+$/, "relu before a matmul");
  expectMatch(why(p, colsum.id), /^input is the output of matmul #\d+$/, "column sums of a matmul");
  const passes = dispatchesOf(p, long.id);
  if (passes.length !== 2) throw new Error(`a 3000-row sum took ${passes.length} passes`);
  expectMatch((passes[1] as { why?: string }).why ?? "", /^second pass: /, "second pass");
  expectMatch(why(p, g.outputs.get("loss")!), /^output pinned \(graph output 'loss'\)$/, "loss");
  // the update is written in place, and its kernel says what it is
  const upd = g.updates[0].value;
  expectMatch(why(p, upd), /^output pinned \(new value of 'w'\)$/, "update");
  const st = dispatchesOf(p, upd)[0];
  if (st.kind !== "dispatch" || st.storages[st.pass.bindings.findIndex((b) => b.write)] !== p.persistent.get("w")) {
    throw new Error("the update of w is not written in place");
  }
  if (p.steps.some((s) => s.kind === "copy")) throw new Error("an update was copied");
  const leaves = leavesOf(g);
  const want = evaluate(g, { leaves, scalars: {} });
  assertClose(
    (await runGraphGPU(g, leaves)).get("loss")!,
    want[g.outputs.get("loss")!],
    { rtol: 1e-4, atol: 1e-4 },
    "loss",
  );
});

Deno.test("a batch of 256 rows is summed in one pass; the reduction reads its input's producer inline", () => {
  const g = new Graph();
  const d = g.input("d", [256, 64]), m = g.input("m", [256, 64]);
  const s = d.mul(m).sum([0]);
  g.output("s", s);
  const p = compile(g);
  if (p.stats.dispatches !== 1) {
    throw new Error(`${p.stats.dispatches} dispatches: ${p.steps.map((x) => x.label).join(" | ")}`);
  }
});

Deno.test("an update written in place is not read by a later kernel that recomputes from the old value", async () => {
  // w's new value is w − 0.1·g; a value computed from the old w is read by two later kernels,
  // so recomputing it there would read the overwritten buffer unless the update is copied
  const g = new Graph();
  const w = g.param("w", [N, C], { kind: "normal", std: 1 });
  const x = g.input("x", [N, C]);
  const old = w.mul(x);
  const next = w.sub(x.mul(0.1));
  g.assign(w, next);
  g.output("a", old.add(1).exp().sum());
  g.output("b", old.mul(3).sum([0]));
  const leaves = leavesOf(g);
  const want = evaluate(g, { leaves, scalars: {} });
  const got = await runGraphGPU(g, leaves);
  assertClose(got.get("a")!, want[g.outputs.get("a")!], { rtol: 1e-5, atol: 1e-5 }, "a");
  assertClose(got.get("b")!, want[g.outputs.get("b")!], { rtol: 1e-5, atol: 1e-5 }, "b");
});

Deno.test("the compiler's modules import each other without cycles", async () => {
  const dir = new URL("../compiler/", import.meta.url);
  const edges = new Map<string, string[]>();
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    edges.set(e.name, [...text.matchAll(/from "\.\/([\w.]+\.ts)"/g)].map((m) => m[1]));
  }
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") throw new Error(`import cycle: ${[...path, f].join(" → ")}`);
    state.set(f, "open");
    for (const t of edges.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of edges.keys()) visit(f, []);
});

Deno.test("a kernel never binds more buffers than the device allows: a sum of 40 inputs becomes a tree of kernels, same value", async () => {
  const g = new Graph();
  const xs = Array.from({ length: 40 }, (_, i) => g.input(`x${i}`, [3, 5]));
  g.output("y", xs.map((x, i) => x.mul(i + 1)).reduce((a, b) => a.add(b)).relu());
  const leaves = new Map(xs.map((_, i) => [`x${i}`, rand(15, 700 + i)] as [string, Float64Array]));
  const want = evaluate(g, { leaves, scalars: {} })[g.outputs.get("y")!];
  for (const limit of [4, 8, 16]) {
    const p = compile(g, { features: { subgroups: false, f16: false }, maxStorageBuffers: limit });
    const widest = Math.max(...p.steps.map((s) => (s.kind === "dispatch" ? s.storages.length : 0)));
    if (widest > limit) throw new Error(`limit ${limit}: a dispatch binds ${widest} buffers`);
    if (p.stats.dispatches < Math.ceil(40 / (limit - 1))) {
      throw new Error(`limit ${limit}: only ${p.stats.dispatches} dispatches`);
    }
    const got = (await runGraphGPU(g, leaves, {}, { maxStorageBuffers: limit })).get("y")!;
    assertClose(got, want, { rtol: 1e-5, atol: 1e-5 }, `sum of 40 inputs, limit ${limit}`);
  }
});

Deno.test("a kernel that cannot be cut (one op reading too many buffers) does not stop later wide kernels from being cut", () => {
  const g = new Graph();
  const [c, a, b, x, y, z] = ["c", "a", "b", "x", "y", "z"].map((n) => g.input(n, [4, 8]));
  // built in this order, the planner meets the uncuttable kernel first
  g.output("s", x.add(y).add(z)); // two adds reading 3 buffers: one of them can go to its own kernel
  g.output("w", c.where(a, b)); // one op reading 3 buffers: nothing to cut
  const p = compile(g, { features: { subgroups: false, f16: false }, maxStorageBuffers: 3 });
  const reads = p.steps.flatMap((s) => (s.kind === "dispatch" && s.label.includes("add") ? [s.storages.length] : []));
  if (reads.length === 0 || Math.max(...reads) > 3) {
    throw new Error(`the add kernels bind ${reads.join(", ")} buffers (at most 3 allowed)`);
  }
});

Deno.test("BatchNorm2d: its sums over [N, H, W] share kernels (the variance after the mean) with their per-channel epilogues; float64 gradients, bit for bit as apart", async () => {
  // [8, 4, 32, 32]: 2048 vec4 units per channel, split in two passes; [2, 4, 4, 4]: one pass,
  // where the variance (centred on the mean) is folded after the mean in the mean's kernel.
  // The per-channel factors after the sums (rsqrt(var + ε), the backward's) are epilogues.
  for (const shape of [[8, 4, 32, 32], [2, 4, 4, 4]]) {
    const g = new Graph();
    const x = g.input("x", shape);
    const y = batchNorm(x, "bn").relu();
    const r = g.input("r", y.shape);
    const w = g.nodes.find((n) => n.attrs.name === "bn.weight")!, b = g.nodes.find((n) => n.attrs.name === "bn.bias")!;
    const [dx, dw, db] = grad(g, y.mul(r).sum(), [x, g.t(w.id), g.t(b.id)]);
    g.output("dx", dx!);
    g.output("dw", dw!);
    g.output("db", db!);
    // the running statistics' new values (computed in an epilogue, then written to the state)
    const stats = g.updates.map((u) => [g.nodes[u.target].attrs.name as string, g.t(u.value)] as const);
    for (const [name, t] of stats) g.output(name, t);
    const leaves = leavesOf(g);
    leaves.set("r", rand(size(shape), 7, -1, 1));
    leaves.set("bn.weight", rand(shape[1], 8, 0.5, 1.5));
    leaves.set("bn.bias", rand(shape[1], 9, -0.5, 0.5));
    leaves.set("bn.running_mean", new Float64Array(shape[1]));
    leaves.set("bn.running_var", new Float64Array(shape[1]).fill(1));
    const together = compile(g), apart = compile(g, { siblings: false });
    const shared = together.steps.filter((s) => s.kind === "dispatch" && s.label.startsWith("siblings["));
    const epilogues = together.steps.filter((s) => s.kind === "dispatch" && s.label.includes(" + fused["));
    if (!shared.length || !epilogues.length || together.stats.dispatches >= apart.stats.dispatches) {
      throw new Error(
        `[${shape}]: ${together.stats.dispatches} dispatches with siblings, ${apart.stats.dispatches} apart`,
      );
    }
    const statsInOne = together.steps.filter((s) =>
      s.kind === "dispatch" && s.label.startsWith("siblings[mean, mean∘fused[stopGrad], mean∘fused[sub,square]]")
    );
    if (statsInOne.length !== (shape[0] === 2 ? 1 : 0)) {
      throw new Error(`[${shape}]: ${statsInOne.length} kernels fold the mean and then the variance`);
    }
    const want = evaluate(g, { leaves, scalars: {} });
    const got = await runGraphGPU(g, leaves), alone = await runGraphGPU(g, leaves, {}, { siblings: false });
    for (const [name, t] of [["dx", dx!], ["dw", dw!], ["db", db!], ...stats] as const) {
      assertClose(got.get(name)!, want[t.id], { rtol: 1e-4, atol: 1e-5 }, `[${shape}] ${name}`);
      const a = alone.get(name)!, s = got.get(name)!;
      const differ = a.findIndex((v, i) => !Object.is(v, s[i]));
      if (differ >= 0) throw new Error(`[${shape}] ${name}[${differ}]: ${s[differ]} together, ${a[differ]} apart`);
    }
  }
});

Deno.test("a pointwise op on a reshape of an elementwise value is built at that value's shape, where its other inputs map", () => {
  const g = new Graph();
  const a5 = g.input("a", [2, 3, 4, 2, 2]).mul(2), w = g.input("w", [1, 4, 1, 1]), s = g.input("s", [6, 4, 2, 2]);
  const a4 = a5.reshape([6, 4, 2, 2]);
  // relu, a per-channel scale and a full-size add: each at [2, 3, 4, 2, 2], the reshape after them
  const y = a4.relu().mul(w).add(s);
  const chain: string[] = [];
  for (let n = g.nodes[y.id]; n.op === "reshape" || n.shape.length === 5; n = g.nodes[n.inputs[0]]) {
    chain.push(`${n.op} [${n.shape}]`);
    if (n.op === "relu") break;
  }
  const want = ["reshape [6,4,2,2]", "add [2,3,4,2,2]", "mul [2,3,4,2,2]", "relu [2,3,4,2,2]"];
  if (chain.join() !== want.join()) throw new Error(`built as ${chain.join(" ← ")}`);
  const leaves = leavesOf(g);
  const v = evaluate(g, { leaves, scalars: {} })[y.id];
  const [av, wv, sv] = ["a", "w", "s"].map((k) => leaves.get(k)!);
  v.forEach((got, i) => {
    const ref = Math.max(2 * av[i], 0) * wv[Math.floor(i / 4) % 4] + sv[i];
    if (Math.abs(got - ref) > 1e-15) throw new Error(`[${i}]: ${got}, want ${ref}`);
  });
  // a reshape that also splits the last axes: an input broadcast along them cannot follow, nothing moves
  const b = g.input("b", [2, 3, 8]).mul(2).reshape([3, 2, 8]).add(g.input("c", [1, 2, 8]));
  if (g.nodes[b.id].op !== "add" || g.nodes[b.id].shape.join() !== "3,2,8") throw new Error("the add moved");
  // a reshape to more axes stays where it is
  const up = g.input("u", [6, 4]).mul(2).reshape([2, 3, 4]).relu();
  if (g.nodes[up.id].op !== "relu") throw new Error("a pointwise op moved before a reshape that adds axes");
});

Deno.test("BatchNorm2d over stacked views: scale, shift, residual add and ReLU stay one kernel; GPU = float64", async () => {
  const build = (groups: number) => {
    const g = new Graph();
    const shape = [4 * groups, 8, 6, 6];
    const x = g.input("x", shape), s = g.input("s", shape), r = g.input("r", shape);
    const y = batchNorm(x, "bn", { groups }).add(s).relu();
    const w = g.nodes.find((n) => n.attrs.name === "bn.weight")!;
    const [dx, dw, ds] = grad(g, y.mul(r).sum(), [x, g.t(w.id), s]);
    const outs: [string, Tensor][] = [["y", y], ["dx", dx!], ["dw", dw!], ["ds", ds!]];
    for (const u of g.updates) outs.push([g.nodes[u.target].attrs.name as string, g.t(u.value)]);
    for (const [k, t] of outs) g.output(k, t);
    return { g, outs, program: compile(g) };
  };
  const one = build(1), two = build(2);
  for (const { program } of [one, two]) {
    if (!program.steps.some((s) => s.kind === "dispatch" && s.label.startsWith("fused[mul,mul,add,add,relu]"))) {
      throw new Error("BN's scale and shift, the residual add and the ReLU are not one kernel");
    }
  }
  // two views as one: the per-view statistics cost a few kernels, not a second BN
  if (two.program.stats.dispatches > one.program.stats.dispatches + 3) {
    throw new Error(`stacked: ${two.program.stats.dispatches} dispatches, one view ${one.program.stats.dispatches}`);
  }
  const leaves = leavesOf(two.g);
  leaves.set("bn.running_mean", rand(8, 3, -1, 1));
  leaves.set("bn.running_var", rand(8, 4, 0.5, 1.5));
  const want = evaluate(two.g, { leaves, scalars: {} });
  const got = await runGraphGPU(two.g, leaves);
  for (const [k, t] of two.outs) {
    const scale = Math.max(...Array.from(want[t.id], Math.abs));
    assertClose(got.get(k)!, want[t.id], { rtol: 1e-4, atol: 1e-5 * scale }, `stacked ${k}`);
  }
});

Deno.test("a momentum's new value is computed and written by the parameter update that reads it, two updates by one kernel; float64 values, bit for bit as apart", async () => {
  // [37, 21]: 777 elements, a partial last vec4. SGD's momentum (one value written besides the
  // update) and AdamW's two moments (two), each read by nothing but the update; then the two
  // updates, read by nothing in the step, in one kernel.
  const g = new Graph();
  const w = g.param("w", [N, 21], { kind: "normal", std: 1 }), x = g.input("x", [N, 21]);
  const m = g.state("m", [N, 21], { kind: "zeros" }), v = g.state("v", [N, 21], { kind: "zeros" });
  const b = g.param("b", [N, 21], { kind: "normal", std: 1 }), mb = g.state("mb", [N, 21], { kind: "zeros" });
  const d = x.add(w.mul(0.01));
  const nm = m.mul(0.9).add(d);
  g.assign(m, nm);
  g.assign(w, w.sub(nm.mul(0.1)));
  const am = mb.mul(0.9).add(x.mul(0.1)), av = v.mul(0.999).add(x.square().mul(0.001));
  g.assign(mb, am);
  g.assign(v, av);
  g.assign(b, b.sub(am.div(av.sqrt().add(1e-8)).mul(0.01)));
  g.output("loss", w.mul(x).sum());
  const leaves = leavesOf(g);
  for (const [name, seed] of [["m", 3], ["v", 4], ["mb", 5]] as const) leaves.set(name, rand(N * 21, seed, 0, 1));
  const together = compile(g), apart = compile(g, { coOutputs: false });
  if (together.stats.dispatches !== apart.stats.dispatches - 4) {
    throw new Error(`${together.stats.dispatches} dispatches with co-outputs, ${apart.stats.dispatches} apart`);
  }
  const want = evaluate(g, { leaves, scalars: {} });
  const got = await runUpdates(g, leaves, {}), alone = await runUpdates(g, leaves, { coOutputs: false });
  for (const u of g.updates) {
    const name = g.nodes[u.target].attrs.name as string;
    assertClose(got.get(name)!, want[u.value], { rtol: 1e-5, atol: 1e-6 }, name);
    const a = alone.get(name)!, s = got.get(name)!;
    const differ = a.findIndex((e, i) => !Object.is(e, s[i]));
    if (differ >= 0) throw new Error(`${name}[${differ}]: ${s[differ]} together, ${a[differ]} apart`);
  }
});

Deno.test("a value read by two kernels, or by a kernel of another shape, keeps its own kernel", () => {
  for (const [mShape, twoReaders] of [[[N, C], true], [[C], false]] as const) {
    const g = new Graph();
    const w = g.param("w", [N, C], { kind: "normal", std: 1 }), x = g.input("x", [...mShape]);
    const m = g.state("m", [...mShape], { kind: "zeros" });
    const nm = m.mul(0.9).add(x);
    g.assign(m, nm);
    // [C]: read by the [N, C] update alone; [N, C]: by the update and a reduction
    g.assign(w, w.sub(twoReaders ? nm.mul(0.1) : nm));
    g.output("loss", (twoReaders ? nm.square() : w).sum());
    const p = compile(g);
    const own = dispatchesOf(p, nm.id);
    if (own.length !== 1) throw new Error(`[${mShape}]: the momentum's own kernel: ${own.length} dispatches`);
  }
});

/** Runs graph `g` once and reads back every persistent buffer (the updates' new values). */
async function runUpdates(g: Graph, leaves: Map<string, Float64Array>, opts: CompileOptions) {
  const gpu = await getGpu();
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 }, ...opts });
  const ex = await Executable.create(gpu, program);
  try {
    for (const name of [...program.inputs.keys(), ...program.persistent.keys()]) {
      ex.write(name, Float32Array.from(leaves.get(name)!));
    }
    ex.run();
    const out = new Map<string, Float32Array>();
    for (const name of program.persistent.keys()) out.set(name, await ex.read(name));
    return out;
  } finally {
    ex.destroy();
  }
}

// Layers and encoders against float64 re-implementations written here with loops (names,
// shapes, values, running-stat updates), and their gradients against finite differences.
import { evaluate, step } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { type Shape, ShapeError, size } from "../kernels/op.ts";
import { batchNorm, linear, mlp, resnet18, smallCnn } from "../nn/mod.ts";
import { applyModule } from "../step/apply_module.ts";
import { cnn } from "../dsl/builders.ts";
import { assertClose, rand } from "./util/check.ts";

// ---- float64 reference on NCHW / [N, D] arrays ------------------------------------------------
interface A {
  s: number[];
  d: Float64Array;
}
const at = (s: number[], ...c: number[]) => c.reduce((o, ci, k) => o * s[k] + ci, 0);
function convRef(x: A, w: A, stride: number, pad: number): A {
  const [n, c, h, wd] = x.s, [o, , k] = w.s;
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1, wo = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const s = [n, o, ho, wo], d = new Float64Array(size(s));
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          let acc = 0;
          for (let ic = 0; ic < c; ic++) {
            for (let u = 0; u < k; u++) {
              for (let v = 0; v < k; v++) {
                const yi = i * stride - pad + u, xj = j * stride - pad + v;
                if (yi >= 0 && yi < h && xj >= 0 && xj < wd) {
                  acc += x.d[at(x.s, b, ic, yi, xj)] * w.d[at(w.s, oc, ic, u, v)];
                }
              }
            }
          }
          d[at(s, b, oc, i, j)] = acc;
        }
      }
    }
  }
  return { s, d };
}
/** training-mode BN over every axis but 1; optional affine */
function bnRef(
  x: A,
  w?: Float64Array,
  b?: Float64Array,
  eps = 1e-5,
): { y: A; mean: number[]; varB: number[]; count: number } {
  const c = x.s[1], inner = size(x.s.slice(2)), count = x.s[0] * inner;
  const ch = (i: number) => Math.floor(i / inner) % c;
  const mean = new Array(c).fill(0), varB = new Array(c).fill(0);
  x.d.forEach((v, i) => (mean[ch(i)] += v / count));
  x.d.forEach((v, i) => (varB[ch(i)] += (v - mean[ch(i)]) ** 2 / count));
  const d = x.d.map((v, i) => {
    const k = ch(i), z = (v - mean[k]) / Math.sqrt(varB[k] + eps);
    return w && b ? z * w[k] + b[k] : z;
  });
  return { y: { s: x.s, d }, mean, varB, count };
}
const relu = (x: A): A => ({ s: x.s, d: x.d.map((v) => Math.max(0, v)) });
const addA = (x: A, y: A): A => ({ s: x.s, d: x.d.map((v, i) => v + y.d[i]) });
const gap = (x: A): A => {
  const [n, c] = x.s, hw = size(x.s.slice(2));
  const d = new Float64Array(n * c);
  x.d.forEach((v, i) => (d[Math.floor(i / hw)] += v / hw));
  return { s: [n, c], d };
};
function linRef(x: A, w: Float64Array, out: number, b?: Float64Array): A {
  const [n, inF] = x.s, d = new Float64Array(n * out);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < out; o++) {
      let acc = b ? b[o] : 0;
      for (let k = 0; k < inF; k++) acc += x.d[i * inF + k] * w[o * inF + k];
      d[i * out + o] = acc;
    }
  }
  return { s: [n, out], d };
}
/** max over k×k windows at stride `stride`, `pad` rows/columns of −∞ on every side */
function maxPoolRef(x: A, k = 2, stride = 2, pad = 0): A {
  const [n, c, h, w] = x.s;
  const s = [n, c, Math.floor((h + 2 * pad - k) / stride) + 1, Math.floor((w + 2 * pad - k) / stride) + 1];
  const d = new Float64Array(size(s)).fill(-Infinity);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < s[2]; i++) {
        for (let j = 0; j < s[3]; j++) {
          const o = at(s, b, ch, i, j);
          for (let u = 0; u < k; u++) {
            for (let v = 0; v < k; v++) {
              const yi = i * stride - pad + u, xj = j * stride - pad + v;
              if (yi >= 0 && yi < h && xj >= 0 && xj < w) d[o] = Math.max(d[o], x.d[at(x.s, b, ch, yi, xj)]);
            }
          }
        }
      }
    }
  }
  return { s, d };
}

// ---- graph helpers ---------------------------------------------------------------------------
/** Random values for every input/param/state leaf; BN scales and running vars kept positive. */
function fill(g: Graph, seed = 1): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>();
  g.nodes.forEach((n, i) => {
    if (!["input", "param", "state"].includes(n.op)) return;
    const name = n.attrs.name as string;
    const pos = name.endsWith("running_var") ||
      (n.op === "param" && n.attrs.group === "bn" && name.endsWith(".weight"));
    m.set(name, rand(size(n.shape), seed * 1000 + i, pos ? 0.5 : -1, pos ? 1.5 : 1));
  });
  return m;
}
const paramNames = (g: Graph) => g.params().map((n) => n.attrs.name as string);
function expectEq<T>(got: T, want: T, what: string): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}
function throwsShape(f: () => unknown, what: RegExp): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ShapeError) || !what.test((e as Error).message)) {
      throw new Error(`wrong error: ${(e as Error).message}`);
    }
    return;
  }
  throw new Error("expected a ShapeError");
}
/** d(Σ w ⊙ out)/d leaf for the named leaves, autodiff vs central differences. */
function checkGrad(g: Graph, out: Tensor, names: string[], leaves: Map<string, Float64Array>, tol = 1e-6): void {
  const w = g.input("__w", out.shape);
  leaves.set("__w", rand(size(out.shape), 77));
  const f = out.mul(w).sum();
  const gs = grad(
    g,
    f,
    names.map((n) => g.find(n) ?? g.nodes.map((_, i) => g.t(i)).find((t) => g.nodes[t.id].attrs.name === n)!),
  );
  const vals = evaluate(g, { leaves, scalars: {} });
  const eps = 1e-6;
  names.forEach((name, j) => {
    const gk = gs[j];
    if (!gk) throw new Error(`no gradient for ${name}`);
    const x = leaves.get(name)!;
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + eps;
      const fp = evaluate(g, { leaves, scalars: {} })[f.id][0];
      x[i] = keep - eps;
      const fm = evaluate(g, { leaves, scalars: {} })[f.id][0];
      x[i] = keep;
      const num = (fp - fm) / (2 * eps), an = vals[gk.id][i];
      if (Math.abs(num - an) / Math.max(1, Math.abs(num)) > tol) {
        throw new Error(`d/d${name}[${i}]: autodiff ${an} vs finite difference ${num}`);
      }
    }
  });
}

// ---- linear ----------------------------------------------------------------------------------
Deno.test("linear: PyTorch names, shapes, init and x·Wᵀ + b", () => {
  const g = new Graph();
  const x = g.input("x", [7, 13]);
  const y = linear(x, "fc", 5);
  const yn = linear(x, "nb", 3, { bias: false });
  expectEq(paramNames(g), ["fc.weight", "fc.bias", "nb.weight"], "params");
  const w = g.find("fc.weight")!, b = g.find("fc.bias")!;
  expectEq(w.shape, [5, 13], "weight shape");
  expectEq(g.nodes[w.id].attrs.init, { kind: "uniform", bound: 1 / Math.sqrt(13) }, "weight init");
  expectEq(g.nodes[b.id].attrs.group, "bias", "bias group");
  expectEq(yn.shape, [7, 3], "no-bias output");
  const leaves = fill(g);
  const v = evaluate(g, { leaves, scalars: {} });
  const xa = { s: [7, 13], d: leaves.get("x")! };
  assertClose(
    v[y.id],
    linRef(xa, leaves.get("fc.weight")!, 5, leaves.get("fc.bias")!).d,
    { rtol: 1e-12, atol: 1e-14 },
    "linear",
  );
  assertClose(v[yn.id], linRef(xa, leaves.get("nb.weight")!, 3).d, { rtol: 1e-12, atol: 1e-14 }, "linear no bias");
  throwsShape(() => linear(g.input("x3", [2, 3, 4]), "bad", 2), /linear: bad: input must be \[N, in\]/);
});

Deno.test("linear: reusing a name shares the weights and their gradients add up", () => {
  const g = new Graph();
  const x1 = g.input("x1", [7, 4]), x2 = g.input("x2", [7, 4]);
  const y = linear(x1, "shared", 3).add(linear(x2, "shared", 3).square());
  expectEq(paramNames(g), ["shared.weight", "shared.bias"], "one param set");
  checkGrad(g, y, ["shared.weight", "shared.bias", "x1"], fill(g));
});

// ---- batch norm ------------------------------------------------------------------------------
Deno.test("batchNorm [N, D]: batch stats, affine, running stats (unbiased var), inference mode", () => {
  const g = new Graph();
  const x = g.input("x", [9, 6]);
  const y = batchNorm(x, "bn", { momentum: 0.2 });
  expectEq(paramNames(g), ["bn.weight", "bn.bias"], "params");
  expectEq(g.params().map((n) => n.attrs.group), ["bn", "bn"], "group");
  expectEq(g.params().map((n) => n.attrs.init), [{ kind: "ones" }, { kind: "zeros" }], "init");
  const leaves = fill(g);
  const rm0 = Float64Array.from(leaves.get("bn.running_mean")!), rv0 = Float64Array.from(leaves.get("bn.running_var")!);
  const vals = evaluate(g, { leaves, scalars: {} });
  const ref = bnRef({ s: [9, 6], d: leaves.get("x")! }, leaves.get("bn.weight"), leaves.get("bn.bias"));
  assertClose(vals[y.id], ref.y.d, { rtol: 1e-12, atol: 1e-14 }, "BN forward");
  step(g, { leaves, scalars: {} });
  assertClose(
    leaves.get("bn.running_mean")!,
    ref.mean.map((m, k) => 0.8 * rm0[k] + 0.2 * m),
    { rtol: 1e-12 },
    "running mean",
  );
  assertClose(
    leaves.get("bn.running_var")!,
    ref.varB.map((v, k) => 0.8 * rv0[k] + 0.2 * v * 9 / 8),
    { rtol: 1e-12 },
    "running var",
  );

  // inference: (x − running_mean)/√(running_var + eps)·w + b, and no update
  const gi = new Graph();
  const yi = batchNorm(gi.input("x", [9, 6]), "bn", { training: false, eps: 1e-3 });
  if (gi.updates.length !== 0) throw new Error("inference BN must not update running stats");
  const li = fill(gi, 3);
  const [rm, rv, w, b, xd] = ["bn.running_mean", "bn.running_var", "bn.weight", "bn.bias", "x"].map((n) => li.get(n)!);
  const want = xd.map((v, i) => ((v - rm[i % 6]) / Math.sqrt(rv[i % 6] + 1e-3)) * w[i % 6] + b[i % 6]);
  assertClose(evaluate(gi, { leaves: li, scalars: {} })[yi.id], want, { rtol: 1e-12 }, "BN inference");
});

Deno.test("batchNorm: two views through one BN update the running stats sequentially", () => {
  const g = new Graph();
  const xa = g.input("xa", [5, 3]), xb = g.input("xb", [5, 3]);
  batchNorm(xa, "bn", { affine: false });
  batchNorm(xb, "bn", { affine: false });
  if (g.params().length !== 0) throw new Error("affine false must create no params");
  expectEq(g.updates.length, 2, "one update per running stat");
  const leaves = fill(g);
  const rm0 = Float64Array.from(leaves.get("bn.running_mean")!), rv0 = Float64Array.from(leaves.get("bn.running_var")!);
  const ra = bnRef({ s: [5, 3], d: leaves.get("xa")! }), rb = bnRef({ s: [5, 3], d: leaves.get("xb")! });
  step(g, { leaves, scalars: {} });
  const seq = (r0: Float64Array, a: number[], b: number[]) =>
    Array.from(r0, (r, k) => 0.9 * (0.9 * r + 0.1 * a[k]) + 0.1 * b[k]);
  assertClose(leaves.get("bn.running_mean")!, seq(rm0, ra.mean, rb.mean), { rtol: 1e-12 }, "sequential mean");
  assertClose(leaves.get("bn.running_var")!, seq(rv0, ra.varB.map((v) => v * 5 / 4), rb.varB.map((v) => v * 5 / 4)), {
    rtol: 1e-12,
  }, "sequential var");
});

Deno.test("batchNorm [N, C, H, W]: statistics over N, H, W; gradients match finite differences", () => {
  const g = new Graph();
  const x = g.input("x", [3, 4, 5, 3]);
  const y = batchNorm(x, "bn2d");
  const leaves = fill(g);
  const ref = bnRef({ s: [3, 4, 5, 3], d: leaves.get("x")! }, leaves.get("bn2d.weight"), leaves.get("bn2d.bias"));
  assertClose(evaluate(g, { leaves, scalars: {} })[y.id], ref.y.d, { rtol: 1e-12, atol: 1e-14 }, "BN2d forward");
  step(g, { leaves, scalars: {} });
  expectEq(leaves.get("bn2d.running_var")!.length, 4, "running var per channel");

  const g2 = new Graph();
  const y2 = batchNorm(g2.input("x", [2, 3, 3, 2]), "bn");
  checkGrad(g2, y2, ["x", "bn.weight", "bn.bias"], fill(g2));
  throwsShape(
    () => batchNorm(g.input("x1", [1, 4]), "one"),
    /batchNorm: one: training needs more than 1 value per channel/,
  );
  throwsShape(
    () => batchNorm(g.input("x3", [2, 4, 3]), "r3"),
    /batchNorm: r3: input must be \[N, D\] or \[N, C, H, W\]/,
  );
});

Deno.test("batchNorm groups: views stacked along N give one call per view's outputs, gradients and running stats", () => {
  for (const shape of [[5, 3], [3, 4, 3, 2]]) {
    const n = shape[0];
    // per view: two calls, the second's running-stat update built on the first's
    const g1 = new Graph();
    const xa = g1.input("xa", shape), xb = g1.input("xb", shape);
    const ya = batchNorm(xa, "bn", { momentum: 0.3 }), yb = batchNorm(xb, "bn", { momentum: 0.3 });
    // stacked: one call on [2N, ...] with groups 2
    const g2 = new Graph();
    const xs = g2.input("xs", [2 * n, ...shape.slice(1)]);
    const ys = batchNorm(xs, "bn", { momentum: 0.3, groups: 2 });
    const leaves = fill(g1, 3);
    const stacked = new Map(leaves);
    stacked.set("xs", Float64Array.from([...leaves.get("xa")!, ...leaves.get("xb")!]));
    // a loss that weighs every output differently, so each gradient entry is checked
    const r = rand(2 * size(shape), 9, -1, 1);
    const ra = g1.input("ra", shape), rb = g1.input("rb", shape), rs = g2.input("rs", [2 * n, ...shape.slice(1)]);
    leaves.set("ra", r.slice(0, size(shape))), leaves.set("rb", r.slice(size(shape))), stacked.set("rs", r);
    const l1 = ya.mul(ra).sum().add(yb.mul(rb).sum()), l2 = ys.mul(rs).sum();
    const d1 = grad(g1, l1, [xa, xb, g1.find("bn.weight")!, g1.find("bn.bias")!]);
    const d2 = grad(g2, l2, [xs, g2.find("bn.weight")!, g2.find("bn.bias")!]);
    const v1 = evaluate(g1, { leaves, scalars: {} }), v2 = evaluate(g2, { leaves: stacked, scalars: {} });
    const cat = (a: Float64Array, b: Float64Array) => Float64Array.from([...a, ...b]);
    const tol = { rtol: 1e-12, atol: 1e-13 };
    assertClose(v2[ys.id], cat(v1[ya.id], v1[yb.id]), tol, `${shape}: outputs`);
    assertClose(v2[d2[0]!.id], cat(v1[d1[0]!.id], v1[d1[1]!.id]), tol, `${shape}: input gradient`);
    assertClose(v2[d2[1]!.id], v1[d1[2]!.id], tol, `${shape}: weight gradient`);
    assertClose(v2[d2[2]!.id], v1[d1[3]!.id], tol, `${shape}: bias gradient`);
    step(g1, { leaves, scalars: {} }), step(g2, { leaves: stacked, scalars: {} });
    for (const k of ["bn.running_mean", "bn.running_var"]) {
      assertClose(stacked.get(k)!, leaves.get(k)!, tol, `${shape}: ${k} after both views`);
    }
  }
  throwsShape(
    () => batchNorm(new Graph().input("x", [5, 3]), "odd", { groups: 2 }),
    /batchNorm: odd: 2 groups do not divide the batch of \[5, 3\]/,
  );
});

// ---- MLP heads -------------------------------------------------------------------------------
Deno.test("mlp: Barlow Twins and SimSiam projectors have the recipe's layers and values", () => {
  const g = new Graph();
  const x = g.input("x", [7, 5]);
  const bt = mlp(x, "proj", { widths: [6, 6, 4], bn: true, relu: true, bias: false });
  expectEq(paramNames(g), [
    "proj.0.linear.weight",
    "proj.0.bn.weight",
    "proj.0.bn.bias",
    "proj.1.linear.weight",
    "proj.1.bn.weight",
    "proj.1.bn.bias",
    "proj.2.linear.weight",
  ], "BT projector params");
  const ss = mlp(x, "ss", { widths: [6, 4], lastBn: true, lastBnAffine: false, lastBias: true });
  expectEq(paramNames(g).filter((n) => n.startsWith("ss")), [
    "ss.0.linear.weight",
    "ss.0.bn.weight",
    "ss.0.bn.bias",
    "ss.1.linear.weight",
    "ss.1.linear.bias",
  ], "SimSiam params");
  if (!g.find("ss.1.bn.running_mean")) throw new Error("last BN without affine still tracks running stats");
  const leaves = fill(g);
  const v = evaluate(g, { leaves, scalars: {} });
  const L = (n: string) => leaves.get(n)!;
  let h: A = { s: [7, 5], d: L("x") };
  for (const i of [0, 1]) {
    h = relu(bnRef(linRef(h, L(`proj.${i}.linear.weight`), 6), L(`proj.${i}.bn.weight`), L(`proj.${i}.bn.bias`)).y);
  }
  assertClose(v[bt.id], linRef(h, L("proj.2.linear.weight"), 4).d, { rtol: 1e-11, atol: 1e-13 }, "BT projector");
  let s: A = relu(
    bnRef(linRef({ s: [7, 5], d: L("x") }, L("ss.0.linear.weight"), 6), L("ss.0.bn.weight"), L("ss.0.bn.bias")).y,
  );
  s = bnRef(linRef(s, L("ss.1.linear.weight"), 4, L("ss.1.linear.bias"))).y;
  assertClose(v[ss.id], s.d, { rtol: 1e-11, atol: 1e-13 }, "SimSiam projector");
  throwsShape(() => mlp(x, "bad", { widths: [] }), /mlp: bad: widths must be a non-empty list/);
});

Deno.test("mlp: gradients of a BYOL-style head (bias, BN, ReLU) match finite differences", () => {
  const g = new Graph();
  const y = mlp(g.input("x", [6, 3]), "head", { widths: [5, 2], bias: true });
  checkGrad(g, y, [
    "x",
    "head.0.linear.weight",
    "head.0.linear.bias",
    "head.0.bn.weight",
    "head.1.linear.weight",
    "head.1.linear.bias",
  ], fill(g));
});

// ---- encoders --------------------------------------------------------------------------------
/** float64 ResNet-18 from the same named parameters; the ImageNet stem is 7×7/2 conv + 3×3/2 max-pool */
function resnetRef(
  x: A,
  L: (n: string) => Float64Array,
  shapes: Map<string, Shape>,
  blocks: number[],
  stem: "cifar" | "imagenet" = "cifar",
): A {
  const cv = (h: A, n: string, stride: number, pad: number) =>
    convRef(h, { s: [...shapes.get(`${n}.weight`)!], d: L(`${n}.weight`) }, stride, pad);
  const bn = (h: A, n: string) => bnRef(h, L(`${n}.weight`), L(`${n}.bias`)).y;
  let h = stem === "cifar"
    ? relu(bn(cv(x, "r.conv1", 1, 1), "r.bn1"))
    : maxPoolRef(relu(bn(cv(x, "r.conv1", 2, 3), "r.bn1")), 3, 2, 1);
  blocks.forEach((nb, s) => {
    for (let b = 0; b < nb; b++) {
      const p = `r.layer${s + 1}.${b}`, stride = s > 0 && b === 0 ? 2 : 1;
      const main = bn(cv(relu(bn(cv(h, `${p}.conv1`, stride, 1), `${p}.bn1`)), `${p}.conv2`, 1, 1), `${p}.bn2`);
      const short = shapes.has(`${p}.downsample.0.weight`)
        ? bn(cv(h, `${p}.downsample.0`, stride, 0), `${p}.downsample.1`)
        : h;
      h = relu(addA(main, short));
    }
  });
  return gap(h);
}

Deno.test("resnet18 (CIFAR stem, width ×1/16): torchvision names, parameter count, float64 forward", () => {
  const g = new Graph();
  const { features, dim } = resnet18(g.input("x", [2, 3, 9, 7]), "r", { widthMult: 1 / 16 });
  expectEq([dim, ...features.shape], [32, 2, 32], "dim and shape");
  const names = paramNames(g);
  for (
    const n of [
      "r.conv1.weight",
      "r.bn1.weight",
      "r.layer1.1.conv2.weight",
      "r.layer2.0.downsample.0.weight",
      "r.layer4.1.bn2.bias",
    ]
  ) {
    if (!names.includes(n)) throw new Error(`missing ${n}`);
  }
  if (names.includes("r.layer1.0.downsample.0.weight")) throw new Error("layer1 needs no downsample");
  // parameters of ResNet-18 at base width w (convs without bias, BN weight+bias per channel)
  const w = 4, conv = (i: number, o: number, k: number) => i * o * k * k;
  let want = conv(3, w, 3) + 2 * w;
  [w, 2 * w, 4 * w, 8 * w].forEach((c, s) => {
    const cin = s === 0 ? w : c / 2;
    want += conv(cin, c, 3) + conv(c, c, 3) + 4 * c + (s > 0 ? conv(cin, c, 1) + 2 * c : 0); // block 0
    want += 2 * conv(c, c, 3) + 4 * c; // block 1
  });
  expectEq(g.params().reduce((p, n) => p + size(n.shape), 0), want, "parameter count");
  expectEq(
    g.nodes[g.find("r.conv1.weight")!.id].attrs.init,
    { kind: "normal", std: Math.sqrt(2 / (4 * 9)) },
    "kaiming fan_out init",
  );
  const leaves = fill(g);
  const shapes = new Map(g.nodes.filter((n) => n.op === "param").map((n) => [n.attrs.name as string, n.shape]));
  const ref = resnetRef({ s: [2, 3, 9, 7], d: leaves.get("x")! }, (n) => leaves.get(n)!, shapes, [2, 2, 2, 2]);
  assertClose(
    evaluate(g, { leaves, scalars: {} })[features.id],
    ref.d,
    { rtol: 1e-10, atol: 1e-12 },
    "ResNet-18 forward",
  );
});

Deno.test("resnet18 gradients (one block per stage, width ×1/32) match finite differences", () => {
  const g = new Graph();
  const { features } = resnet18(g.input("x", [2, 3, 5, 4]), "r", { widthMult: 1 / 32, blocks: [1, 1] });
  checkGrad(g, features, ["r.conv1.weight", "r.layer2.0.downsample.0.weight", "r.layer2.0.bn2.weight"], fill(g), 1e-5);
});

Deno.test("resnet18, ImageNet stem (7×7/2 conv, 3×3/2 max-pool), width ×1/16: float64 forward; small images refused", () => {
  const g = new Graph();
  const { features, dim } = resnet18(g.input("x", [2, 3, 67, 65]), "r", { widthMult: 1 / 16, stem: "imagenet" });
  expectEq([dim, ...features.shape], [32, 2, 32], "dim and shape");
  expectEq(g.find("r.conv1.weight")!.shape, [4, 3, 7, 7], "7×7 stem conv");
  // 67×65 → conv 34×33 → max-pool 17×17 → layers 1–4: 17, 9, 5, 3
  const pool = g.nodes.find((n) => n.op === "maxPool2d")!;
  expectEq(pool.shape, [2, 4, 17, 17], "stem output");
  const leaves = fill(g);
  const shapes = new Map(g.nodes.filter((n) => n.op === "param").map((n) => [n.attrs.name as string, n.shape]));
  const ref = resnetRef(
    { s: [2, 3, 67, 65], d: leaves.get("x")! },
    (n) => leaves.get(n)!,
    shapes,
    [2, 2, 2, 2],
    "imagenet",
  );
  assertClose(
    evaluate(g, { leaves, scalars: {} })[features.id],
    ref.d,
    { rtol: 1e-10, atol: 1e-12 },
    "ResNet-18 forward",
  );
  throwsShape(
    () => resnet18(g.input("small", [2, 3, 32, 32]), "s", { stem: "imagenet" }),
    /resnet18: s: the 'imagenet' stem needs images of at least 64 px, got \[2, 3, 32, 32\]/,
  );
});

Deno.test("resnet18 ImageNet stem gradients (one block per stage, width ×1/64) match finite differences", () => {
  const g = new Graph();
  const { features } = resnet18(g.input("x", [2, 3, 64, 66]), "r", {
    widthMult: 1 / 64,
    blocks: [1, 1],
    stem: "imagenet",
  });
  checkGrad(g, features, ["r.conv1.weight", "r.bn1.weight", "r.layer2.0.downsample.0.weight"], fill(g), 1e-5);
});

Deno.test("smallCnn (the spec's cnn module): conv-BN-ReLU stages, 2×2 max-pool while the map is ≥ 2×2, global average pool", () => {
  /** the float64 spec semantics: conv-BN-ReLU, then a 2×2 max-pool whenever the map is ≥ 2×2 */
  const reference = (L: (n: string) => Float64Array, shape: number[], widths: number[]): A => {
    let h: A = { s: shape, d: L("x") };
    widths.forEach((w, i) => {
      const wt = { s: [w, h.s[1], 3, 3], d: L(`cnn.conv${i}.weight`) };
      h = relu(bnRef(convRef(h, wt, 1, 1), L(`cnn.bn${i}.weight`), L(`cnn.bn${i}.bias`)).y);
      if (h.s[2] >= 2 && h.s[3] >= 2) h = maxPoolRef(h);
    });
    return h;
  };
  for (
    const [shape, last] of [
      [[2, 1, 13, 11], [2, 5, 1, 1]], // 13×11 → 6×5 → 3×2 → 1×1: the last stage pools too
      [[2, 1, 9, 7], [2, 5, 2, 1]], // 9×7 → 4×3 → 2×1 → 2×1: too narrow to pool
    ]
  ) {
    const g = new Graph();
    const { features, dim } = smallCnn(g.input("x", shape), "cnn", { widths: [3, 4, 5] });
    expectEq([dim, ...features.shape], [5, 2, 5], "dim and shape");
    const leaves = fill(g);
    const h = reference((n) => leaves.get(n)!, shape, [3, 4, 5]);
    expectEq(h.s, last, "last map");
    assertClose(evaluate(g, { leaves, scalars: {} })[features.id], gap(h).d, { rtol: 1e-11, atol: 1e-13 }, "smallCnn");

    // a spec `cnn` module lowers through this function: same graph, same values
    const g2 = new Graph();
    const viaSpec = applyModule(g2.input("x", shape), "cnn", { cnn: cnn([3, 4, 5]) });
    expectEq(g2.nodes.map((n) => [n.op, n.shape]), g.nodes.map((n) => [n.op, n.shape]), "spec cnn graph");
    assertClose(evaluate(g2, { leaves, scalars: {} })[viaSpec.id], gap(h).d, { rtol: 1e-11, atol: 1e-13 }, "spec cnn");
  }

  // kernel 5, no BN, no pooling
  const g3 = new Graph();
  const plain = smallCnn(g3.input("x", [2, 1, 6, 5]), "p", { widths: [2], kernel: 5, bn: false, pool: false });
  const l3 = fill(g3);
  const want = gap(
    relu(convRef({ s: [2, 1, 6, 5], d: l3.get("x")! }, { s: [2, 1, 5, 5], d: l3.get("p.conv0.weight")! }, 1, 2)),
  );
  assertClose(
    evaluate(g3, { leaves: l3, scalars: {} })[plain.features.id],
    want.d,
    { rtol: 1e-11, atol: 1e-13 },
    "plain cnn",
  );

  const g4 = new Graph();
  const small = smallCnn(g4.input("x", [2, 1, 5, 4]), "c", { widths: [2, 3] });
  checkGrad(g4, small.features, ["x", "c.conv0.weight", "c.bn1.weight"], fill(g4, 5), 1e-5);
});

// GPU check of the layers that need no conv kernels (the convs' own GPU tests live with them;
// a ResNet forward + backward through lavapipe took minutes on this loaded 2-core machine).
Deno.test("GPU: a projector applied to two views matches float64, incl. sequential BN running stats", async () => {
  const { runGraphGPU } = await import("./util/gpu.ts");
  const g = new Graph();
  const za = mlp(g.input("xa", [9, 5]), "proj", { widths: [6, 4], lastBn: true, lastBnAffine: false });
  const zb = mlp(g.input("xb", [9, 5]), "proj", { widths: [6, 4], lastBn: true, lastBnAffine: false });
  const loss = za.mul(zb).sum();
  const names = ["proj.0.linear.weight", "proj.0.bn.weight", "proj.1.linear.weight", "xa"];
  grad(
    g,
    loss,
    names.map((n) => g.find(n) ?? g.nodes.map((_, i) => g.t(i)).find((t) => g.nodes[t.id].attrs.name === n)!),
  )
    .forEach((d, i) => g.output(`d.${names[i]}`, d!));
  g.output("za", za);
  // running stats after both views (the second update builds on the first), read as outputs
  for (const s of ["proj.0.bn.running_mean", "proj.1.bn.running_var"]) g.output(s, g.current(g.find(s)!).mul(1));
  const leaves = fill(g);
  const cpu = evaluate(g, { leaves, scalars: {} });
  const gpu = await runGraphGPU(g, leaves);
  for (const [name, id] of g.outputs) {
    const want = cpu[id], scale = Math.max(...Array.from(want, Math.abs));
    assertClose(gpu.get(name)!, want, { rtol: 1e-3, atol: 1e-4 * scale }, `GPU ${name}`);
  }
});

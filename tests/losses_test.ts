// Every loss against a float64 closed form written out with loops here (not through the graph),
// and its gradient against central finite differences through the CPU reference.
import { evaluate } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { ShapeError } from "../kernels/op.ts";
import { EYE } from "../kernels/eye.ts";
import {
  barlowTwins,
  barlowTwinsLambdaFree,
  barlowTwinsTerms,
  byolLoss,
  byolSymmetric,
  collapseDiagnostics,
  cosineSimilarity,
  crossCorrelation,
  eye,
  eyeComposed,
  featureSimilarityMse,
  infoNCE,
  infoNCESymmetric,
  normalize,
  ntXent,
  simsiamLoss,
  simsiamSymmetric,
  standardize,
  vicreg,
  vicregTerms,
} from "../losses/mod.ts";
import { assertClose, rand } from "./util/check.ts";

// ---- float64 references on row-major number[][] ----------------------------------------------
type M = number[][];
const toM = (a: Float64Array, r: number, c: number): M =>
  Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * c, (i + 1) * c)));
const T = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const mm = (a: M, b: M): M => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const mean = (v: number[]) => sum(v) / v.length;
const dot = (a: number[], b: number[]) => sum(a.map((x, i) => x * b[i]));
const rowNorm = (a: M, eps = 1e-12): M => a.map((r) => r.map((x) => x / Math.max(Math.sqrt(dot(r, r)), eps)));
const colStats = (a: M) =>
  a[0].map((_, j) => {
    const col = a.map((r) => r[j]);
    const mu = mean(col);
    const ss = sum(col.map((x) => (x - mu) ** 2));
    return { mu, biased: ss / col.length, unbiased: ss / (col.length - 1) };
  });
const standardizeRef = (a: M, eps = 1e-5): M => {
  const st = colStats(a);
  return a.map((r) => r.map((x, j) => (x - st[j].mu) / Math.sqrt(st[j].biased + eps)));
};
const ccRef = (a: M, b: M): M => mm(T(standardizeRef(a)), standardizeRef(b)).map((r) => r.map((x) => x / a.length));
const btRef = (a: M, b: M, lambda: number) => {
  const c = ccRef(a, b);
  let on = 0, off = 0;
  c.forEach((r, i) => r.forEach((x, j) => (i === j ? (on += (1 - x) ** 2) : (off += x * x))));
  return { on, off, loss: on + lambda * off, c };
};
const logsumexp = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(sum(v.map((x) => Math.exp(x - m))));
};

// ---- graph helpers ---------------------------------------------------------------------------
interface In {
  shape: [number, number];
  seed: number;
}
function build(ins: In[], f: (...xs: Tensor[]) => Tensor) {
  const g = new Graph();
  const xs = ins.map((a, i) => g.input(`x${i}`, a.shape));
  const out = f(...xs);
  const leaves = new Map(ins.map((a, i) => [`x${i}`, rand(a.shape[0] * a.shape[1], a.seed)] as [string, Float64Array]));
  return { g, xs, out, leaves };
}
function value(ins: In[], f: (...xs: Tensor[]) => Tensor): { v: Float64Array; data: M[] } {
  const { g, out, leaves } = build(ins, f);
  const v = evaluate(g, { leaves, scalars: {} })[out.id];
  return { v, data: ins.map((a, i) => toM(leaves.get(`x${i}`)!, a.shape[0], a.shape[1])) };
}
/** d loss / d x_k from autodiff vs central differences, for every element of every input in wrt. */
function checkGrad(ins: In[], f: (...xs: Tensor[]) => Tensor, wrt = ins.map((_, i) => i), tol = 1e-6): void {
  const { g, xs, out, leaves } = build(ins, f);
  const gs = grad(g, out, wrt.map((i) => xs[i]));
  const vals = evaluate(g, { leaves, scalars: {} });
  const fval = () => evaluate(g, { leaves, scalars: {} })[out.id][0];
  const eps = 1e-6;
  wrt.forEach((k, j) => {
    const gk = gs[j];
    if (!gk) throw new Error(`no gradient for x${k}`);
    const analytic = vals[gk.id], x = leaves.get(`x${k}`)!;
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + eps;
      const fp = fval();
      x[i] = keep - eps;
      const fm = fval();
      x[i] = keep;
      const num = (fp - fm) / (2 * eps);
      const err = Math.abs(num - analytic[i]) / Math.max(1, Math.abs(num));
      if (err > tol) throw new Error(`d/dx${k}[${i}]: autodiff ${analytic[i]} vs finite difference ${num}`);
    }
  });
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

const N = 7, D = 5;
const A: In = { shape: [N, D], seed: 11 }, B: In = { shape: [N, D], seed: 12 };

// ---- tests -----------------------------------------------------------------------------------
Deno.test("normalize, cosineSimilarity, standardize match float64 closed forms", () => {
  const { v, data: [a] } = value([A], (x) => normalize(x));
  assertClose(v, rowNorm(a).flat(), { rtol: 1e-12, atol: 1e-14 }, "normalize rows");
  const col = value([A], (x) => normalize(x, 0));
  assertClose(col.v, T(rowNorm(T(a))).flat(), { rtol: 1e-12, atol: 1e-14 }, "normalize columns");
  const cs = value([A, B], (x, y) => cosineSimilarity(x, y));
  const [p, q] = cs.data;
  assertClose(cs.v, p.map((r, i) => dot(r, q[i]) / Math.sqrt(dot(r, r) * dot(q[i], q[i]))), { rtol: 1e-12 }, "cosine");
  const st = value([A], (x) => standardize(x));
  assertClose(st.v, standardizeRef(a).flat(), { rtol: 1e-12, atol: 1e-14 }, "standardize");
  // a zero row normalises to zero with the finite gradient 1/eps of x / max(‖x‖, eps) (as in
  // PyTorch), not the NaN that differentiating sqrt(Σx²) at 0 would give
  const g = new Graph();
  const x = g.input("x", [2, 3]);
  const loss = normalize(x).sum();
  const [dx] = grad(g, loss, [x]);
  const vals = evaluate(g, { leaves: new Map([["x", Float64Array.of(0, 0, 0, 1, 2, 3)]]), scalars: {} });
  assertClose(vals[dx!.id].subarray(0, 3), [1e12, 1e12, 1e12], {}, "zero-row gradient");
});

Deno.test("crossCorrelation = standardize(za)ᵀ standardize(zb) / N", () => {
  const { v, data: [a, b] } = value([A, B], (x, y) => crossCorrelation(x, y));
  assertClose(v, ccRef(a, b).flat(), { rtol: 1e-12, atol: 1e-13 }, "C");
});

Deno.test("barlowTwins matches Σ(1−C_ii)² + λΣ_{i≠j}C_ij², with scale, and its terms", () => {
  const lambda = 0.0051;
  const { v, data: [a, b] } = value([A, B], (x, y) => barlowTwins(x, y, { lambda }));
  const r = btRef(a, b, lambda);
  assertClose(v, [r.loss], { rtol: 1e-12 }, "BT loss");
  const s = value([A, B], (x, y) => barlowTwins(x, y, { lambda: 0.3, scale: 196 / D }));
  assertClose(s.v, [(196 / D) * btRef(a, b, 0.3).loss], { rtol: 1e-12 }, "BT scaled");
  const terms = value([A, B], (x, y) => {
    const t = barlowTwinsTerms(x, y);
    return t.onDiag.reshape([1]).op("concat", [t.offDiag.reshape([1])], { axis: 0 });
  });
  assertClose(terms.v, [r.on, r.off], { rtol: 1e-12 }, "BT terms");
});

Deno.test("λ-free Barlow Twins = barlowTwins(λ = 1/(D−1)) = Σ(1−C_ii)² + Σ_i mean_{j≠i} C_ij²", () => {
  const { v, data: [a, b] } = value([A, B], (x, y) => barlowTwinsLambdaFree(x, y));
  const viaLambda = value([A, B], (x, y) => barlowTwins(x, y, { lambda: 1 / (D - 1) }));
  assertClose(v, viaLambda.v, { rtol: 1e-14 }, "λ-free vs λ = 1/(D−1)");
  const c = ccRef(a, b);
  const rowMeans = c.map((r, i) => mean(r.filter((_, j) => j !== i).map((x) => x * x)));
  const direct = sum(c.map((r, i) => (1 - r[i]) ** 2)) + sum(rowMeans);
  assertClose(v, [direct], { rtol: 1e-12 }, "λ-free closed form");
  throwsShape(
    () => build([{ shape: [4, 1], seed: 1 }, { shape: [4, 1], seed: 2 }], (x, y) => barlowTwinsLambdaFree(x, y)),
    /at least 2 features/,
  );
});

Deno.test("ntXent matches the 2N-view softmax cross-entropy with the self-similarity excluded", () => {
  for (const temp of [0.5, 0.1]) {
    const { v, data: [a, b] } = value([A, B], (x, y) => ntXent(x, y, temp));
    const z = [...rowNorm(a), ...rowNorm(b)];
    const losses = z.map((zi, i) => {
      const others = z.map((zj, j) => (j === i ? NaN : dot(zi, zj) / temp)).filter((x) => !Number.isNaN(x));
      const partner = i < N ? i + N : i - N;
      return logsumexp(others) - dot(zi, z[partner]) / temp;
    });
    assertClose(v, [mean(losses)], { rtol: 1e-12 }, `NT-Xent T=${temp}`);
  }
});

Deno.test("infoNCE matches CE over [q·k, q·queue] / T; the symmetric helper averages both directions", () => {
  const K = 11, temp = 0.2;
  const Q: In = { shape: [K, D], seed: 13 };
  const { v, data: [q, k, queueRaw] } = value([A, B, Q], (x, y, qu) => infoNCE(x, y, normalize(qu), temp));
  const queue = rowNorm(queueRaw);
  const ref = (qs: M, ks: M) =>
    mean(
      rowNorm(qs).map((qi, i) => {
        const logits = [dot(qi, rowNorm(ks)[i]), ...queue.map((kj) => dot(qi, kj))].map((x) => x / temp);
        return logsumexp(logits) - logits[0];
      }),
    );
  assertClose(v, [ref(q, k)], { rtol: 1e-12 }, "InfoNCE");
  const C: In = { shape: [N, D], seed: 14 }, E: In = { shape: [N, D], seed: 15 };
  const sym = value([A, B, C, E, Q], (q1, q2, k1, k2, qu) => infoNCESymmetric(q1, q2, k1, k2, normalize(qu), temp));
  const [q1, q2, k1, k2] = sym.data;
  assertClose(sym.v, [(ref(q1, k2) + ref(q2, k1)) / 2], { rtol: 1e-12 }, "symmetric InfoNCE");
  throwsShape(
    () => build([A, B, { shape: [K, D + 1], seed: 3 }], (x, y, qu) => infoNCE(x, y, qu)),
    /queue must be \[K, 5\]/,
  );
});

Deno.test("byolLoss = mean(2 − 2cos), simsiamLoss = −mean(cos), symmetrised helpers", () => {
  const { v, data: [p, z] } = value([A, B], (x, y) => byolLoss(x, y));
  const cos = rowNorm(p).map((r, i) => dot(r, rowNorm(z)[i]));
  assertClose(v, [mean(cos.map((c) => 2 - 2 * c))], { rtol: 1e-12 }, "BYOL");
  assertClose(value([A, B], (x, y) => simsiamLoss(x, y)).v, [-mean(cos)], { rtol: 1e-12 }, "SimSiam");
  const C: In = { shape: [N, D], seed: 14 }, E: In = { shape: [N, D], seed: 15 };
  const by = value([A, B, C, E], (p1, p2, z1, z2) => byolSymmetric(p1, p2, z1, z2));
  const ss = value([A, B, C, E], (p1, p2, z1, z2) => simsiamSymmetric(p1, p2, z1, z2));
  const [p1, p2, z1, z2] = by.data;
  const mcos = (a: M, b: M) => mean(rowNorm(a).map((r, i) => dot(r, rowNorm(b)[i])));
  assertClose(by.v, [4 - 2 * mcos(p1, z2) - 2 * mcos(p2, z1)], { rtol: 1e-12 }, "BYOL symmetric");
  assertClose(ss.v, [-(mcos(p1, z2) + mcos(p2, z1)) / 2], { rtol: 1e-12 }, "SimSiam symmetric");
});

Deno.test("vicreg matches the official formulas (invariance, unbiased std hinge, off-diag cov² / D)", () => {
  // scale one input up so that some std are above 1 and the hinge is partly inactive
  const { v, data: [a, b0] } = value([A, B], (x, y) => vicreg(x, y.mul(3)));
  const b = b0.map((r) => r.map((x) => 3 * x));
  const inv = mean(a.flatMap((r, i) => r.map((x, j) => (x - b[i][j]) ** 2)));
  const branch = (z: M) => {
    const st = colStats(z);
    const hinge = mean(st.map((s) => Math.max(0, 1 - Math.sqrt(s.unbiased + 1e-4))));
    const zc = z.map((r) => r.map((x, j) => x - st[j].mu));
    const cov = mm(T(zc), zc).map((r) => r.map((x) => x / (z.length - 1)));
    const off = sum(cov.flatMap((r, i) => r.filter((_, j) => j !== i).map((x) => x * x))) / D;
    return { hinge, off, stds: st.map((s) => Math.sqrt(s.unbiased + 1e-4)) };
  };
  const ra = branch(a), rb = branch(b);
  if (!rb.stds.some((s) => s > 1) || !ra.stds.some((s) => s < 1)) {
    throw new Error("test data should exercise both hinge sides");
  }
  const variance = (ra.hinge + rb.hinge) / 2, covariance = ra.off + rb.off;
  assertClose(v, [25 * inv + 25 * variance + covariance], { rtol: 1e-12 }, "VICReg");
  const parts = value([A, B], (x, y) => {
    const t = vicregTerms(x, y.mul(3), { sim: 1, var: 2, cov: 3 });
    return [t.invariance, t.variance, t.covariance, t.loss].map((s) => s.reshape([1])).reduce((p, s) =>
      p.op("concat", [s], { axis: 0 })
    );
  });
  assertClose(
    parts.v,
    [inv, variance, covariance, inv + 2 * variance + 3 * covariance],
    { rtol: 1e-12 },
    "VICReg terms",
  );
});

Deno.test("featureSimilarityMse = mean((ẑaᵀẑb − I)²) with columns L2-normalised along the batch", () => {
  const { v, data: [a, b] } = value([A, B], (x, y) => featureSimilarityMse(x, y));
  const c = mm(T(a), b).map((r, i) => r.map((x, j) => x / Math.sqrt(dot(T(a)[i], T(a)[i]) * dot(T(b)[j], T(b)[j]))));
  assertClose(
    v,
    [mean(c.flatMap((r, i) => r.map((x, j) => (x - (i === j ? 1 : 0)) ** 2)))],
    { rtol: 1e-12 },
    "feature MSE",
  );
});

Deno.test("collapse diagnostics are graph outputs with the closed-form values", () => {
  const { g, out: _o, leaves } = build([A, B], (x, y) => collapseDiagnostics(x, y, "diag").std_mean);
  const vals = evaluate(g, { leaves, scalars: {} });
  const get = (k: string) => vals[g.outputs.get(`diag.${k}`)!][0];
  const a = toM(leaves.get("x0")!, N, D), b = toM(leaves.get("x1")!, N, D);
  const stds = colStats(a).map((s) => Math.sqrt(s.biased));
  const c = ccRef(a, b);
  const expect = {
    std_mean: mean(stds),
    std_min: Math.min(...stds),
    nstd_mean: mean(colStats(rowNorm(a)).map((s) => Math.sqrt(s.biased))),
    corr_diag_mean: mean(c.map((r, i) => r[i])),
    corr_offdiag_abs_mean: mean(c.flatMap((r, i) => r.filter((_, j) => j !== i).map(Math.abs))),
  };
  for (const [k, e] of Object.entries(expect)) assertClose([get(k)], [e], { rtol: 1e-12 }, k);
  // a collapsed embedding (every row equal) reads std 0
  const g2 = new Graph();
  const z = g2.input("z", [N, D]);
  collapseDiagnostics(z.mul(0).add(g2.input("r", [1, D])));
  const v2 = evaluate(g2, { leaves: new Map([["z", rand(N * D, 5)], ["r", rand(D, 6)]]), scalars: {} });
  assertClose(
    [v2[g2.outputs.get("collapse.std_mean")!][0], v2[g2.outputs.get("collapse.std_min")!][0]],
    [0, 0],
    {},
    "collapsed std",
  );
});

Deno.test("eye: the op, its composed fallback and the helper give the identity", () => {
  const ref = (r: number, c: number) => Array.from({ length: r * c }, (_, i) => (Math.floor(i / c) === i % c ? 1 : 0));
  const out = EYE.eye.cpu({ ins: [], inShapes: [], out: [2, 3, 4], attrs: { shape: [2, 3, 4] }, scalars: {} });
  assertClose(out, [...ref(3, 4), ...ref(3, 4)], {}, "eye op cpu (batched, rectangular)");
  if (
    !/select\(.*== \(i % 7u\)\)/.test(
      EYE.eye.ew!([], { idx: "i", outShape: [5, 7], attrs: {}, scalar: () => "", scalarU32: () => "" }),
    )
  ) {
    throw new Error("eye WGSL should compare row and column of the flat index");
  }
  throwsShape(() => EYE.eye.shape([], { shape: [3] }), /rows, cols/);
  for (const n of [1, 2, 7]) {
    const g = new Graph();
    const e1 = eyeComposed(g, n), e2 = eye(g, n);
    const vals = evaluate(g, { leaves: new Map(), scalars: {} });
    assertClose(vals[e1.id], ref(n, n), {}, `eyeComposed(${n})`);
    assertClose(vals[e2.id], ref(n, n), {}, `eye(${n})`);
  }
});

Deno.test("loss gradients match finite differences (float64 CPU reference)", () => {
  const K = 11;
  const Q: In = { shape: [K, D], seed: 13 };
  checkGrad([A], (x) => normalize(x).mul(normalize(x).op("sign")).sum());
  checkGrad([A, B], (x, y) => crossCorrelation(x, y).square().sum());
  checkGrad([A, B], (x, y) => barlowTwins(x, y, { lambda: 0.3 }));
  checkGrad([A, B], (x, y) => barlowTwinsLambdaFree(x, y));
  checkGrad([A, B], (x, y) => ntXent(x, y, 0.5));
  checkGrad([A, B, Q], (x, y, qu) => infoNCE(x, y, normalize(qu), 0.2), [0]);
  checkGrad([A, B], (x, y) => byolLoss(x, y), [0]);
  checkGrad([A, B], (x, y) => simsiamLoss(x, y), [0]);
  checkGrad([A, B], (x, y) => vicreg(x, y.mul(3)));
  checkGrad([A, B], (x, y) => featureSimilarityMse(x, y));
});

Deno.test("stop-gradient targets get no gradient; shape errors name the loss", () => {
  const g = new Graph();
  const p = g.input("p", [N, D]), z = g.input("z", [N, D]), qu = g.input("q", [9, D]);
  const [dz1, dz2, dqu] = grad(g, byolLoss(p, z).add(simsiamLoss(p, z)).add(infoNCE(p, z, qu)), [z, z, qu]);
  if (dz1 !== null || dz2 !== null || dqu !== null) throw new Error("targets must not receive gradient");
  throwsShape(() => barlowTwins(p, g.input("w", [N, D + 1])), /barlowTwins: needs \[N, D\] embeddings of one shape/);
  throwsShape(() => vicreg(g.input("one", [1, D]), g.input("one2", [1, D])), /vicreg: needs a batch of at least 2/);
  throwsShape(() => ntXent(p, z, 0), /temperature must be > 0/);
});

// Every loss above was also checked this way in one graph (all matched); the file keeps the two
// that exercise the distinct compositions (transposed matmul + diagonal trick + diagnostics;
// eye mask + where + concat + logsumexp), since each graph costs 5–15 s of cold llvmpipe
// shader compilation (≈ 1–2 s with Mesa's shader cache warm).
async function gpuMatchesCpu(what: string, f: (x: Tensor, y: Tensor) => Tensor, diagnostics = false): Promise<void> {
  const { runGraphGPU } = await import("./util/gpu.ts");
  const { g, xs: [x, y], leaves } = build([A, B], (x) => x);
  const loss = f(x, y);
  g.output("loss", loss);
  grad(g, loss, [x, y]).forEach((d, i) => g.output(`d${i}`, d!));
  if (diagnostics) collapseDiagnostics(x, y, "diag");
  const cpu = evaluate(g, { leaves, scalars: {} });
  const gpu = await runGraphGPU(g, leaves);
  for (const [name, id] of g.outputs) {
    const want = cpu[id], scale = Math.max(...Array.from(want, Math.abs), 1e-3);
    // f32 vs f64: absolute error relative to the output's magnitude
    assertClose(gpu.get(name)!, want, { rtol: 1e-3, atol: 2e-4 * scale }, `GPU ${what} ${name}`);
  }
}

Deno.test("GPU: λ-free Barlow Twins, its gradients and the collapse diagnostics match float64", async () => {
  await gpuMatchesCpu("barlowTwinsLambdaFree", (x, y) => barlowTwinsLambdaFree(x, y), true);
});

Deno.test("GPU: NT-Xent and its gradients match float64", async () => {
  await gpuMatchesCpu("ntXent", (x, y) => ntXent(x, y, 0.2));
});

// Near convergence C ≈ I: the off-diagonal energy is tiny next to Σ C_ii² ≈ D, so computing it
// as Σ C² − Σ diag² in f32 cancels away most of its digits. Views: orthogonal zero-mean columns
// (a cosine basis), the second view a slightly perturbed copy, so |C_ij| ~ 2e-4 off the diagonal
// and 1 − C_ii ~ 2e-5 on it.
function nearIdentityViews(n: number, d: number): Map<string, Float64Array> {
  const a = new Float64Array(n * d), b = new Float64Array(n * d);
  const noise = rand(n * d, 5);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      a[i * d + j] = Math.cos((Math.PI * (j + 1) * (i + 0.5)) / n);
      b[i * d + j] = a[i * d + j] + 2e-3 * noise[i * d + j];
    }
  }
  return new Map([["x0", a], ["x1", b]]);
}

Deno.test("GPU: Barlow Twins and VICReg off-diagonal terms keep f32 precision at C ≈ I (D = 63)", async () => {
  const { runGraphGPU } = await import("./util/gpu.ts");
  const n = 131, d = 63;
  const g = new Graph();
  const x = g.input("x0", [n, d]), y = g.input("x1", [n, d]);
  const bt = barlowTwinsTerms(x, y, { lambda: 0.0051 });
  const vr = vicregTerms(x, y);
  g.output("bt.offDiag", bt.offDiag);
  g.output("bt.loss", bt.loss);
  g.output("vicreg.covariance", vr.covariance);
  const grads = [...grad(g, bt.loss, [x, y]), ...grad(g, vr.loss, [x, y])];
  grads.forEach((t, i) => g.output(`grad${i}`, t!));
  const leaves = nearIdentityViews(n, d);
  const cpu = evaluate(g, { leaves, scalars: {} });
  const gpu = await runGraphGPU(g, leaves);
  for (const [name, id] of g.outputs) {
    if (name.startsWith("grad")) {
      const want = cpu[id], scale = Math.max(...Array.from(want, Math.abs));
      assertClose(gpu.get(name)!, want, { rtol: 1e-3, atol: 2e-4 * scale }, `GPU ${name} at C ≈ I`);
      continue;
    }
    const want = cpu[id][0], got = gpu.get(name)![0];
    if (name === "bt.offDiag" && !(want > 1e-5 && want < 1e-3)) {
      throw new Error(`test data: offDiag ${want} is not small`);
    }
    const rel = Math.abs(got - want) / Math.abs(want);
    console.log(
      `${name}: float64 ${want.toExponential(6)}, GPU f32 ${got.toExponential(6)}, relative error ${
        rel.toExponential(2)
      }`,
    );
    // The off-diagonal sums are exact to f32 rounding. The loss adds Σ(1 − C_ii)², whose
    // terms are limited by the f32 spacing of C_ii ≈ 1 (6e-8 against 1 − C_ii ≈ 2e-5): ~1e-3.
    const tol = name.endsWith("loss") ? 2e-3 : 1e-4;
    if (rel > tol) throw new Error(`${name}: GPU ${got} vs float64 ${want}, relative error ${rel.toExponential(2)}`);
  }
});

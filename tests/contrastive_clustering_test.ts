// Contrastive Clustering (pipelines/contrastive_clustering.ts): its loss, written in the loss
// language, against the formula written out here in float64 (and against the official code's
// formulation in PyTorch, which adds the constant 2·log K); its gradient against central finite
// differences of that formula; the cluster head found from the spec's structure; a few training
// steps end to end whose report scores the head's test assignments (ACC, NMI, ARI), checked
// against the head recomputed in float64 from the checkpoint; and the PyTorch export's loss and
// gradients.
import assert from "node:assert/strict";
import { evaluate } from "../cpu/reference.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { helpText, parseFlags } from "../dsl/cli.ts";
import { add, branch, log, mlp, mul, softmax, sum } from "../dsl/builders.ts";
import { contrastiveClusteringLoss, presets } from "../dsl/presets.ts";
import { clusterHeads } from "../dsl/resolve.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { rowArgmax } from "../eval/cluster_head.ts";
import { pathModel } from "../eval/evaluate.ts";
import { ari, clusteringAccuracy, nmi } from "../eval/metrics/mod.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { runMethod } from "../run/method_run.ts";
import { summary } from "../run/run_report.ts";
import { lossGraph } from "../step/loss_expr.ts";
import { validateSpec } from "../step/validate.ts";
import { rand } from "./util/check.ts";
import { smallPipeline } from "./util/small_pipeline.ts";
import { python, requireTorch } from "./util/torch.ts";
import { checkTorchGradients } from "./util/torch_grads.ts";

// ---- the loss in float64, written out ------------------------------------------------------------
type M = number[][];
const toM = (a: ArrayLike<number>, r: number, c: number): M =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => a[i * c + j]));
const T = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
const dot = (a: number[], b: number[]) => total(a.map((x, i) => x * b[i]));
const lse = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(total(v.map((x) => Math.exp(x - m))));
};
const softmaxRows = (a: M): M => a.map((r) => r.map((x) => Math.exp(x - lse(r))));
const unitRows = (a: M): M => a.map((r) => r.map((x) => x / Math.sqrt(dot(r, r))));

/** NT-Xent over the 2M rows of a, b [M, ·]: −log of row i's partner among the other 2M − 1, by cos / t; mean. */
function ntXentRef(a: M, b: M, t: number): number {
  const z = [...unitRows(a), ...unitRows(b)], m = a.length;
  return total(z.map((zi, i) => {
    const others = z.flatMap((zj, j) => (j === i ? [] : [dot(zi, zj) / t]));
    return lse(others) - dot(zi, z[(i + m) % (2 * m)]) / t;
  })) / (2 * m);
}

/** H(p) of the mean of a view's assignment rows. */
const entropyOfMean = (y: M) => {
  const p = y[0].map((_, k) => total(y.map((r) => r[k])) / y.length);
  return -total(p.map((q) => q * Math.log(q)));
};

/** L = NT-Xent(z1, z2; tᵢ) + NT-Xent(Y1ᵀ, Y2ᵀ; t_c) − H(Y1) − H(Y2), Y = softmax of each row of c. */
function ccLossRef(z1: M, z2: M, c1: M, c2: M, ti: number, tc: number): number {
  const y1 = softmaxRows(c1), y2 = softmaxRows(c2);
  return ntXentRef(z1, z2, ti) + ntXentRef(T(y1), T(y2), tc) - entropyOfMean(y1) - entropyOfMean(y2);
}

// odd sizes; logits spread over [−3, 3] so the assignments are far from uniform
const N = 9, D = 5, K = 4;
const SHAPES: Record<string, [number, number]> = { z1: [N, D], z2: [N, D], c1: [N, K], c2: [N, K] };
const initial = () =>
  new Map(
    Object.entries(SHAPES).map((
      [name, [r, c]],
      i,
    ) => [name, rand(r * c, 31 + i, name[0] === "c" ? -3 : -1, name[0] === "c" ? 3 : 1)]),
  );

function ccGraph(ti: number, tc: number) {
  const g = new Graph();
  const ins = new Map(Object.entries(SHAPES).map(([name, s]) => [name, g.input(name, s)]));
  const expr = contrastiveClusteringLoss(["z1", "z2"], ["c1", "c2"], { instance: ti, cluster: tc });
  const loss = lossGraph(expr, (name) => ins.get(name)!, g, "loss");
  return { g, ins, loss };
}

const refOf = (leaves: Map<string, Float64Array>, ti: number, tc: number) => {
  const m = (name: string) => toM(leaves.get(name)!, ...SHAPES[name]);
  return ccLossRef(m("z1"), m("z2"), m("c1"), m("c2"), ti, tc);
};

Deno.test("contrastive clustering loss = instance NT-Xent + column NT-Xent of the softmax − H(mean) per view (float64)", () => {
  for (const [ti, tc] of [[0.5, 1.0], [0.2, 0.7]]) {
    const { g, loss } = ccGraph(ti, tc);
    const leaves = initial();
    const got = evaluate(g, { leaves, scalars: {} })[loss.id][0];
    const want = refOf(leaves, ti, tc);
    assert(Math.abs(got - want) <= 1e-12 * Math.abs(want), `tᵢ ${ti}, t_c ${tc}: graph ${got} vs formula ${want}`);
  }
});

Deno.test("contrastive clustering loss: autodiff gradients match central differences of the written-out formula", () => {
  const ti = 0.5, tc = 1.0;
  const { g, ins, loss } = ccGraph(ti, tc);
  const names = [...ins.keys()];
  const gs = grad(g, loss, names.map((n) => ins.get(n)!));
  const leaves = initial();
  const vals = evaluate(g, { leaves, scalars: {} });
  const eps = 1e-6;
  names.forEach((name, j) => {
    const analytic = vals[gs[j]!.id], x = leaves.get(name)!;
    let worst = 0, scale = 0;
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + eps;
      const fp = refOf(leaves, ti, tc);
      x[i] = keep - eps;
      const fm = refOf(leaves, ti, tc);
      x[i] = keep;
      const num = (fp - fm) / (2 * eps);
      worst = Math.max(worst, Math.abs(num - analytic[i]));
      scale = Math.max(scale, Math.abs(num));
    }
    assert(scale > 1e-3, `${name}: the gradient should not vanish (max ${scale})`);
    assert(worst <= 1e-7 * Math.max(1, scale), `${name}: max |autodiff − finite difference| ${worst} (scale ${scale})`);
  });
});

Deno.test("contrastive clustering loss + 2·log K = the official code's formulation (PyTorch, float64)", () => {
  requireTorch();
  const ti = 0.5, tc = 1.0;
  const { g, loss } = ccGraph(ti, tc);
  const leaves = initial();
  const mine = evaluate(g, { leaves, scalars: {} })[loss.id][0];
  const arr = (name: string) => JSON.stringify(toM(leaves.get(name)!, ...SHAPES[name]));
  // the official structure: cross-entropy over [positive, masked negatives] with reduction sum / 2M,
  // cosine similarity of all pairs, and per view log K + Σ p log p with p = column sums / their sum
  const script = `
import json, math, torch
import torch.nn.functional as F
t = lambda s: torch.tensor(json.loads(s), dtype=torch.float64)
z1, z2, c1, c2 = t('${arr("z1")}'), t('${arr("z2")}'), t('${arr("c1")}'), t('${arr("c2")}')
def contrast(a, b, temp):
    m = a.shape[0]
    x = torch.cat([a, b], 0)
    sim = F.cosine_similarity(x.unsqueeze(1), x.unsqueeze(0), dim=2) / temp
    idx = torch.arange(2 * m)
    partner = (idx + m) % (2 * m)
    pos = sim[idx, partner].reshape(-1, 1)
    keep = torch.ones(2 * m, 2 * m, dtype=torch.bool)
    keep[idx, idx] = False
    keep[idx, partner] = False
    logits = torch.cat([pos, sim[keep].reshape(2 * m, -1)], 1)
    return F.cross_entropy(logits, torch.zeros(2 * m, dtype=torch.long), reduction="sum") / (2 * m)
y1, y2 = torch.softmax(c1, 1), torch.softmax(c2, 1)
def gap(y):
    p = y.sum(0) / y.sum()
    return math.log(p.shape[0]) + (p * torch.log(p)).sum()
print(float(contrast(z1, z2, ${ti}) + contrast(y1.t(), y2.t(), ${tc}) + gap(y1) + gap(y2)))
`;
  const official = Number(python(["-c", script]).trim());
  const want = mine + 2 * Math.log(K);
  assert(Math.abs(official - want) <= 1e-12 * Math.abs(want), `official ${official} vs this loss + 2 log K ${want}`);
});

// ---- the cluster head, read off the spec ---------------------------------------------------------

Deno.test("cluster heads are the branches the loss passes into a row softmax, one per module path", () => {
  const spec = presets.contrastiveClustering({ clusters: 7 });
  assert.deepEqual(clusterHeads(spec), [{ branch: "c1", path: ["encoder", "clusterHead"], clusters: 7 }]);
  for (const name of ["simclr", "barlowTwins", "byol"] as const) assert.deepEqual(clusterHeads(presets[name]()), []);
  // a column softmax is not an assignment; a softmax of a derived expression names no branch
  const edited = (loss: PipelineSpec["loss"]) => validateSpec({ ...structuredClone(spec), loss });
  assert.deepEqual(clusterHeads(edited(sum(log(softmax("c1", 0))))), []);
  assert.deepEqual(clusterHeads(edited(sum(log(softmax(mul(2, "c1"), 1))))), []);
  // heads on distinct paths are each found once, in the loss's order
  const two = validateSpec({
    ...structuredClone(spec),
    modules: { ...spec.modules, other: mlp([5], { in: 512 }) },
    branches: [...spec.branches, branch("o1", "v1", ["encoder", "other"])],
    loss: add(sum(log(softmax("o1", 1))), spec.loss),
  });
  assert.deepEqual(clusterHeads(two).map((h) => [h.branch, h.clusters]), [["o1", 5], ["c1", 7]]);
});

Deno.test("--clusters sets the cluster head's output width; a spec without a cluster head refuses it", () => {
  const spec = presets.contrastiveClustering();
  const after = parseFlags(["--clusters", "20"], spec).spec;
  assert.deepEqual(after.modules.clusterHead, { ...spec.modules.clusterHead, widths: [512, 20] });
  assert.deepEqual({ ...after, modules: spec.modules }, spec, "nothing else changes");
  assert.match(helpText(spec), /--clusters K .*\(default: 10\)/);
  assert.throws(() => parseFlags(["--clusters", "5"], presets.simclr()), /--clusters: the spec has no cluster head/);
  assert.throws(() => parseFlags(["--clusters", "1"], spec), /--clusters: expected an integer ≥ 2, got '1'/);
});

Deno.test("the head's cluster of a row is its argmax, the first of equal maxima (as torch.argmax)", () => {
  const out = { data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0, 0, 1, 0.9, 0, 0.1]), n: 4, dim: 3 };
  assert.deepEqual([...rowArgmax(out)], [1, 0, 2, 0]);
});

// ---- a few training steps, end to end --------------------------------------------------------------

const IMG = 8;

async function smallSpec(): Promise<PipelineSpec> {
  return await smallPipeline(
    "contrastive_clustering",
    { img: IMG, batch: 16, steps: 4, warmup: 0, flags: ["--lr", "0.05"] },
    [],
    (s) => (s.eval = { ...s.eval, knnK: 5, linearEpochs: 0 }),
  );
}

Deno.test("a few steps end to end: the report and summary score the cluster head's test assignments", async () => {
  const spec = await smallSpec();
  const data = makeSynthetic({ train: 64, test: 40, size: IMG, classes: 4, seed: 3 });
  const out = Deno.makeTempDirSync({ prefix: "cc_test_" });
  try {
    const log: string[] = [];
    const run = await runMethod({ spec, out, data, log: (s) => log.push(s) });
    run.dispose();
    assert.equal(run.status, "done");
    const report = run.report!;
    const onDisk = JSON.parse(Deno.readTextFileSync(`${out}/report.json`));
    for (const k of ["cluster_acc", "cluster_nmi", "cluster_ari"]) {
      assert.equal(onDisk[k], report[k], `report.json ${k}`);
    }
    assert(Number.isFinite(report.loss_last as number), `loss ${report.loss_last}`);

    // the head recomputed in float64 from the checkpoint, on the test images, scored here
    const ck = loadCheckpoint(out);
    const g = new Graph();
    const x = g.input("images", [data.test.n, 1, IMG, IMG]);
    const logits = pathModel(spec, ["encoder", "clusterHead"], undefined).forward(x);
    const leaves = new Map([["images", Float64Array.from(data.test.images)]]);
    for (const n of g.nodes) {
      if (n.op === "param" || n.op === "state") {
        const name = n.attrs.name as string;
        leaves.set(name, Float64Array.from(ck.tensors[name].data));
      }
    }
    const f = evaluate(g, { leaves, scalars: {} })[logits.id];
    const pred = rowArgmax({ data: f, n: data.test.n, dim: 10 });
    // several clusters in use, so scores from other weights (or none) would not match by chance
    assert(new Set(pred).size >= 3, `the head uses ${new Set(pred).size} clusters`);
    // f32 and float64 agree on every argmax unless two logits of a row are within rounding
    for (let i = 0; i < data.test.n; i++) {
      const row = Array.from(f.subarray(i * 10, i * 10 + 10)).sort((a, b) => b - a);
      assert(row[0] - row[1] > 1e-4, `test image ${i}: a near tie makes the comparison ill-posed`);
    }
    const labels = Int32Array.from(data.test.labels);
    const round4 = (v: number) => Math.round(v * 1e4) / 1e4;
    assert.deepEqual(
      [report.cluster_acc, report.cluster_nmi, report.cluster_ari],
      [clusteringAccuracy(pred, labels), nmi(pred, labels), ari(pred, labels)].map(round4),
    );
    assert.match(
      log.join("\n"),
      /cluster head encoder → clusterHead \(argmax of 10, \d+ used\) on the test split: ACC/,
    );
    const text = summary(report, out);
    assert.match(text, /cluster head \(test\): ACC \/ NMI \/ ARI\s+\d+\.\d\d% \/ -?\d\.\d+ \/ -?\d\.\d+/);
    // a report without cluster figures (a spec without a cluster head) has no such line
    const plain = Object.fromEntries(Object.entries(report).filter(([k]) => !k.startsWith("cluster_")));
    assert(!summary(plain, out).includes("cluster head"));
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("torch export: the contrastive clustering loss and every gradient equal the project's", async () => {
  const spec = await smallPipeline("contrastive_clustering", { img: 8, batch: 16, steps: 40, warmup: 0 });
  console.log((await checkTorchGradients([{ name: "pipelines/contrastive_clustering", spec }], "cc")).join("\n"));
});

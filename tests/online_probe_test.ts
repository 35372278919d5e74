// The online linear probe (step/online_probe.ts): the oneHot op against its float64 reference
// and on the GPU; the composed cross-entropy against a direct float64 formula and its gradient
// against the closed form (softmax − onehot)/N; and the compiled step with and without the probe:
// the SSL parameters and state after several steps are bit-identical, the probe's loss is the
// float64 cross-entropy of what it read, its first SGD update is the float64 one, the labels are
// those of the images' rows; a run logs the probe's test top-1 at every checkpoint and reports it;
// a run trained without the probe does not resume with it.
import assert from "node:assert/strict";
import { assertThrows } from "./util/assert.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "../cpu/reference.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { grad } from "../ir/autodiff.ts";
import { Graph } from "../ir/graph.ts";
import { shuffleIndex } from "../kernels/wgsl/shuffle.ts";
import { softmaxCrossEntropy } from "../losses/cross_entropy.ts";
import { writeTorchProgram } from "../export/torch/mod.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { runMethod } from "../run/method_run.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import { getGpu } from "../runtime/device.ts";
import { DeviceImages } from "../runtime/device_images.ts";
import { Executable } from "../runtime/executable.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import { PROBE_BIAS, PROBE_LOSS, PROBE_LR, PROBE_WEIGHT } from "../step/online_probe.ts";
import { train } from "../train/trainer.ts";
import { assertClose, cpuOp, rand } from "./util/check.ts";
import { runOpGPU } from "./util/gpu.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const LABELS = { shape: [7, 1], data: [2, 0, 4, 4, 1, 3, 0] };

Deno.test("oneHot: rows of 0/1 at the label's class, shape errors, GPU = float64", async () => {
  const want = new Float64Array(7 * 5);
  LABELS.data.forEach((l, i) => (want[i * 5 + l] = 1));
  assert.deepEqual([...cpuOp("oneHot", [LABELS], { classes: 5 })], [...want]);
  assert.deepEqual([...(await runOpGPU("oneHot", [LABELS], { classes: 5 }))], [...want]);
  const g = new Graph();
  assertThrows(() => g.input("y", [7]).op("oneHot", [], { classes: 5 }), "needs labels of shape [..., 1], got [7]");
  assertThrows(() => g.input("z", [7, 1]).op("oneHot", [], { classes: 0 }), "classes must be a positive integer");
});

Deno.test("softmaxCrossEntropy = the direct float64 formula; its gradient = (softmax − onehot)/N", () => {
  const n = 7, c = 5, logits = rand(n * c, 3, -4, 4);
  const g = new Graph();
  const x = g.input("x", [n, c]), y = g.input("y", [n, 1]);
  const loss = softmaxCrossEntropy(x, y);
  const [dx] = grad(g, loss, [x]);
  const vals = evaluate(g, { leaves: new Map([["x", logits], ["y", Float64Array.from(LABELS.data)]]), scalars: {} });
  let want = 0;
  const wantGrad = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * c, (i + 1) * c);
    const total = row.reduce((a, v) => a + Math.exp(v), 0);
    want += (Math.log(total) - row[LABELS.data[i]]) / n;
    for (let j = 0; j < c; j++) wantGrad[i * c + j] = (Math.exp(row[j]) / total - (j === LABELS.data[i] ? 1 : 0)) / n;
  }
  assertClose(vals[loss.id], [want], { rtol: 1e-14, atol: 0 }, "loss");
  assertClose(vals[dx!.id], wantGrad, { rtol: 1e-12, atol: 1e-15 }, "gradient");
  assertThrows(() => softmaxCrossEntropy(x, g.input("bad", [n])), "labels must be [7, 1]");
  // leading axes share the labels: two views of the batch, the mean over all their rows
  const two = softmaxCrossEntropy(g.input("x2", [2, n, c]), y);
  const both = Float64Array.from([...logits, ...logits.map((v) => -v)]);
  const v2 = evaluate(g, {
    leaves: new Map([["x", logits], ["x2", both], ["y", Float64Array.from(LABELS.data)], ["bad", new Float64Array(n)]]),
    scalars: {},
  });
  let negated = 0;
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * c, (i + 1) * c).map((v) => -v);
    negated += (Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[LABELS.data[i]]) / n;
  }
  assertClose(v2[two.id], [(want + negated) / 2], { rtol: 1e-14, atol: 0 }, "two views");
});

Deno.test("the graph with the probe starts with the graph without it, node for node and update for update", async () => {
  const spec = await smallSpec();
  for (const precision of ["f32", "f16-mixed"] as const) {
    const data = { rows: 64, dtype: "u8" as const, order: "shuffle" as const };
    const off = trainingGraph(spec, { c: 1, h: 8, w: 8 }, { precision, data }).graph;
    const on = trainingGraph(spec, { c: 1, h: 8, w: 8 }, { precision, data, probe: { classes: 4 } }).graph;
    assert.ok(on.nodes.length > off.nodes.length, precision);
    assert.deepEqual(on.nodes.slice(0, off.nodes.length), off.nodes, `${precision}: nodes`);
    assert.deepEqual(on.updates.slice(0, off.updates.length), off.updates, `${precision}: updates`);
    assert.deepEqual(
      [...on.outputs].filter(([name]) => !name.startsWith("online_probe")),
      [...off.outputs],
      `${precision}: outputs`,
    );
  }
});

// ---- the compiled step ---------------------------------------------------------------------

const DATA = makeSynthetic({ train: 64, test: 32, size: 8, classes: 4 });
const IMAGE = { c: 1, h: 8, w: 8 };
const GEOMETRY = { stepsPerEpoch: 4, totalSteps: 8 };

const smallSpec = (extra: string[] = []) =>
  smallPipeline("barlow", { img: 8, batch: 16, steps: 8, warmup: 0 }, ["--proj", "24,16", ...extra], (s) => {
    // an evaluation at the size of the 64 training images
    s.eval.knnK = 10;
    s.eval.linearEpochs = 1;
  });

interface Stepped {
  ex: Executable;
  losses: number[];
  dispose(): void;
}

/**
 * `steps` steps of `spec` on the device as the trainer builds them (data resident, the batch
 * gathered in the epoch's shuffle), with or without the probe; `outputs` adds test outputs.
 */
async function runStep(
  spec: PipelineSpec,
  probe: boolean,
  steps: number,
  opts: { outputs?: boolean; before?: (ex: Executable) => Promise<void> } = {},
): Promise<Stepped> {
  const gpu = await getGpu();
  const images = DeviceImages.create(gpu, DATA.train);
  const t = trainingGraph(spec, IMAGE, {
    data: { rows: images.rows, dtype: images.dtype, order: "shuffle" },
    ...(probe ? { probe: { classes: DATA.train.classes } } : {}),
  });
  if (opts.outputs) {
    t.probe!.features.forEach((f, i) => t.graph.output(`test.features${i}`, f));
    t.graph.output("test.labels", t.probe!.labels);
  }
  const step = compileStep(t, await deviceCompileOptions(gpu, t.graph));
  const bind: Record<string, GPUBuffer> = { dataset: images.buffer };
  if (probe) bind.labels = images.labels;
  const ex = await Executable.create(gpu, step.program, { bind });
  ex.initPersistent(spec.seed);
  await opts.before?.(ex);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    ex.setScalars(step.plan.values(s, GEOMETRY));
    ex.run();
    losses.push((await ex.read("loss"))[0]);
  }
  return {
    ex,
    losses,
    dispose: () => {
      ex.destroy();
      images.destroy();
    },
  };
}

Deno.test("the probe changes nothing in the SSL step: parameters and state bit-identical after 6 steps", async () => {
  const spec = await smallSpec();
  const off = await runStep(spec, false, 6), on = await runStep(spec, true, 6);
  try {
    assert.deepEqual(on.losses, off.losses, "the SSL loss of every step");
    const names = [...off.ex.program.persistent.keys()];
    assert.ok(names.length > 10, `the SSL step's persistent tensors: ${names.join(", ")}`);
    for (const name of names) {
      const a = await off.ex.read(name), b = await on.ex.read(name);
      const diff = a.findIndex((v, i) => !Object.is(v, b[i]));
      assert.equal(diff, -1, `${name}[${diff}]: ${a[diff]} without the probe, ${b[diff]} with it`);
    }
    // the probe's own tensors are the only ones added, and they trained
    const added = [...on.ex.program.persistent.keys()].filter((n) => !names.includes(n)).sort();
    assert.deepEqual(added, [PROBE_BIAS, `${PROBE_BIAS}.momentum`, PROBE_WEIGHT, `${PROBE_WEIGHT}.momentum`].sort());
  } finally {
    off.dispose();
    on.dispose();
  }
});

Deno.test("the probe's loss is the float64 CE of what it read; its first update is float64 SGD; labels follow the rows", async () => {
  const spec = await smallSpec();
  let w0: Float32Array = new Float32Array(), b0: Float32Array = new Float32Array();
  const run = await runStep(spec, true, 1, {
    outputs: true,
    before: async (ex) => void ([w0, b0] = [await ex.read(PROBE_WEIGHT), await ex.read(PROBE_BIAS)]),
  });
  try {
    const { ex } = run;
    const labels = await ex.read("test.labels");
    const n = spec.batch, C = DATA.train.classes;
    // the batch of step 0: positions 0..n-1 of epoch 0's shuffle of the 64 rows
    const rows = Array.from({ length: n }, (_, i) => shuffleIndex(i, DATA.train.n, spec.seed, 0));
    assert.deepEqual([...labels], rows.map((r) => DATA.train.labels[r]));
    const views = spec.views.length;
    let loss = 0;
    const gw = new Float64Array(w0.length), gb = new Float64Array(C);
    for (let v = 0; v < views; v++) {
      const f = await ex.read(`test.features${v}`), D = f.length / n;
      for (let i = 0; i < n; i++) {
        const z = Array.from({ length: C }, (_, c) => {
          let s = b0[c];
          for (let j = 0; j < D; j++) s += f[i * D + j] * w0[c * D + j];
          return s;
        });
        const m = Math.max(...z), total = z.reduce((a, x) => a + Math.exp(x - m), 0);
        loss += (m + Math.log(total) - z[labels[i]]) / n / views;
        for (let c = 0; c < C; c++) {
          const d = (Math.exp(z[c] - m) / total - (c === labels[i] ? 1 : 0)) / n / views;
          gb[c] += d;
          for (let j = 0; j < D; j++) gw[c * D + j] += d * f[i * D + j];
        }
      }
    }
    assertClose(await ex.read(PROBE_LOSS), [loss], { rtol: 1e-5, atol: 0 }, "probe loss");
    // SGD with momentum from a zero buffer: w1 = w0 − lr·g
    assertClose(await ex.read(PROBE_WEIGHT), w0.map((w, i) => w - PROBE_LR * gw[i]), { rtol: 0, atol: 1e-6 }, "w1");
    assertClose(await ex.read(PROBE_BIAS), b0.map((b, i) => b - PROBE_LR * gb[i]), { rtol: 0, atol: 1e-6 }, "b1");
    assert.ok(gw.some((g) => Math.abs(PROBE_LR * g) > 1e-4), "the update is larger than the tolerance");
  } finally {
    run.dispose();
  }
});

Deno.test("a run with --online-probe on logs the probe's test top-1 at each checkpoint and reports it", async () => {
  const d = mkdtempSync(join(tmpdir(), "probe-"));
  const out = join(d, "run");
  try {
    const spec = await smallSpec(["--online-probe", "on", "--steps", "6"]);
    const run = await runMethod({ spec, out, data: DATA, log: () => {} });
    run.dispose();
    const recs = readMetrics(join(out, "metrics.jsonl"));
    // epoch 1 ends at step 4 (index 3); the run's last checkpoint at step 6 (index 5)
    const probe = recs.filter((r) => "online_probe_top1" in r);
    assert.deepEqual(probe.map((r) => [r.step, r.epoch]), [[3, 1], [5, 2]]);
    for (const r of probe) assert.ok((r.online_probe_top1 as number) >= 0 && (r.online_probe_top1 as number) <= 1);
    const losses = recs.filter((r) => typeof r.loss === "number");
    assert.ok(losses.every((r) => Number.isFinite(r.online_probe_loss)), "every loss row has the probe's loss");
    assert.equal(run.report!.online_probe_top1, Math.round((probe[1].online_probe_top1 as number) * 1e4) / 1e4);
    assert.match(readFileSync(join(out, "loss.svg"), "utf8"), /online linear probe/);
    assert.ok(existsSync(join(out, "report.json")));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("resuming a run trained without the probe with --online-probe on is refused, naming the flag", async () => {
  const d = mkdtempSync(join(tmpdir(), "probe-"));
  const out = join(d, "run");
  try {
    const r = await train({ spec: await smallSpec(), out, data: DATA, stopAfter: 4, log: () => {} });
    r.dispose();
    const withProbe = await smallSpec(["--online-probe", "on"]);
    await assert.rejects(
      () => train({ spec: withProbe, out, resume: out, data: DATA, log: () => {} }),
      (e: Error) =>
        e instanceof CheckpointError && /trained without the online probe.*--online-probe off/.test(e.message),
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("the PyTorch export leaves the probe out and its README says so", async () => {
  const d = mkdtempSync(join(tmpdir(), "probe-torch-"));
  try {
    writeTorchProgram(await smallSpec(["--online-probe", "on"]), d);
    assert.match(readFileSync(join(d, "README.md"), "utf8"), /does not export it\s+and trains without it/);
    assert.doesNotMatch(readFileSync(join(d, "program.py"), "utf8"), /online_probe/);
    writeTorchProgram(await smallSpec(), join(d, "off"));
    assert.doesNotMatch(readFileSync(join(d, "off", "README.md"), "utf8"), /online linear probe/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

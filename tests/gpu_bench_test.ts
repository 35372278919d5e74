// The GPU bench's glue (bench/gpu.ts, bench/gpu_workloads.ts, bench/torch_gpu.py), without a GPU:
// the workloads are the ones the brief names and the default pipeline's own spec, both sides
// know every workload kind, the merged ratio is project / PyTorch, and the Fashion-MNIST
// stand-in loads like the real files; and the per-dispatch profile of `deno task bench --profile`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadDatasetSync } from "../data/load.ts";
import { spec as barlowDefault } from "../pipelines/barlow.ts";
import { mergeRow } from "../bench/gpu.ts";
import { standInFashionMnist, stepSpec, workloads } from "../bench/gpu_workloads.ts";
import { profileDispatches } from "../bench/profile.ts";
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { getGpu } from "./util/gpu.ts";

Deno.test("gpu bench workloads: the sizes the comparison is about, and the default run's own spec", () => {
  const w = Object.fromEntries(workloads(false).map((x) => [x.id, x]));
  assert.deepEqual(Object.keys(w), [
    "matmul_f32",
    "matmul_f16",
    "bt_default",
    "barlow_pipeline",
    "bt_reference",
    "resnet18_f32",
    "resnet18_f16",
  ]);
  assert.equal(w.matmul_f32.n, 4096);
  assert.equal(w.matmul_f16.dtype, "f16");
  assert.deepEqual([w.bt_reference.batch, w.bt_reference.encoder, w.bt_reference.proj], [256, [1024, 1024], [
    2048,
    2048,
  ]]);
  assert.deepEqual([w.resnet18_f32.batch, w.resnet18_f32.width, w.resnet18_f32.image], [256, 64, [3, 32, 32]]);
  assert.deepEqual(w.barlow_pipeline.flags, []); // the default run, no flags
  // the default step is pipelines/barlow.ts's step: same modules, views, loss, optimizer, batch
  const s = stepSpec(w.bt_default);
  for (const k of ["modules", "views", "branches", "loss", "optimizer", "batch"] as const) {
    assert.deepEqual(s[k], barlowDefault[k], k);
  }
  const r = stepSpec(w.resnet18_f32);
  assert.equal((r.modules.encoder as { kind: string }).kind, "resnet18");
  // small sizes for the dry run differ from the full ones everywhere it matters
  const small = workloads(true);
  assert.ok(small.every((x, i) => JSON.stringify(x) !== JSON.stringify(workloads(false)[i])));
});

Deno.test("gpu bench: PyTorch's side handles every workload kind the project's side defines", () => {
  const py = readFileSync(new URL("../bench/torch_gpu.py", import.meta.url), "utf8");
  const kinds = /KINDS = \{([^}]*)\}/.exec(py)![1];
  for (const w of workloads(false)) assert.ok(kinds.includes(`"${w.kind}"`), `torch_gpu.py lacks kind ${w.kind}`);
});

Deno.test("gpu bench merge: ratio is project seconds over PyTorch seconds, absent when either side is", () => {
  const w = workloads(false)[0];
  assert.equal(mergeRow(w, { seconds: 0.006 }, { seconds: 0.002 }).ratio, 3);
  assert.equal(mergeRow(w, { seconds: 0.001 }, { seconds: 0.004 }).ratio, 0.25);
  assert.equal(mergeRow(w, { skipped: "time budget" }, { seconds: 0.004 }).ratio, null);
  assert.equal(mergeRow(w, { seconds: 0.001 }, { error: "CUDA out of memory" }).ratio, null);
  assert.equal(mergeRow(w, undefined, undefined).project.skipped, "not run");
});

Deno.test("gpu bench: the Fashion-MNIST stand-in has the real set's shapes and loads through the same loader", () => {
  const dir = Deno.makeTempDirSync();
  try {
    standInFashionMnist(dir);
    const d = loadDatasetSync(`fashion-mnist:${dir}`, { trainLimit: 100, testLimit: 10 });
    assert.deepEqual([d.train.c, d.train.h, d.train.w], [1, 28, 28]);
    assert.equal(d.train.n, 100);
    // pixels vary (not a constant image) and labels are classes 0–9
    const px = d.train.images.subarray(0, 784);
    assert.ok(Math.max(...px) > Math.min(...px));
    assert.ok([...d.train.labels].every((l) => l >= 0 && l < 10));
    assert.equal(Deno.statSync(`${dir}/train-images-idx3-ubyte`).size, 16 + 60000 * 784);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bench --profile: per-dispatch GPU timestamps on an adapter that has them, grouped by kernel", async () => {
  const gpu = await getGpu();
  const g = new Graph();
  const a = g.input("a", [64, 48]), b = g.input("b", [48, 40]);
  g.output("y", a.matmul(b).relu().sum([1]));
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  try {
    ex.write("a", new Float32Array(64 * 48).fill(0.5));
    ex.write("b", new Float32Array(48 * 40).fill(0.25));
    const rows = await awaitGpu(profileDispatches(ex, 2));
    const dispatches = program.steps.filter((s) => s.kind === "dispatch").length;
    assert.equal(rows.reduce((n, r) => n + r.count, 0), dispatches);
    assert.ok(rows.some((r) => r.label.startsWith("matmul")), rows.map((r) => r.label).join("; "));
    assert.ok(rows.every((r) => r.ms > 0 && r.ms < 5000), JSON.stringify(rows.map((r) => r.ms)));
    assert.ok(
      rows.every((r) => r.source === (gpu.features.timestamps ? "gpu" : "wall")),
      JSON.stringify(rows.map((r) => r.source)),
    );
  } finally {
    ex.destroy();
  }
});

// Smoke tests run under Bun and Node (the Deno suite covers everything; this proves the same
// code runs on those runtimes): the device, a fused kernel against float64, and a few
// training steps. Node 20 runs the TypeScript through tsx: `node --import tsx tests/bun/smoke.ts`.
import { evaluate, step as cpuStep } from "../../cpu/reference.ts";
import { compile } from "../../compiler/compile.ts";
import { Graph } from "../../ir/graph.ts";
import { batchNorm, linear } from "../../nn/mod.ts";
import { getGpu } from "../../runtime/device.ts";
import { Executable } from "../../runtime/executable.ts";
import { addTrainingStep } from "../../step/training.ts";
import { assertClose, rand } from "../util/check.ts";
import { runGraphGPU } from "../util/gpu.ts";
import { loadCheckpoint, saveCheckpoint } from "../../io/checkpoint.ts";
import { openRunFolder } from "../../io/run_folder.ts";
import { appendMetrics, readMetrics } from "../../report/metrics.ts";
import { files, host } from "../../platform/current.ts";

const tests: [string, () => Promise<void>][] = [
  ["runtime: adapter and device", async () => {
    const gpu = await getGpu();
    if (!gpu.description) throw new Error("no adapter description");
  }],
  ["fused elementwise chain matches float64", async () => {
    const g = new Graph();
    const x = g.input("x", [7, 5]);
    g.output("y", x.mul(x).add(1).log().relu());
    const leaves = new Map([["x", rand(35, 3)]]);
    const want = evaluate(g, { leaves, scalars: {} })[g.outputs.get("y")!];
    assertClose((await runGraphGPU(g, leaves)).get("y")!, want, { rtol: 1e-5, atol: 1e-6 }, "bun fused");
  }],
  ["training step: 5 SGD steps of an MLP+BN follow float64", async () => {
    const build = () => {
      const g = new Graph();
      const x = g.input("x", [16, 9]);
      const loss = linear(batchNorm(linear(x, "a", 11), "bn").relu(), "b", 3).square().mean();
      addTrainingStep(g, loss, { optimizer: { kind: "sgd", momentum: 0.9 } });
      return g;
    };
    const gpu = await getGpu();
    const ex = await Executable.create(
      gpu,
      compile(build(), { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
    );
    const init = ex.initPersistent(3);
    const leaves = new Map<string, Float64Array>([...init].map(([k, v]) => [k, Float64Array.from(v)]));
    const g = build();
    for (let s = 0; s < 5; s++) {
      const xv = rand(16 * 9, 50 + s);
      ex.write("x", Float32Array.from(xv));
      ex.setScalars({ lr: 0.1 });
      ex.run();
      const got = (await ex.read("loss"))[0];
      leaves.set("x", xv);
      const want = cpuStep(g, { leaves, scalars: { lr: 0.1 } }).get("loss")![0];
      if (Math.abs(got - want) > 1e-4 * Math.max(1, want)) throw new Error(`step ${s}: ${got} vs ${want}`);
    }
  }],
  ["platform files: a run folder locked, a checkpoint and metrics written and read back", () => {
    const out = `${host().env("TMPDIR") ?? "/tmp"}/ssl-smoke-${host().pid}`;
    const folder = openRunFolder(out);
    try {
      if (!files().exists(`${out}/run.lock`)) throw new Error("no run.lock");
      saveCheckpoint(out, {
        tensors: { w: { shape: [2], data: Float32Array.of(1.5, -2) } },
        spec: {},
        specHash: "h",
        step: 3,
        epoch: 0,
      });
      appendMetrics(`${out}/metrics.jsonl`, { step: 0, loss: NaN });
      const ck = loadCheckpoint(out);
      if (ck.step !== 3 || ck.tensors.w.data[1] !== -2) throw new Error(`checkpoint read back: step ${ck.step}`);
      if (!Number.isNaN(readMetrics(`${out}/metrics.jsonl`)[0].loss)) throw new Error("metrics read back");
    } finally {
      folder.close();
      for (const f of files().readdir(out)) files().unlink(`${out}/${f}`);
      files().rmdir(out);
    }
    return Promise.resolve();
  }],
];

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
let failed = 0;
for (const [name, fn] of tests) {
  try {
    await fn();
    console.log(`${runtime} ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`${runtime} FAILED ${name}: ${(e as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);

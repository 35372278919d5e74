// The page's platform end to end, without a browser: Deno has its own WebGPU (wgpu, the
// implementation Firefox uses) at navigator.gpu, so pagePlatform() — navigator.gpu, an in-memory
// file store, a process with no arguments or signals, the autotune cache in a Map — trains a
// small run here exactly as a page would, with WGSL compiled by another implementation than Dawn.
// (One run per process: getGpu() keeps the first device, so this file opens no Dawn device.)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { usePlatform } from "../platform/current.ts";
import { navigatorGpu, pageProcess } from "../platform/browser.ts";
import { memoryFiles } from "../platform/files.ts";
import { memoryStore } from "../platform/store.ts";
import { getGpu } from "../runtime/device.ts";
import { train } from "../train/trainer.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

Deno.test("train() runs on the page's platform: navigator.gpu, files in memory, no process", async () => {
  const files = memoryFiles();
  const restore = usePlatform({ files, process: pageProcess, store: memoryStore(), gpu: navigatorGpu });
  try {
    const gpu = await getGpu();
    assert.ok(gpu.description.length > 0);
    assert.equal((globalThis as Record<string, unknown>).__sslDawnInstance, undefined, "dawn.node was never loaded");
    const spec = await smallPipeline("simclr", { img: 16, batch: 16, steps: 3, warmup: 0 }, [], (s) => {
      s.epochs = 1;
      s.eval = { ...s.eval, knnK: 20 };
      s.data = { ...s.data, trainLimit: 64, testLimit: 16 };
    });
    const run = await train({ spec, out: "runs/page", logEvery: 1, log: () => {} });
    run.dispose();
    assert.equal(run.losses.length, 3);
    for (const l of run.losses) assert.ok(Number.isFinite(l.loss) && l.loss > 0, `step ${l.step}: loss ${l.loss}`);
    assert.deepEqual(files.list().map((f) => f.path), ["runs/page/checkpoint.safetensors", "runs/page/metrics.jsonl"]);
    const ck = readSafetensors("runs/page/checkpoint.safetensors");
    assert.equal(ck.metadata.step, "3");
    assert.ok(!existsSync("runs/page"), "nothing was written to the disk");
  } finally {
    restore();
  }
});

// One run across both engines through the same checkpoint files: Barlow Twins (pipelines/barlow.ts
// at test size) trained 20 steps on WebGPU, continued 20 steps by the exported PyTorch program
// (its own data reader, epoch order, views and optimizer), then 20 more on WebGPU, against one
// uninterrupted 60-step WebGPU run: the per-step losses and the final state agree within the two
// engines' arithmetic (1e-3 relative; measured differences are printed). 60 steps at 20 steps per
// epoch cross two epoch boundaries, so the shuffled order of every epoch is exercised.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { train } from "../train/trainer.ts";
import { writeFileSync } from "node:fs";
import { embed, npyBytes } from "../tools/embed.ts";
import { exportSpec, python, readTensors, relErr, requireTorch, runCases, tempDir, trainRuns } from "./util/torch.ts";
import { smallPipelineSpec, zeroGradientParams } from "./util/torch_specs.ts";

const TOL = 1e-3;

Deno.test("torch export: WebGPU 20 steps → PyTorch 20 → WebGPU 20 continues the 60-step WebGPU run", async () => {
  requireTorch();
  const root = tempDir("roundtrip");
  // 320 synthetic images, batch 16: 20 steps per epoch, 60 steps = 3 epochs
  const spec = await smallPipelineSpec("barlow", 16, 16, ["--train-limit", "320", "--epochs", "3"]);
  const quiet = { log: () => {}, logEvery: 1 };
  const whole = await train({ spec, out: join(root, "whole"), ...quiet });
  whole.exec.destroy();
  const a = await train({ spec, out: join(root, "a"), stopAfter: 20, ...quiet });
  a.exec.destroy();
  const program = exportSpec(spec, root, "program");
  trainRuns(root, [{
    program,
    args: ["--resume", join(root, "a"), "--steps", "40", "--log-every", "1", "--out", join(root, "b")],
  }]);
  const c = await train({ spec, out: join(root, "c"), resume: join(root, "b"), stopAfter: 60, ...quiet });
  c.exec.destroy();

  const ref = new Map(
    readMetrics(join(root, "whole", "metrics.jsonl")).map((r) => [r.step as number, r.loss as number]),
  );
  const joined = [
    ...readMetrics(join(root, "a", "metrics.jsonl")),
    ...readMetrics(join(root, "b", "metrics.jsonl")),
    ...readMetrics(join(root, "c", "metrics.jsonl")),
  ];
  assert.deepEqual(
    joined.map((r) => r.step),
    [...Array(60).keys()],
    "one loss per step, in order, across the three runs",
  );
  let worst = 0;
  for (const r of joined) {
    const want = ref.get(r.step as number)!;
    const e = Math.abs((r.loss as number) - want) / Math.abs(want);
    assert(
      e <= TOL,
      `step ${r.step}: loss ${r.loss} vs ${want} of the uninterrupted run (relative ${e.toExponential(2)})`,
    );
    worst = Math.max(worst, e);
  }
  const end = loadCheckpoint(join(root, "c")), endRef = loadCheckpoint(join(root, "whole"));
  assert.equal(end.step, 60);
  const noise = [...zeroGradientParams(spec)].map((p) => `${p}.momentum`);
  let worstState = 0;
  for (const [name, t] of Object.entries(endRef.tensors)) {
    if (noise.includes(name)) continue;
    const e = relErr(end.tensors[name].data, t.data);
    assert(e <= TOL, `${name} after 60 steps: relative error ${e.toExponential(2)} against the uninterrupted run`);
    worstState = Math.max(worstState, e);
  }
  // the PyTorch-written checkpoint through the project's embedding tool
  const e = await embed({ checkpoint: join(root, "b"), out: join(root, "feats.npy"), split: "test", limit: 64 });
  writeFileSync(join(root, "feats.npy"), npyBytes(e.features, [e.n, e.dim]));
  writeFileSync(join(root, "feats.labels.npy"), npyBytes(e.labels, [e.n]));
  python([join(program, "train.py"), "--resume", join(root, "b"), "--encoder-only", join(root, "encoder.pt")]);
  runCases(root, [{
    kind: "embed",
    program,
    encoder: join(root, "encoder.pt"),
    npy: join(root, "feats.npy"),
    n: 64,
    out: join(root, "embed.safetensors"),
  }]);
  const emb = readTensors(join(root, "embed.safetensors"));
  assert.deepEqual(emb.npy.shape, [64, e.dim]);
  assert.deepEqual(Array.from(emb.npy.data), Array.from(e.features), "numpy reads the .npy back exactly");
  assert.deepEqual(Array.from(emb.labels.data), Array.from(emb.want_labels.data), "labels");
  const embErr = relErr(emb.features.data, e.features);
  assert(embErr <= 1e-4, `embeddings: the exported encoder differs from tools/embed.ts by ${embErr.toExponential(2)}`);
  const first = ref.get(0)!, last = ref.get(59)!;
  console.log(
    `loss ${first.toFixed(3)} → ${last.toFixed(3)}; losses within ${
      worst.toExponential(1)
    } of the uninterrupted run (PyTorch steps 20–39), final state within ${
      worstState.toExponential(1)
    }; embeddings within ${embErr.toExponential(1)}`,
  );
});

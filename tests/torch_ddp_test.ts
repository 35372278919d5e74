// Distributed training of the exported program: torchrun with 2 gloo processes on a global
// batch of 64 (each rank a contiguous shard of 32 rows; BN statistics, Barlow Twins' C,
// VICReg's covariance, NT-Xent's negatives and MoCo's queue over the whole global batch) against
// one process with the same batch of 64: per-step losses within 1e-4 and every tensor of the
// final checkpoint within 1e-3, for Barlow Twins, SimCLR, MoCo, VICReg and BYOL.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { PipelineSpec } from "../dsl/schema.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { exportSpec, relErr, requireTorch, tempDir, trainRuns } from "./util/torch.ts";
import { smallPipelineSpec, zeroGradientParams } from "./util/torch_specs.ts";

const METHODS = ["barlow", "simclr", "moco", "vicreg", "byol"];
const STEPS = 3;

Deno.test("torch export: torchrun DDP (2 gloo ranks, global batch 64) equals one process with batch 64", async () => {
  requireTorch();
  const root = tempDir("ddp");
  const programs: { m: string; spec: PipelineSpec; dir: string }[] = [];
  for (const m of METHODS) {
    // exported at batch 32; both runs ask for a global batch of 64 (--batch rescales lr and rehashes)
    const spec = await smallPipelineSpec(m, 32, 16);
    programs.push({ m, spec, dir: exportSpec(spec, root, m) });
  }
  const runsOf = (tag: string) =>
    programs.map(({ m, dir }) => ({
      program: dir,
      args: ["--batch", "64", "--steps", String(STEPS), "--log-every", "1", "--out", join(root, `${m}-${tag}`)],
    }));
  trainRuns(root, runsOf("one"), 1);
  const log = trainRuns(root, runsOf("ddp"), 2);
  assert.equal(
    log.match(/global batch 64 on 2 process\(es\)/g)?.length,
    METHODS.length,
    `every run on 2 ranks:\n${log}`,
  );
  const report: string[] = [];
  for (const { m, spec } of programs) {
    const one = readMetrics(join(root, `${m}-one`, "metrics.jsonl"));
    const ddp = readMetrics(join(root, `${m}-ddp`, "metrics.jsonl"));
    assert.equal(ddp.length, STEPS, `${m}: logged steps`);
    let lossErr = 0;
    one.forEach((r, k) => {
      const e = Math.abs((ddp[k].loss as number) - (r.loss as number)) / Math.abs(r.loss as number);
      assert(e <= 1e-4, `${m}: step ${r.step}: loss ${ddp[k].loss} (2 ranks) vs ${r.loss} (1 process)`);
      lossErr = Math.max(lossErr, e);
    });
    const a = loadCheckpoint(join(root, `${m}-one`)), b = loadCheckpoint(join(root, `${m}-ddp`));
    assert.equal(a.step, STEPS);
    assert.equal(b.specHash, a.specHash);
    const noise = [...zeroGradientParams(spec)].map((p) => `${p}.momentum`);
    let worst = 0;
    for (const [name, t] of Object.entries(a.tensors)) {
      if (noise.includes(name)) continue;
      const e = relErr(b.tensors[name].data, t.data);
      assert(e <= 1e-3, `${m}: ${name}: relative error ${e.toExponential(2)} between 2 ranks and 1 process`);
      worst = Math.max(worst, e);
    }
    report.push(
      `${m}: losses within ${lossErr.toExponential(1)}, ${Object.keys(a.tensors).length} tensors within ${
        worst.toExponential(1)
      }`,
    );
  }
  console.log(report.join("\n"));
});

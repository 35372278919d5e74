// train()'s onGroup: every step's loss in order, group by group, and at diagnostics steps the
// diagnostics with the cross-correlation matrix C itself (for a page's live heatmap). Asking for
// it changes nothing the run writes: the losses and metrics rows are the same without it.
import assert from "node:assert/strict";
import { makeSynthetic } from "../data/synthetic.ts";
import { readMetrics } from "../report/metrics.ts";
import { type GroupProgress, train } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const IMG = 12, BATCH = 16, STEPS = 12;
const data = makeSynthetic({ train: 4 * BATCH, test: 16, size: IMG, classes: 4, seed: 3 });
const quiet = () => {};

Deno.test("onGroup hears every step, and C at diagnostics steps matching the diagnostics", async () => {
  const spec = await smallPipeline("barlow", { img: IMG, batch: BATCH, steps: STEPS, warmup: 0.5 }, ["--epochs", "3"]);
  const groups: GroupProgress[] = [];
  const rows: Record<string, unknown>[][] = [];
  for (const listen of [true, false]) {
    const out = Deno.makeTempDirSync({ prefix: "train_progress_test_" });
    try {
      const r = await train({
        spec,
        out,
        data,
        logEvery: 1,
        diagEvery: 4,
        groupSteps: 5,
        log: quiet,
        ...(listen ? { onGroup: (g: GroupProgress) => groups.push(g) } : {}),
      });
      r.dispose();
      rows.push(readMetrics(`${out}/metrics.jsonl`).map(({ seconds: _, ...rest }) => rest));
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  }
  const steps = groups.flatMap((g) => g.records.map((r) => r.step));
  assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i));
  assert.ok(groups.every((g) => g.end === STEPS && g.totalSteps === STEPS && g.d === 16));
  const measured = groups.flatMap((g) => g.records).filter((r) => r.diag);
  assert.ok(measured.length >= 3, `${measured.length} diagnostics steps`);
  for (const r of measured) {
    assert.ok(r.C, `C at step ${r.step}`);
    assert.equal(r.C.length, 16 * 16);
    // C's own diagonal mean is the diagnostics' corr_diag_mean: the matrix is C, at the right offset
    let diag = 0, off = 0;
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) i === j ? (diag += r.C[i * 16 + j]) : (off += Math.abs(r.C[i * 16 + j]));
    }
    assert.ok(
      Math.abs(diag / 16 - r.diag!.corr_diag_mean) < 1e-5,
      `step ${r.step}: ${diag / 16} vs ${r.diag!.corr_diag_mean}`,
    );
    assert.ok(Math.abs(off / 240 - r.diag!.corr_offdiag_abs_mean) < 1e-5);
  }
  assert.ok(groups.flatMap((g) => g.records).every((r) => !r.diag === !r.C));
  // what the run writes is the same with and without a listener (timings aside)
  assert.deepEqual(rows[0], rows[1]);
});

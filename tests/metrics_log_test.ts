// The metrics log (train/metrics_log.ts): which of the step records the loop reads back become
// rows of metrics.jsonl, and what each row holds.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMetrics } from "../report/metrics.ts";
import { MetricsLog } from "../train/metrics_log.ts";
import type { StepRecord } from "../train/readback.ts";

const record = (step: number, extra: Record<string, number> = {}, diag?: Record<string, number>): StepRecord => ({
  step,
  loss: 100 - step,
  extra,
  diag,
});

Deno.test("metrics log: rows at logging steps, epoch ends, the last step and diagnostics steps", () => {
  const path = join(mkdtempSync(join(tmpdir(), "metrics-log-")), "metrics.jsonl");
  const t0 = performance.now();
  const log = new MetricsLog({ path, logEvery: 4, stepsPerEpoch: 10, end: 13, lr: (s) => s / 100, t0 });
  log.add([0, 1, 2, 3, 4, 5].map((s) => record(s)));
  log.add([record(6, {}, { rank: 3 }), ...[7, 8, 9, 10, 11, 12].map((s) => record(s))]);
  // every 4th step (3, 7, 11), the epoch's end (9), the run's last step (12), the diagnostics step (6)
  assert.deepEqual(log.losses.map((l) => l.step), [3, 6, 7, 9, 11, 12]);
  const rows = readMetrics(path);
  assert.deepEqual(rows.map((r) => [r.step, r.epoch, r.loss, r.lr]), [
    [3, 1, 97, 0.03],
    [6, 1, 94, 0.06],
    [7, 1, 93, 0.07],
    [9, 1, 91, 0.09],
    [11, 2, 89, 0.11],
    [12, 2, 88, 0.12],
  ]);
  assert.equal(rows[1].rank, 3);
  assert.equal(rows[0].rank, undefined);
  assert.deepEqual(log.lastDiag, { rank: 3 });
  assert.ok(rows.every((r) => typeof r.seconds === "number" && r.seconds >= 0));
  assert.ok(rows.every((r) => !("loss_scale" in r)));
});

Deno.test("metrics log: under mixed precision each row has the loss scale and the steps skipped so far", () => {
  const path = join(mkdtempSync(join(tmpdir(), "metrics-log-")), "metrics.jsonl");
  const log = new MetricsLog({ path, logEvery: 2, stepsPerEpoch: 100, end: 100, lr: () => 0.1, t0: performance.now() });
  const skips = [1, 0, 1, 1, 0, 0];
  log.add(skips.map((k, s) => record(s, { loss_scale: 2 ** (16 - s), step_skipped: k })));
  assert.deepEqual(readMetrics(path).map((r) => [r.step, r.loss_scale, r.skipped_steps]), [
    [1, 2 ** 15, 1],
    [3, 2 ** 13, 3],
    [5, 2 ** 11, 3],
  ]);
});

// The run's metrics from the step records the loop reads back (loop.ts, readback.ts): one row of
// metrics.jsonl at each logging step (every `logEvery` steps, at each epoch's end and at the
// run's last step) and at each diagnostics step, with the epoch, the learning rate, the loss
// scale and the steps skipped so far under mixed precision, the online probe's training loss
// (when the step has one), the diagnostics, and the seconds since the loop began. The loop
// itself knows nothing of logging.
import { appendMetrics } from "../report/metrics.ts";
import { PROBE_LOSS } from "../step/online_probe.ts";
import type { StepRecord } from "./readback.ts";

export interface MetricsLogOptions {
  /** the metrics.jsonl file rows are appended to */
  path: string;
  logEvery: number;
  stepsPerEpoch: number;
  /** the run's last step + 1 */
  end: number;
  /** the main learning rate at a step */
  lr(step: number): number;
  /** performance.now() when the loop began */
  t0: number;
}

export class MetricsLog {
  /** the losses of the rows written, in order */
  readonly losses: { step: number; loss: number }[] = [];
  /** the diagnostics of the last row that had them */
  lastDiag: Record<string, number> = {};
  /** mixed precision: steps skipped for overflowing gradients so far */
  private skipped = 0;

  constructor(private readonly o: MetricsLogOptions) {}

  private logged(s: StepRecord): boolean {
    const { logEvery, stepsPerEpoch, end } = this.o;
    return (s.step + 1) % logEvery === 0 || s.step === end - 1 || (s.step + 1) % stepsPerEpoch === 0;
  }

  /** Takes the records of one group of steps, in order (every step of it). */
  add(records: StepRecord[]): void {
    for (const r of records) {
      this.skipped += r.extra.step_skipped ?? 0;
      if (!this.logged(r) && !r.diag) continue;
      this.losses.push({ step: r.step, loss: r.loss });
      const rec: Record<string, unknown> = {
        step: r.step,
        epoch: Math.floor(r.step / this.o.stepsPerEpoch) + 1,
        loss: r.loss,
        lr: this.o.lr(r.step),
      };
      if ("loss_scale" in r.extra) Object.assign(rec, { loss_scale: r.extra.loss_scale, skipped_steps: this.skipped });
      if (PROBE_LOSS in r.extra) rec.online_probe_loss = r.extra[PROBE_LOSS];
      if (r.diag) Object.assign(rec, this.lastDiag = r.diag);
      rec.seconds = (performance.now() - this.o.t0) / 1000;
      appendMetrics(this.o.path, rec);
    }
  }
}

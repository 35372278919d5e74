// A training progress line: epoch, step/total with a bar, loss, images/s, ETA.
//
// On a terminal the line is redrawn in place (\r + clear-to-end) at most every 100 ms; when
// stdout is a file or pipe (CI logs) a plain line is printed every 10 s and at each epoch
// end, so logs stay readable. Rates count from the first update, so a slow first step
// (shader compilation) does not skew the ETA for the rest of the run.
import { host } from "../platform/current.ts";
import { formatDuration, formatNumber } from "./format.ts";

export interface ProgressState {
  epoch: number; // 1-based for display
  epochs: number;
  step: number; // steps done in this epoch
  total: number; // steps per epoch
  loss?: number;
  imagesPerSec?: number;
  etaSeconds?: number;
}

/** The progress line for a state, `barWidth` characters of bar (0 = no bar). */
export function formatProgress(s: ProgressState, barWidth = 20): string {
  const digits = String(s.total).length;
  const parts = [`epoch ${String(s.epoch).padStart(String(s.epochs).length)}/${s.epochs}`];
  if (barWidth > 0) {
    const filled = s.total > 0 ? Math.min(barWidth, Math.floor((s.step / s.total) * barWidth)) : 0;
    parts.push(`[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`);
  }
  parts.push(`${String(s.step).padStart(digits)}/${s.total}`);
  if (s.loss !== undefined) parts.push(`loss ${formatNumber(s.loss)}`);
  if (s.imagesPerSec !== undefined) parts.push(`${formatNumber(Math.round(s.imagesPerSec))} img/s`);
  if (s.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
  return parts.join(" ");
}

/** Whether stdout is a terminal, under Deno or Bun/Node. */
const stdoutIsTerminal = () => host().stdoutIsTerminal();

const writeStdout = (s: string) => host().writeStdout(s);

export interface ProgressOptions {
  epochs: number;
  /** Steps per epoch. */
  total: number;
  /** Images per step (for images/s). */
  batchSize: number;
  /** Default: detect. */
  tty?: boolean;
  write?: (s: string) => void;
  /** Milliseconds clock (default performance.now). */
  now?: () => number;
  /** Minimum time between outputs (default 100 ms on a TTY, 10 s otherwise). */
  intervalMs?: number;
  barWidth?: number;
}

export class Progress {
  private readonly tty: boolean;
  private readonly write: (s: string) => void;
  private readonly now: () => number;
  private readonly interval: number;
  private t0 = NaN;
  private done0 = 0;
  private lastOut = -Infinity;
  private dirty = false;

  constructor(private readonly o: ProgressOptions) {
    this.tty = o.tty ?? stdoutIsTerminal();
    this.write = o.write ?? writeStdout;
    this.now = o.now ?? (() => performance.now());
    this.interval = o.intervalMs ?? (this.tty ? 100 : 10_000);
  }

  /** The state after `step` steps of 1-based `epoch`; the first call starts the rate clock. */
  state(epoch: number, step: number, loss?: number, t = this.now()): ProgressState {
    const { epochs, total, batchSize } = this.o;
    const done = (epoch - 1) * total + step;
    if (Number.isNaN(this.t0)) [this.t0, this.done0] = [t, done];
    const dt = (t - this.t0) / 1000, steps = done - this.done0;
    const rate = dt > 0 && steps > 0 ? steps / dt : undefined;
    return {
      epoch,
      epochs,
      step,
      total,
      loss,
      imagesPerSec: rate !== undefined ? rate * batchSize : undefined,
      etaSeconds: rate !== undefined ? (epochs * total - done) / rate : undefined,
    };
  }

  /** Call after each step; prints when the interval has passed, and always at an epoch's end. */
  update(epoch: number, step: number, loss?: number): void {
    const t = this.now();
    const st = this.state(epoch, step, loss, t);
    if (t - this.lastOut < this.interval && step < this.o.total) return;
    this.lastOut = t;
    const line = formatProgress(st, this.o.barWidth ?? 20);
    if (this.tty) {
      this.write(`\r${line}\x1b[K`);
      this.dirty = true;
      if (step >= this.o.total) this.finishLine();
    } else this.write(line + "\n");
  }

  /** Ends a redrawn line so later output starts on a fresh line. */
  finishLine(): void {
    if (this.dirty) this.write("\n");
    this.dirty = false;
  }
}

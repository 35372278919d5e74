// Images per second and the time left, from the steps the loop has read back so far. The rate
// is measured over a sliding window of recent updates (the first groups include compiling and
// warm-up, a paused run's gap is not training), so the estimate follows the current speed.

export interface PaceSample {
  step: number;
  /** seconds, any clock */
  time: number;
}

export class Pace {
  private samples: PaceSample[] = [];

  constructor(private readonly batch: number, private readonly window = 8) {}

  /** A progress report: `step` steps are done at `time`. */
  add(step: number, time: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && step <= last.step) return;
    this.samples.push({ step, time });
    if (this.samples.length > this.window) this.samples.shift();
  }

  /** Forgets the samples (after a pause, so the gap does not count as slow steps). */
  reset(): void {
    this.samples = [];
  }

  /** Steps per second over the window; undefined until two samples. */
  stepsPerSecond(): number | undefined {
    const s = this.samples;
    if (s.length < 2) return undefined;
    const a = s[0], b = s[s.length - 1];
    return b.time > a.time ? (b.step - a.step) / (b.time - a.time) : undefined;
  }

  imagesPerSecond(): number | undefined {
    const r = this.stepsPerSecond();
    return r === undefined ? undefined : r * this.batch;
  }

  /** Seconds until `totalSteps` at the current rate. */
  secondsLeft(totalSteps: number): number | undefined {
    const r = this.stepsPerSecond(), s = this.samples[this.samples.length - 1];
    return r === undefined || !s || r <= 0 ? undefined : Math.max(0, totalSteps - s.step) / r;
  }
}

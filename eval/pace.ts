// Waiting for GPU work without stealing its CPU. On lavapipe the "GPU" is the same 2 cores,
// and awaiting a dawn.node promise busy-polls one of them (docs/architecture.md, "The platform": a 0.4 s job took
// 0.8–1.0 s under Deno). For a loop of similar jobs (the kNN's chunks of test rows) we learn how
// long one job takes and sleep through ~90% of it before asking for the readback.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Pacer {
  private submits: number[] = [];
  private lastDone = 0;
  /** seconds one job takes on the device (learned from the previous job; 0 until known) */
  estimate = 0;

  constructor(private fraction = 0.9) {}

  /** call right after submitting a job */
  submitted(): void {
    this.submits.push(performance.now());
  }

  /** sleep until the oldest unread job is nearly done; call before starting its readback */
  async beforeRead(): Promise<void> {
    const s = this.submits[0];
    if (s === undefined || this.estimate <= 0) return;
    const wake = Math.max(s, this.lastDone) + this.fraction * this.estimate * 1000;
    const ms = wake - performance.now();
    if (ms > 1) await sleep(ms);
  }

  private reads = 0;

  /**
   * call when the oldest job's readback has resolved. The first job is not learned from: it
   * includes the lazy shader compiles (seconds to minutes on lavapipe), and an estimate taken
   * from it made every following job sleep ~0.9× that, shrinking only 10% per job (measured:
   * a 20-step run with cold shaders spent 136 of its 153 s asleep).
   */
  read(): void {
    const s = this.submits.shift();
    const now = performance.now();
    if (s !== undefined && this.reads++ > 0) this.estimate = (now - Math.max(s, this.lastDone)) / 1000;
    this.lastDone = now;
  }
}

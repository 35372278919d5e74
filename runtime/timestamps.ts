// GPU time of individual compute passes through WebGPU timestamp queries ('timestamp-query').
// WebGPU writes timestamps only at pass boundaries, so a profiler gives each dispatch its own
// pass; the command order (and so every dependency) stays that of the real step. Dawn rounds
// timestamps to 65.536 µs unless the instance disables 'timestamp_quantization'
// (runtime/device.ts does). A span that comes back zero or negative means the implementation did
// not really time the pass, and callers fall back to wall clock.
import { awaitGpu } from "./wait.ts";

/** WebGPU's largest query set */
const MAX_QUERIES = 4096;

/** Timestamp pairs for up to `passes` compute passes per submit, resolved into one readback. */
export class PassTimer {
  private constructor(
    readonly device: GPUDevice,
    readonly passes: number,
    private querySet: GPUQuerySet,
    private resolveBuf: GPUBuffer,
    private readBuf: GPUBuffer,
  ) {}

  /** undefined when the device has no 'timestamp-query' */
  static create(device: GPUDevice, passes: number): PassTimer | undefined {
    if (!device.features.has("timestamp-query")) return undefined;
    if (passes < 1 || 2 * passes > MAX_QUERIES) {
      throw new Error(`PassTimer: ${passes} passes (1 to ${MAX_QUERIES / 2})`);
    }
    const bytes = 16 * passes;
    return new PassTimer(
      device,
      passes,
      device.createQuerySet({ type: "timestamp", count: 2 * passes }),
      device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    );
  }

  /** the timestampWrites of pass `i` */
  writes(i: number): GPUComputePassTimestampWrites {
    if (i < 0 || i >= this.passes) throw new Error(`PassTimer: pass ${i} of ${this.passes}`);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** append the resolve of the first `count` passes to `enc` (after the passes) */
  resolve(enc: GPUCommandEncoder, count = this.passes): void {
    enc.resolveQuerySet(this.querySet, 0, 2 * count, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, 16 * count);
  }

  /** seconds of each of the first `count` passes of the submitted work (NaN where not timed) */
  async read(count = this.passes): Promise<number[]> {
    await awaitGpu(this.readBuf.mapAsync(GPUMapMode.READ, 0, 16 * count));
    const t = new BigInt64Array(this.readBuf.getMappedRange(0, 16 * count).slice(0));
    this.readBuf.unmap();
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = Number(t[2 * i + 1] - t[2 * i]) / 1e9;
      out.push(s > 0 ? s : NaN);
    }
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
    this.readBuf.destroy();
  }
}

/** Something that records one dispatch (pipeline, bind group, workgroups) into a pass. */
export type Recorder = (pass: GPUComputePassEncoder) => void;

/**
 * GPU seconds of each dispatch in `records`, each in its own timed pass, submitted in order as
 * one piece of work per chunk of 2048. undefined without 'timestamp-query'; NaN for a dispatch
 * the implementation did not time.
 */
export async function timeDispatches(device: GPUDevice, records: Recorder[]): Promise<number[] | undefined> {
  if (!device.features.has("timestamp-query")) return undefined;
  const out: number[] = [];
  const chunk = MAX_QUERIES / 2;
  const timer = PassTimer.create(device, Math.min(chunk, Math.max(1, records.length)))!;
  try {
    for (let s = 0; s < records.length; s += chunk) {
      const part = records.slice(s, s + chunk);
      const enc = device.createCommandEncoder();
      part.forEach((rec, i) => {
        const pass = enc.beginComputePass({ timestampWrites: timer.writes(i) });
        rec(pass);
        pass.end();
      });
      timer.resolve(enc, part.length);
      device.queue.submit([enc.finish()]);
      out.push(...await timer.read(part.length));
    }
  } finally {
    timer.destroy();
  }
  return out;
}

/** The middle of the sorted times (the upper middle for an even count). */
export const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Seconds per repetition of what `record` puts in one compute pass: `rounds` submits of one pass
 * recording `reps` repetitions, median over rounds. GPU timestamps bracket the pass when the
 * device has 'timestamp-query'; otherwise wall clock from submit to onSubmittedWorkDone. Awaiting
 * a dawn.node promise busy-polls a core, which on a CPU adapter steals from the kernel, so when
 * the duration is roughly known (`expectS` per repetition) we sleep through most of it first.
 */
export async function timePass(
  device: GPUDevice,
  record: (pass: GPUComputePassEncoder, reps: number) => void,
  { reps = 1, rounds = 3, expectS = 0 }: { reps?: number; rounds?: number; expectS?: number } = {},
): Promise<{ seconds: number; source: "gpu" | "wall" }> {
  const timer = PassTimer.create(device, 1);
  const times: number[] = [];
  let gpuTimed = timer !== undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass(timer ? { timestampWrites: timer.writes(0) } : {});
      record(pass, reps);
      pass.end();
      timer?.resolve(enc, 1);
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      if (expectS > 0) await sleep(expectS * reps * 900);
      await awaitGpu(device.queue.onSubmittedWorkDone());
      const wall = (performance.now() - t0) / 1000;
      const gpu = timer ? (await timer.read(1))[0] : NaN;
      if (!(gpu > 0)) gpuTimed = false;
      times.push(gpu > 0 ? gpu : wall);
    }
  } finally {
    timer?.destroy();
  }
  return { seconds: median(times) / reps, source: gpuTimed ? "gpu" : "wall" };
}

// What the training loop (loop.ts) reads back per step, and where it sits: each group of steps
// copies, inside its own command buffer, every step's loss, the other per-step scalar outputs
// asked for, and the diagnostics records of diagnostics steps into one staging buffer, which the
// loop maps when the group is done. This module owns that layout: the copies recorded per step
// and the decoding of a mapped buffer into step records.
import { size } from "../kernels/op.ts";
import type { Executable } from "../runtime/executable.ts";
import type { Diagnostics } from "./diagnostics.ts";

export interface StepRecord {
  step: number;
  loss: number;
  /** the other per-step scalar outputs asked for (LoopOptions.perStep) */
  extra: Record<string, number>;
  /** diagnostics, at diagnostics steps */
  diag?: Record<string, number>;
  /** the cross-correlation matrix C (d×d, row-major), at diagnostics steps when asked for (Diagnostics.matrix) */
  C?: Float32Array;
}

export class NonFiniteLossError extends Error {
  constructor(message: string, readonly step: number) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/**
 * The staging layout of a group of at most G steps: G losses, then G values of each extra
 * output, then up to maxDiag diagnostics records.
 */
export class StepReadback {
  readonly bytes: number;
  private readonly lossStorage: number;
  private readonly extras: { name: string; storage: number }[];
  private readonly diagBase: number;
  private readonly diagBytes: number;

  constructor(
    private readonly ex: Executable,
    private readonly G: number,
    perStep: string[],
    private readonly diagnostics: Diagnostics | undefined,
    maxDiag: number,
  ) {
    const loss = ex.program.outputs.get("loss")?.storage;
    if (loss === undefined) throw new Error("the step has no 'loss' output");
    this.lossStorage = loss;
    this.extras = perStep.map((name) => {
      const out = ex.program.outputs.get(name);
      if (!out || size(out.shape) !== 1) throw new Error(`the step has no scalar output '${name}'`);
      return { name, storage: out.storage };
    });
    this.diagBytes = diagnostics?.recordBytes ?? 0;
    this.diagBase = align16(G * 4 * (1 + this.extras.length));
    this.bytes = this.diagBase + maxDiag * this.diagBytes;
  }

  /**
   * Records the copies of the k-th step of a group into `staging`; the `d`-th diagnostics step of
   * the group (d ≥ 0) also copies its record. Returns that record's byte offset, if any.
   */
  encodeStep(enc: GPUCommandEncoder, staging: GPUBuffer, k: number, d?: number): number | undefined {
    this.ex.encodeCopy(enc, this.lossStorage, staging, 4 * k, 4);
    this.extras.forEach((x, j) => this.ex.encodeCopy(enc, x.storage, staging, 4 * (this.G * (1 + j) + k), 4));
    if (d === undefined) return undefined;
    const at = this.diagBase + d * this.diagBytes;
    this.diagnostics!.encode(enc, staging, at);
    return at;
  }

  /**
   * The records of `count` steps from `first`, read from a mapped staging range; `diag` maps a
   * diagnostics step to its record's offset. A non-finite loss throws, naming the step and epoch.
   */
  decode(
    range: ArrayBuffer,
    first: number,
    count: number,
    diag: Map<number, number>,
    stepsPerEpoch: number,
  ): StepRecord[] {
    const losses = new Float32Array(range, 0, count);
    const extraValues = this.extras.map((_, j) => new Float32Array(range, 4 * this.G * (1 + j), count));
    const records: StepRecord[] = [];
    for (let k = 0; k < count; k++) {
      const step = first + k, loss = losses[k];
      if (!Number.isFinite(loss)) {
        const epoch = Math.floor(step / stepsPerEpoch) + 1;
        throw new NonFiniteLossError(`loss became ${loss} at step ${step} (epoch ${epoch})`, step);
      }
      const at = diag.get(step);
      const extra: Record<string, number> = {};
      this.extras.forEach((x, j) => (extra[x.name] = extraValues[j][k]));
      const record = at === undefined ? undefined : range.slice(at, at + this.diagBytes);
      const diagValues = record && this.diagnostics!.decode(record);
      const C = record && this.diagnostics!.matrixOf(record);
      records.push({ step, loss, extra, diag: diagValues, ...(C ? { C } : {}) });
    }
    return records;
  }
}

/** Staging buffers for group readbacks, reused (a flat footprint over a long run). */
export class StagingPool {
  private free: GPUBuffer[] = [];
  private all: GPUBuffer[] = [];
  constructor(private device: GPUDevice, readonly bytes: number) {}
  take(): GPUBuffer {
    const b = this.free.pop();
    if (b) return b;
    const usage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const made = this.device.createBuffer({ size: this.bytes, usage, label: "step readback" });
    this.all.push(made);
    return made;
  }
  give(b: GPUBuffer): void {
    this.free.push(b);
  }
  destroy(): void {
    for (const b of this.all) b.destroy();
  }
}

const align16 = (b: number) => Math.ceil(b / 16) * 16;

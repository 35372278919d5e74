// The asynchronous training loop. Steps are recorded in groups (one command buffer per group)
// and the host keeps at most `window` groups in flight, so it blocks about once per group, not
// once per step. Nothing is written per step: the scalars of many steps go to the uniform ring in
// one upload, the batch is gathered from the data set on the device, and every step's loss (plus
// the diagnostics at diagnostics steps) is copied inside the group's own command buffer into a
// staging buffer that is mapped when the group is done, so a readback never stalls the queue.
// Every step's loss is read, so a non-finite loss stops the run naming the step where it happened.
// What is read back and how it is decoded is readback.ts; what the caller does with the records
// (the metrics log, the progress line) is its hooks'.
import { SLOT_BYTES } from "../kernels/op.ts";
import type { Executable } from "../runtime/executable.ts";
import { collectGarbage } from "../runtime/gc.ts";
import { awaitGpu } from "../runtime/wait.ts";
import type { RunGeometry } from "../step/scalars.ts";
import type { ScalarPlan } from "../step/scalar_plan.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { StagingPool, StepReadback, type StepRecord } from "./readback.ts";

export { NonFiniteLossError, type StepRecord } from "./readback.ts";

export interface LoopHooks {
  /** before the group starting at `step` is recorded (e.g. stream the next chunk of data to the device) */
  beforeGroup?(step: number): void;
  /** the steps of a finished group, in order (all of them; the caller picks what it logs) */
  onGroup(records: StepRecord[]): void;
  /** after the step that ends an epoch has been submitted; the returned promise is awaited in queue order */
  atEpochEnd?(step: number): Promise<void> | undefined;
  /** polled before each group; true stops the loop after the groups in flight */
  stopRequested?(): boolean;
}

export interface LoopOptions {
  ex: Executable;
  plan: ScalarPlan<RunGeometry>;
  geometry: RunGeometry;
  /** steps [start, end) */
  start: number;
  end: number;
  /** steps per command buffer / readback (default 25) */
  groupSteps?: number;
  /** groups submitted ahead of the one the host waits for (default 2) */
  window?: number;
  /** groups also end where the step within the epoch is a multiple of this (data chunk ends) */
  splitEvery?: number;
  /** scalar outputs read back with the loss at every step (e.g. the loss scale of mixed precision) */
  perStep?: string[];
  /** diagnostics every this many steps (and at the last step of each epoch and of the run) */
  diagEvery?: number;
  diagnostics?: Diagnostics;
}

export interface LoopStats {
  steps: number;
  /** times the loop blocked on the device (group readbacks, epoch-end work) */
  waits: number;
  /** bytes the loop wrote to the device (scalar slots, streamed data chunks are counted by their owner) */
  scalarBytes: number;
  /** the step the loop stopped before */
  stoppedAt: number;
  /** the most steps submitted and not yet read back at any time */
  maxStepsInFlight: number;
}

interface Group {
  first: number;
  count: number;
  staging: GPUBuffer;
  /** diagnostics records: step → byte offset in staging */
  diag: Map<number, number>;
  mapped: Promise<void>;
}

type Pending = { kind: "group"; group: Group } | { kind: "work"; done: Promise<void> };

export async function runSteps(o: LoopOptions, hooks: LoopHooks): Promise<LoopStats> {
  const { ex, plan, geometry } = o;
  const device = ex.gpu.device;
  const G = Math.max(1, Math.min(o.groupSteps ?? 25, ex.slots));
  const window = Math.max(1, o.window ?? 2);
  const every = Math.max(1, o.diagEvery ?? Infinity);
  const isDiag = (s: number) =>
    !!o.diagnostics && ((s + 1) % every === 0 || s === o.end - 1 || (s + 1) % geometry.stepsPerEpoch === 0);
  // a group ends at an epoch end at the latest, so it holds at most ⌈G/every⌉ + 1 diagnostics steps
  const maxDiag = o.diagnostics ? Math.min(G, Math.ceil(G / every) + 1) : 0;
  const readback = new StepReadback(ex, G, o.perStep ?? [], o.diagnostics, maxDiag);
  const pool = new StagingPool(device, readback.bytes);
  const stats: LoopStats = { steps: 0, waits: 0, scalarBytes: 0, stoppedAt: o.start, maxStepsInFlight: 0 };
  let inFlight = 0;
  const pending: Pending[] = [];
  let slotBase = -1; // first step whose scalars sit in slot 0 of the ring

  let collectedAt = o.start;
  const settle = async (p: Pending) => {
    stats.waits++;
    // native memory of recorded command buffers is freed only by a collection (runtime/gc.ts):
    // run one now and then, while the device still has work queued
    if (stats.stoppedAt - collectedAt >= COLLECT_EVERY) {
      collectGarbage();
      collectedAt = stats.stoppedAt;
    }
    if (p.kind === "work") return await awaitGpu(p.done);
    const g = p.group;
    await awaitGpu(g.mapped);
    inFlight -= g.count;
    let records: StepRecord[];
    try {
      records = readback.decode(g.staging.getMappedRange(), g.first, g.count, g.diag, geometry.stepsPerEpoch);
    } finally {
      g.staging.unmap();
      pool.give(g.staging);
    }
    hooks.onGroup(records);
  };

  try {
    let step = o.start;
    while (step < o.end && !hooks.stopRequested?.()) {
      // a group never crosses an epoch end (checkpoints are taken there) nor the ring's end
      const epochEnd = (Math.floor(step / geometry.stepsPerEpoch) + 1) * geometry.stepsPerEpoch;
      const inEpoch = step % geometry.stepsPerEpoch, split = o.splitEvery ?? Infinity;
      const count = Math.min(G, o.end - step, epochEnd - step, split - (inEpoch % split));
      while (pending.length >= window) await settle(pending.shift()!);
      if (slotBase < 0 || step + count > slotBase + ex.slots) {
        // queue-ordered after every step already submitted, so overwriting their slots is safe
        slotBase = step;
        const n = Math.min(ex.slots, o.end - step);
        ex.writeSlots(0, plan.pack(ex.program, step, n, geometry));
        stats.scalarBytes += n * SLOT_BYTES;
      }
      hooks.beforeGroup?.(step);
      const staging = pool.take();
      const enc = device.createCommandEncoder();
      const diag = new Map<number, number>();
      for (let k = 0; k < count; k++) {
        const s = step + k;
        ex.encode(enc, s - slotBase);
        const at = readback.encodeStep(enc, staging, k, isDiag(s) ? diag.size : undefined);
        if (at !== undefined) diag.set(s, at);
      }
      device.queue.submit([enc.finish()]);
      const group: Group = { first: step, count, staging, diag, mapped: staging.mapAsync(GPUMapMode.READ) };
      pending.push({ kind: "group", group });
      inFlight += count;
      stats.maxStepsInFlight = Math.max(stats.maxStepsInFlight, inFlight);
      step += count;
      stats.steps += count;
      stats.stoppedAt = step;
      if (step % geometry.stepsPerEpoch === 0) {
        const work = hooks.atEpochEnd?.(step);
        if (work) pending.push({ kind: "work", done: work });
      }
    }
    while (pending.length) await settle(pending.shift()!);
  } catch (e) {
    // let the groups in flight finish so their buffers can be released, then report the first failure
    for (const p of pending) {
      if (p.kind === "group") await awaitGpu(p.group.mapped).catch(() => {});
      else await awaitGpu(p.done).catch(() => {});
    }
    throw e;
  } finally {
    pool.destroy();
  }
  return stats;
}

/** steps between full garbage collections (a collection takes ~10–60 ms here) */
const COLLECT_EVERY = 500;

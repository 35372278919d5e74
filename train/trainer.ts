// The training run as named passes: prepare (GPU, data) → build the step (step/build.ts, the
// autotuner's kernel picks) → put the data on the device → initialise or resume the state →
// the asynchronous loop (train/loop.ts) → final checkpoint and diagnostics. Per step the host
// records prebuilt dispatches; scalars are uploaded for many steps at once and the batch is
// gathered on the device, so nothing is written per step.
import process from "node:process";
import { totalmem } from "node:os";
import { join } from "node:path";
import { describe } from "../compiler/compile.ts";
import type { Split } from "../data/dataset.ts";
import { loadDatasetSync } from "../data/load.ts";
import { epochRows } from "../data/shuffle.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { formatChanges } from "../dsl/resume.ts";
import { checkKnnK } from "../eval/evaluate.ts";
import { cleanStaleTemps } from "../io/atomic.ts";
import { checkRunFolder } from "../io/run_folder.ts";
import { appendMetrics, truncateMetrics } from "../report/metrics.ts";
import { Progress } from "../report/progress.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { DeviceImages } from "../runtime/device_images.ts";
import { deviceStep } from "../runtime/device_step.ts";
import { Executable } from "../runtime/executable.ts";
import type { CompiledStep } from "../step/build.ts";
import type { ForwardGraph } from "../step/forward_graph.ts";
import { checkMemoryPlan, type MemoryLimits } from "../step/memory_check.ts";
import { validateSpec } from "../step/validate.ts";
import { type RunGeometry, runGeometry } from "../step/scalars.ts";
import { checkpointReader, resumeState, type SaveTarget, snapshot } from "./checkpointing.ts";
import { Diagnostics } from "./diagnostics.ts";
import { type LoopStats, NonFiniteLossError, runSteps, type StepRecord } from "./loop.ts";

export { NonFiniteLossError };

export interface TrainOptions {
  spec: PipelineSpec;
  /** run folder: metrics.jsonl, checkpoint, report */
  out: string;
  /** checkpoint (file or folder) to continue from */
  resume?: string;
  /** replace the run files of an existing run in `out` instead of refusing the folder */
  overwrite?: boolean;
  /** the caller evaluates the run afterwards: check the evaluation settings against the data now */
  willEvaluate?: boolean;
  /**
   * stop once this many steps (counted from step 0) are done and save a checkpoint, as an
   * interrupt would; unlike spec.steps it does not shorten the lr/τ schedules, so a run
   * stopped here and resumed ends exactly where the uninterrupted run does
   */
  stopAfter?: number;
  /** loss records in metrics.jsonl every N steps (default: ~20 times per epoch, at least every 50 steps) */
  logEvery?: number;
  /** diagnostics every N steps (default: 4 times per epoch) */
  diagEvery?: number;
  /** steps per command buffer / readback (default 25) and command buffers in flight (default 2) */
  groupSteps?: number;
  window?: number;
  /** cap on the device buffer of the training images (tests: force streaming in chunks) */
  maxDataBytes?: number;
  /** preloaded data (tests) */
  data?: Split;
  log?: (s: string) => void;
}

export interface TrainResult {
  lowered: ForwardGraph;
  exec: Executable;
  gpu: Gpu;
  data: Split;
  /** the data sets on the device (evaluation reads them from there) */
  images: { train: DeviceImages; test: DeviceImages };
  /** steps this call ran, and the step the run stands at now (the checkpoint's step) */
  steps: number;
  endStep: number;
  epochs: number;
  seconds: number;
  imagesPerSec: number;
  /** the loss of every logged step */
  losses: { step: number; loss: number }[];
  diag: Record<string, number>;
  C?: { data: Float32Array; d: number };
  interrupted: boolean;
  /**
   * how the loop used the host: its waits; uploadBytes, what it wrote to the device over all its
   * steps besides the one-time data upload (scalars, streamed chunks); dataBytes, every upload of
   * training images (the first one included)
   */
  loop: LoopStats & { uploadBytes: number; dataBytes: number };
}

interface Prepared {
  opts: TrainOptions;
  spec: PipelineSpec;
  gpu: Gpu;
  data: Split;
  geometry: RunGeometry;
  log: (s: string) => void;
}

/** Pass 1: the run folder, the data, the device, and how long the run is; user errors before any GPU work. */
async function prepare(opts: TrainOptions): Promise<Prepared> {
  const { spec } = opts;
  const log = opts.log ?? ((s: string) => console.log(s));
  validateSpec(spec); // the spec layer's and the graph stage's checks, before data or device
  checkRunFolder(opts.out, { resume: !!opts.resume, overwrite: opts.overwrite });
  const stale = cleanStaleTemps(opts.out);
  if (stale.length) log(`removed ${stale.length} unfinished temporary file(s) of an earlier run: ${stale.join(", ")}`);
  const data = opts.data ?? loadDatasetSync(spec.data.name, { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const tr = data.train;
  if (opts.willEvaluate) checkKnnK(spec, tr.n);
  const geometry = runGeometry(spec, tr.n);
  const gpu = await getGpu();
  if (spec.precision === "f16-mixed") checkF16(gpu);
  log(`adapter: ${gpu.description}`);
  log(`data: ${tr.name} ${tr.n} train / ${data.test.n} test images of ${tr.c}×${tr.h}×${tr.w}`);
  const epochs = Math.ceil(geometry.totalSteps / geometry.stepsPerEpoch);
  log(`${spec.method} '${spec.name}': ${geometry.totalSteps} steps (${epochs} epoch${epochs > 1 ? "s" : ""} of ${geometry.stepsPerEpoch}), ` +
    `batch ${spec.batch}, seed ${spec.seed}${spec.precision === "f16-mixed" ? ", f16-mixed precision" : ""} → ${opts.out}`);
  return { opts, spec, gpu, data, geometry, log };
}

/** f16-mixed needs the adapter's shader-f16 feature: refused before the step is built. */
function checkF16(gpu: Gpu): void {
  if (!gpu.features.f16) {
    throw new PrecisionError(`precision: "f16-mixed" needs the adapter's shader-f16 feature, which ${gpu.description} does not offer; use precision "f32"`);
  }
}

/** A spec asking for what the adapter cannot do (exit status 2). */
export class PrecisionError extends Error {
  override name = "PrecisionError";
  readonly exitCode = 2;
}

interface Built {
  step: CompiledStep;
  exec: Executable;
  images: { train: DeviceImages; test: DeviceImages };
  /** streaming: the device holds the rows of this many steps at a time (undefined when resident) */
  chunkSteps?: number;
}

/** Pass 2: the data on the device, the compiled step bound to it. */
async function build(p: Prepared): Promise<Built> {
  const { gpu, spec, data } = p;
  const tr = data.train;
  const { step, images: train, chunkSteps } = await deviceStep(gpu, spec, tr, { maxDataBytes: p.opts.maxDataBytes });
  const test = new DeviceImages(gpu, data.test);
  p.log(`compiled step: ${describe(step.program)}`);
  checkMemoryPlan(step.program, memoryLimits(gpu), spec);
  train.allocate();
  test.allocate();
  p.log(`data on the device: ${describeImages(train)}`);
  try {
    const exec = await Executable.create(gpu, step.program, { slots: 256, bind: { dataset: train.buffer } });
    return { step, exec, images: { train, test }, chunkSteps };
  } catch (e) {
    train.destroy();
    test.destroy();
    throw e;
  }
}

/** Pass 3: the state at the first step: initialised, or read from the checkpoint to resume from. */
function initialState(p: Prepared, b: Built): number {
  if (!p.opts.resume) {
    b.exec.initPersistent(p.spec.seed);
    return 0;
  }
  const { ck, changes } = resumeState(p.opts.resume, b.step.program, p.spec);
  for (const name of b.step.program.persistent.keys()) b.exec.write(name, ck.tensors[name].data);
  p.log(`resumed from ${p.opts.resume} at step ${ck.step} (epoch ${ck.epoch})`);
  if (changes.length) p.log(`changed on resume:\n  ${formatChanges(changes).split("\n").join("\n  ")}`);
  // records the earlier run logged after its last checkpoint are about to be logged again
  const cut = truncateMetrics(join(p.opts.out, "metrics.jsonl"), ck.step);
  if (cut) p.log(`metrics.jsonl: dropped ${cut} record(s) from step ${ck.step} on, which this run computes again`);
  return ck.step;
}

/** Pass 4: the loop, with metrics, progress, epoch-end checkpoints and data streaming around it. */
async function loop(p: Prepared, b: Built, start: number) {
  const { spec, geometry, opts } = p;
  const spe = geometry.stepsPerEpoch, total = geometry.totalSteps;
  const end = Math.min(total, opts.stopAfter ?? total);
  const metricsPath = join(opts.out, "metrics.jsonl");
  const logEvery = opts.logEvery ?? Math.max(1, Math.min(50, Math.floor(spe / 20) || 1));
  // diagnostics are taken at logging steps, so their interval is a multiple of logEvery
  const diagEvery = logEvery * Math.max(1, Math.round((opts.diagEvery ?? Math.floor(spe / 4)) / logEvery));
  const diagnostics = await Diagnostics.create(p.gpu, b.exec);
  const progress = new Progress({ epochs: Math.ceil(total / spe), total: spe, batchSize: spec.batch });
  const target: SaveTarget = { out: opts.out, spec, hash: specHash(spec), stepsPerEpoch: spe };
  const losses: { step: number; loss: number }[] = [];
  let lastDiag: Record<string, number> = {};
  let interrupted = false;
  const onSig = () => (interrupted = true);
  process.on("SIGINT", onSig);
  const t0 = performance.now();
  const lrName = b.step.forward.scalars.mainLr();
  const logged = (s: StepRecord) => (s.step + 1) % logEvery === 0 || s.step === end - 1 || (s.step + 1) % spe === 0;
  let skipped = 0; // mixed precision: steps skipped for overflowing gradients so far
  const onGroup = (records: StepRecord[]) => {
    for (const r of records) {
      skipped += r.extra.step_skipped ?? 0;
      if (!logged(r) && !r.diag) continue;
      losses.push({ step: r.step, loss: r.loss });
      const rec: Record<string, unknown> = {
        step: r.step,
        epoch: Math.floor(r.step / spe) + 1,
        loss: r.loss,
        lr: b.step.plan.value(lrName, r.step, geometry),
      };
      if ("loss_scale" in r.extra) Object.assign(rec, { loss_scale: r.extra.loss_scale, skipped_steps: skipped });
      if (r.diag) Object.assign(rec, (lastDiag = r.diag));
      rec.seconds = (performance.now() - t0) / 1000;
      appendMetrics(metricsPath, rec);
    }
    const last = records[records.length - 1];
    progress.update(Math.floor(last.step / spe) + 1, (last.step % spe) + 1, last.loss);
  };
  let streamed = false;
  const beforeGroup = b.chunkSteps === undefined ? undefined : (s: number) => {
    streamChunk(b, spec, geometry, s, !streamed);
    streamed = true;
  };
  const dataBytes0 = b.images.train.uploadedBytes;
  const upload0 = b.exec.uploadedBytes;
  let stats: LoopStats;
  try {
    try {
      stats = await runSteps({
        ex: b.exec,
        plan: b.step.plan,
        geometry,
        start,
        end,
        groupSteps: opts.groupSteps,
        window: opts.window,
        diagEvery,
        diagnostics,
        splitEvery: b.chunkSteps,
        perStep: ["loss_scale", "step_skipped"].filter((n) => b.step.program.outputs.has(n)),
      }, {
        onGroup,
        beforeGroup,
        stopRequested: () => interrupted,
        // epoch-end checkpoints: the snapshot is queued now, written when the loop next waits
        atEpochEnd: (s) => s < end ? snapshot(b.exec, b.step.program, target, s) : undefined,
      });
    } finally {
      process.off("SIGINT", onSig);
      progress.finishLine();
    }
    await snapshot(b.exec, b.step.program, target, stats.stoppedAt);
  } catch (e) {
    diagnostics?.destroy();
    if (e instanceof NonFiniteLossError) throw stopped(e, opts.out);
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  let C: TrainResult["C"];
  if (diagnostics) {
    try {
      const m = await diagnostics.final();
      lastDiag = m.values;
      C = { data: m.C, d: diagnostics.d };
    } finally {
      diagnostics.destroy();
    }
  }
  if (interrupted) p.log(`interrupted at step ${stats.stoppedAt}: checkpoint saved in ${opts.out}`);
  const uploadBytes = b.exec.uploadedBytes - upload0 + b.images.train.uploadedBytes - dataBytes0;
  return { stats, uploadBytes, seconds, losses, lastDiag, C, interrupted };
}

/** The device's limits for the memory plan; a CPU adapter's buffers live in this machine's memory. */
function memoryLimits(gpu: Gpu): MemoryLimits {
  const { maxStorageBufferBindingSize, maxBufferSize } = gpu.device.limits;
  const cpu = /llvmpipe|lavapipe|swiftshader|software/i.test(gpu.description);
  return cpu
    ? { maxStorageBufferBindingSize, maxBufferSize, totalBudget: totalmem(), budgetSource: "this machine's memory, where a CPU adapter keeps its buffers" }
    : { maxStorageBufferBindingSize, maxBufferSize };
}

/**
 * Streaming: before the group starting at step s, the rows of the chunk it begins, in shuffled
 * order (or, for the first group, e.g. after a resume mid-chunk, the chunk it lies in).
 */
function streamChunk(b: Built, spec: PipelineSpec, r: RunGeometry, s: number, first: boolean): void {
  const inEpoch = s % r.stepsPerEpoch, chunk = b.chunkSteps!;
  if (inEpoch % chunk !== 0 && !first) return;
  const from = inEpoch - (inEpoch % chunk);
  const epoch = Math.floor(s / r.stepsPerEpoch), n = b.images.train.set.n;
  const steps = Math.min(chunk, r.stepsPerEpoch - from);
  b.images.train.load(epochRows(n, spec.seed, epoch, from * spec.batch, steps * spec.batch));
}

/** The divergence as the user sees it: where it happened, what is on disk, what to try. */
function stopped(e: NonFiniteLossError, out: string): NonFiniteLossError {
  return new NonFiniteLossError(`${e.message}; stopping. ${keptCheckpoint(out)} Try a lower --lr or a longer warmup.`, e.step);
}

/** What is on disk for the user after a failure, said as it is. */
function keptCheckpoint(out: string): string {
  const ck = checkpointReader(out);
  return ck ? `The last good checkpoint (step ${ck.step}, epoch ${ck.epoch}) is kept in ${ck.path}.` : `No checkpoint was written yet (none is kept in ${out}).`;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const p = await prepare(opts);
  const b = await build(p);
  let start: number, r: Awaited<ReturnType<typeof loop>>;
  try {
    start = initialState(p, b);
    r = await loop(p, b, start);
  } catch (e) {
    // on success the caller owns the step and the data on the device; on failure nobody else can free them
    b.exec.destroy();
    b.images.train.destroy();
    b.images.test.destroy();
    throw e;
  }
  const steps = r.stats.stoppedAt - start;
  const spe = p.geometry.stepsPerEpoch;
  return {
    lowered: b.step.forward,
    exec: b.exec,
    gpu: p.gpu,
    data: p.data,
    images: b.images,
    steps,
    endStep: r.stats.stoppedAt,
    epochs: Math.ceil(r.stats.stoppedAt / spe),
    seconds: r.seconds,
    imagesPerSec: (steps * p.spec.batch) / r.seconds,
    losses: r.losses,
    diag: r.lastDiag,
    C: r.C,
    interrupted: r.interrupted,
    loop: { ...r.stats, uploadBytes: r.uploadBytes, dataBytes: b.images.train.uploadedBytes },
  };
}

function describeImages(d: DeviceImages): string {
  const bytes = d.rows * d.per * (d.dtype === "u8" ? 1 : 4);
  return `${d.set.n} images as ${d.dtype} (${(bytes / 2 ** 20).toFixed(1)} MiB), ` +
    (d.resident ? "resident" : `streamed in chunks of ${d.rows} images`);
}

// The training run as named passes: prepare (GPU, data) → build the step (step/build.ts, the
// autotuner's kernel picks) → put the data on the device → initialise or resume the state →
// the asynchronous loop (train/loop.ts) → final checkpoint and diagnostics. Per step the host
// records prebuilt dispatches; scalars are uploaded for many steps at once and the batch is
// gathered on the device, so nothing is written per step. The run folder is locked while
// train() writes there (io/run_folder.ts), by train() itself or by the caller that opened it.
import { host } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { describe } from "../compiler/compile.ts";
import type { Split } from "../data/dataset.ts";
import { loadSpecData } from "../data/load.ts";
import { describeClass } from "../data/one_class.ts";
import { labelWarning } from "../data/dataset.ts";
import { epochRows } from "../data/shuffle.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { formatChanges } from "../dsl/resume.ts";
import { cleanStaleTemps } from "../io/atomic.ts";
import { type Checkpoint, checkpointPath } from "../io/checkpoint.ts";
import { appendMetrics } from "../report/metrics.ts";
import { PROBE_LOSS } from "../step/online_probe.ts";
import { resumeChanges } from "../dsl/resume.ts";
import { openRunFolder, type RunFolder } from "../io/run_folder.ts";
import { truncateMetrics } from "../report/metrics.ts";
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
import {
  checkpointReader,
  readResumeCheckpoint,
  resumeState,
  type RunSegment,
  type SaveTarget,
  segmentsOf,
  snapshot,
} from "./checkpointing.ts";
import { Diagnostics } from "./diagnostics.ts";
import { type LoopStats, NonFiniteLossError, runSteps, type StepRecord } from "./loop.ts";
import { MetricsLog } from "./metrics_log.ts";
import { printable } from "../report/printable.ts";

export { NonFiniteLossError, type RunSegment };

export interface TrainOptions {
  spec: PipelineSpec;
  /** run folder: metrics.jsonl, checkpoint, report */
  out: string;
  /** checkpoint (file or folder) to continue from */
  resume?: string;
  /** replace the run files of an existing run in `out` instead of refusing the folder */
  overwrite?: boolean;
  /**
   * the run folder `out`, opened (checked and locked) by a caller whose run goes on after
   * training (evaluation, report) and who closes it; by default train() opens and closes it
   */
  folder?: RunFolder;
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
  /**
   * each group of steps as the loop reads it back (every step's loss; diagnostics and C at
   * diagnostics steps), e.g. for live plots; called on the loop's path, so it must return quickly.
   * Asking for it adds C (d² floats) to each diagnostics readback; nothing else changes.
   */
  onGroup?: (group: GroupProgress) => void;
  /**
   * called with every checkpoint the run saves (each epoch's end, and the run's last step unless
   * interrupted), e.g. to evaluate the online probe on the test split (run/online_probe.ts); what
   * it returns is logged in metrics.jsonl as a row of that step. Awaited in the loop's queue
   * order, so the training waits for it.
   */
  atCheckpoint?: (c: SavedState) => Promise<Record<string, number> | undefined>;
}

/** What TrainOptions.atCheckpoint hears: the state just saved and where the data lies. */
export interface SavedState {
  /** steps done (the checkpoint's step) */
  step: number;
  /** every persistent tensor's value at that step, by name */
  tensor(name: string): Float32Array;
  gpu: Gpu;
  images: { train: DeviceImages; test: DeviceImages };
  /** the module whose output is the evaluated representation */
  encoder: string;
}

/** What TrainOptions.onGroup hears. */
export interface GroupProgress {
  records: StepRecord[];
  /** the step this call of train() stops before, and the run's whole length */
  end: number;
  totalSteps: number;
  /** C's side, when C is measured */
  d?: number;
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
  /** time and speed of this call's steps (see segments for the whole run) */
  seconds: number;
  imagesPerSec: number;
  /** the run's history: each call of train() that trained it, this one last */
  segments: RunSegment[];
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
  /** Frees what the run holds on the device: the compiled step and the data sets (idempotent). */
  dispose(): void;
}

/**
 * --resume of a run whose checkpoint already stands at (or past) the end of its schedule:
 * nothing to train, and nothing in its folder is touched. Not a failure: resuming a finished
 * run is a no-op (a script may resume until done).
 */
export class RunCompleteError extends Error {
  override name = "RunCompleteError";
  readonly exitCode = 0;
  constructor(message: string, readonly step: number, readonly totalSteps: number) {
    super(message);
  }
}

interface Prepared {
  opts: TrainOptions;
  spec: PipelineSpec;
  gpu: Gpu;
  data: Split;
  geometry: RunGeometry;
  /** the checkpoint to resume from, read before any GPU work */
  resume?: Checkpoint;
  log: (s: string) => void;
}

/**
 * Pass 1 (in the run folder train() opened and locked): the data, how long the run is, the
 * checkpoint to resume from, the device; user errors before any GPU work.
 */
async function prepare(opts: TrainOptions, log: (s: string) => void): Promise<Prepared> {
  const { spec } = opts;
  validateSpec(spec); // the spec layer's and the graph stage's checks, before data or device
  const stale = cleanStaleTemps(opts.out);
  if (stale.length) log(`removed ${stale.length} unfinished temporary file(s) of an earlier run: ${stale.join(", ")}`);
  const data = opts.data ??
    loadSpecData(spec.data);
  const tr = data.train;
  const geometry = runGeometry(spec, tr.n);
  if (spec.steps !== undefined && spec.steps > geometry.totalSteps) {
    const epochs = spec.epochs;
    log(
      `steps (--steps) ${spec.steps} is more than ${epochs} epoch${
        epochs > 1 ? "s" : ""
      } of ${geometry.stepsPerEpoch} steps: ` +
        `training stops at step ${geometry.totalSteps}; for more steps raise --epochs`,
    );
  }
  const resume = opts.resume === undefined ? undefined : readResumeCheckpoint(opts.resume);
  if (resume) {
    // a change resuming may not make is refused first, finished run or not
    resumeChanges(resume.spec, spec, checkpointPath(opts.resume!));
    if (resume.step >= geometry.totalSteps) throw complete(opts, resume, geometry);
  }
  const gpu = await getGpu();
  if (spec.precision === "f16-mixed") checkF16(gpu);
  log(`adapter: ${gpu.description}`);
  const only = data.oneClass ? ` (${describeClass(data.oneClass)} only)` : "";
  log(`data: ${tr.name} ${tr.n} train${only} / ${data.test.n} test images of ${tr.c}×${tr.h}×${tr.w}`);
  const labels = labelWarning(data);
  if (labels) log(`WARNING: ${labels}`);
  const epochs = Math.ceil(geometry.totalSteps / geometry.stepsPerEpoch);
  log(
    `${printable(spec.method)} '${spec.name}': ${geometry.totalSteps} steps (${epochs} epoch${
      epochs > 1 ? "s" : ""
    } of ${geometry.stepsPerEpoch}), ` +
      `batch ${spec.batch}, seed ${spec.seed}${
        spec.precision === "f16-mixed" ? ", f16-mixed precision" : ""
      } → ${opts.out}`,
  );
  return { opts, spec, gpu, data, geometry, resume, log };
}

/** The message for a resumed run that has nothing left to train, with the flag that extends it. */
function complete(opts: TrainOptions, ck: Checkpoint, g: RunGeometry): RunCompleteError {
  const epochs = Math.ceil(g.totalSteps / g.stepsPerEpoch);
  const { steps } = opts.spec;
  const byStepsCap = steps !== undefined && steps < opts.spec.epochs * g.stepsPerEpoch;
  return new RunCompleteError(
    `${opts.resume} is complete: its checkpoint stands at step ${ck.step}, ` +
      `${ck.step > g.totalSteps ? "past" : "at"} the end of the ${g.totalSteps} steps asked for (${epochs} epoch${
        epochs > 1 ? "s" : ""
      } of ` +
      `${g.stepsPerEpoch}${
        steps !== undefined ? `, --steps ${steps}` : ""
      }); nothing to train, and ${opts.out} is left as it was. ` +
      (byStepsCap
        ? `To train it further, resume with a larger --steps (more than ${ck.step}).`
        : `To train it further, resume with more epochs (--epochs ${
          Math.floor(ck.step / g.stepsPerEpoch) + 1
        } or more).`),
    ck.step,
    g.totalSteps,
  );
}

/** f16-mixed needs the adapter's shader-f16 feature: refused before the step is built. */
function checkF16(gpu: Gpu): void {
  if (!gpu.features.f16) {
    throw new PrecisionError(
      `precision: "f16-mixed" needs the adapter's shader-f16 feature, which ${gpu.description} does not offer; use precision "f32"`,
    );
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
    // the online probe's labels are gathered with the images' rows (runtime/device_images.ts)
    const bind: Record<string, GPUBuffer> = { dataset: train.buffer };
    if (step.program.inputs.has("labels")) bind.labels = train.labels;
    const exec = await Executable.create(gpu, step.program, { slots: 256, bind });
    return { step, exec, images: { train, test }, chunkSteps };
  } catch (e) {
    train.destroy();
    test.destroy();
    throw e;
  }
}

/** Pass 3: the state at the first step: initialised, or read from the checkpoint to resume from. */
function initialState(p: Prepared, b: Built): number {
  const ck = p.resume;
  if (!ck) {
    b.exec.initPersistent(p.spec.seed);
    return 0;
  }
  const changes = resumeState(ck, p.opts.resume!, b.step.program, p.spec);
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
  const diagnostics = await Diagnostics.create(p.gpu, b.exec, { matrix: !!opts.onGroup });
  const progress = new Progress({ epochs: Math.ceil(total / spe), total: spe, batchSize: spec.batch });
  const earlier = p.resume ? segmentsOf(p.resume, join(opts.out, "metrics.jsonl")) : [];
  // the run's history as a checkpoint at `step` records it: the earlier segments, then this one so far
  const history = (
    step: number,
  ): RunSegment[] => [...earlier, { from: start, to: step, seconds: (performance.now() - t0) / 1000 }];
  const target: SaveTarget = { out: opts.out, spec, hash: specHash(spec), stepsPerEpoch: spe, segments: history };
  let interrupted = false;
  const onSig = () => (interrupted = true);
  const offSig = host().onInterrupt(onSig);
  const t0 = performance.now();
  const lrName = b.step.forward.scalars.mainLr();
  const lr = (step: number) => b.step.plan.value(lrName, step, geometry);
  const metrics = new MetricsLog({ path: metricsPath, logEvery, stepsPerEpoch: spe, end, lr, t0 });
  const onGroup = (records: StepRecord[]) => {
    metrics.add(records);
    const last = records[records.length - 1];
    progress.update(Math.floor(last.step / spe) + 1, (last.step % spe) + 1, last.loss);
    opts.onGroup?.({ records, end, totalSteps: total, d: diagnostics?.d });
  };
  // the caller's work on each saved checkpoint, its figures logged as a row of the last step trained
  const saved = async (s: number, tensors: Checkpoint["tensors"]) => {
    const rec = await opts.atCheckpoint?.({
      step: s,
      tensor: (name) => {
        const t = tensors[name];
        if (!t) throw new Error(`the checkpoint at step ${s} has no tensor '${name}'`);
        return t.data;
      },
      gpu: p.gpu,
      images: b.images,
      encoder: b.step.forward.encoder,
    });
    if (rec) {
      const row = { step: s - 1, epoch: Math.ceil(s / spe), ...rec, seconds: (performance.now() - t0) / 1000 };
      appendMetrics(metricsPath, row);
    }
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
        perStep: ["loss_scale", "step_skipped", PROBE_LOSS].filter((n) => b.step.program.outputs.has(n)),
      }, {
        onGroup,
        beforeGroup,
        stopRequested: () => interrupted,
        // epoch-end checkpoints: the snapshot is queued now, written when the loop next waits
        atEpochEnd: (s) => s < end ? snapshot(b.exec, b.step.program, target, s).then((t) => saved(s, t)) : undefined,
      });
    } finally {
      offSig();
      progress.finishLine();
    }
    const last = await snapshot(b.exec, b.step.program, target, stats.stoppedAt);
    // an interrupt stops at once: the caller's checkpoint work (a pass over the test split) is skipped
    if (!interrupted) await saved(stats.stoppedAt, last);
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
      metrics.lastDiag = m.values;
      C = { data: m.C, d: diagnostics.d };
    } finally {
      diagnostics.destroy();
    }
  }
  if (interrupted) p.log(`interrupted at step ${stats.stoppedAt}: checkpoint saved in ${opts.out}`);
  const uploadBytes = b.exec.uploadedBytes - upload0 + b.images.train.uploadedBytes - dataBytes0;
  const segments = [...earlier, { from: start, to: stats.stoppedAt, seconds }];
  return { stats, uploadBytes, seconds, losses: metrics.losses, lastDiag: metrics.lastDiag, C, interrupted, segments };
}

/** The device's limits for the memory plan; a CPU adapter's buffers live in this machine's memory. */
function memoryLimits(gpu: Gpu): MemoryLimits {
  const { maxStorageBufferBindingSize, maxBufferSize } = gpu.device.limits;
  const cpu = /llvmpipe|lavapipe|swiftshader|software/i.test(gpu.description);
  return cpu
    ? {
      maxStorageBufferBindingSize,
      maxBufferSize,
      totalBudget: host().totalMemory(),
      budgetSource: "this machine's memory, where a CPU adapter keeps its buffers",
    }
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
  return new NonFiniteLossError(
    `${e.message}; stopping. ${keptCheckpoint(out)} Try a lower --lr or a longer warmup.`,
    e.step,
  );
}

/** What is on disk for the user after a failure, said as it is. */
function keptCheckpoint(out: string): string {
  const ck = checkpointReader(out);
  return ck
    ? `The last good checkpoint (step ${ck.step}, epoch ${ck.epoch}) is kept in ${ck.path}.`
    : `No checkpoint was written yet (none is kept in ${out}).`;
}

/**
 * Trains `opts.spec` into the run folder `opts.out` (see the file header). Throws on a user
 * error (typed, with exitCode 2), RunCompleteError when a resumed run has nothing left to train;
 * an interrupt (SIGINT) ends the loop early with a checkpoint and `interrupted: true`. The result
 * holds the step and the data on the device until its dispose().
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  if (opts.folder && opts.folder.out !== opts.out) {
    throw new Error(`train: the folder opened (${opts.folder.out}) is not out (${opts.out})`);
  }
  const folder = opts.folder ?? openRunFolder(opts.out, { resume: !!opts.resume, overwrite: opts.overwrite, log });
  try {
    return await trainIn(opts, log);
  } finally {
    if (!opts.folder) folder.close();
  }
}

async function trainIn(opts: TrainOptions, log: (s: string) => void): Promise<TrainResult> {
  const p = await prepare(opts, log);
  const b = await build(p);
  const dispose = () => {
    b.exec.destroy();
    b.images.train.destroy();
    b.images.test.destroy();
  };
  let start: number, r: Awaited<ReturnType<typeof loop>>;
  try {
    start = initialState(p, b);
    r = await loop(p, b, start);
  } catch (e) {
    // on success the caller owns the step and the data on the device; on failure nobody else can free them
    dispose();
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
    segments: r.segments,
    loop: { ...r.stats, uploadBytes: r.uploadBytes, dataBytes: b.images.train.uploadedBytes },
    dispose,
  };
}

function describeImages(d: DeviceImages): string {
  const bytes = d.rows * d.per * (d.dtype === "u8" ? 1 : 4);
  return `${d.set.n} images as ${d.dtype} (${(bytes / 2 ** 20).toFixed(1)} MiB), ` +
    (d.resident ? "resident" : `streamed in chunks of ${d.rows} images`);
}

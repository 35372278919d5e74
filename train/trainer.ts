// The training loop: spec → graph → compiled step → GPU, then evaluation and the report.
// Per step the host writes one batch of images and one uniform of scalars and submits one
// command buffer; the loss and diagnostics are read back every few steps only.
import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile, describe } from "../compiler/compile.ts";
import { type LoweredSpec, lowerSpec } from "../step/lower.ts";
import type { Dataset, Split } from "../data/dataset.ts";
import { loadDatasetSync } from "../data/load.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type Checkpoint, CheckpointError, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { appendMetrics } from "../report/metrics.ts";
import { Progress } from "../report/progress.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { adapterKey, pickMatmulVariants } from "../runtime/autotune.ts";
import { Pacer } from "../eval/pace.ts";
import { Diagnostics } from "./diagnostics.ts";
import { adamScalars, type OptimizerConfig } from "../step/optim.ts";
import { lrAt, tauAt } from "../step/schedule.ts";
import { addTrainingStep } from "../step/training.ts";

export interface TrainOptions {
  spec: PipelineSpec;
  /** run folder: metrics.jsonl, checkpoint, report */
  out: string;
  /** checkpoint (file or folder) to continue from */
  resume?: string;
  /**
   * stop once this many steps (counted from step 0) are done and save a checkpoint, as an
   * interrupt would; unlike spec.steps it does not shorten the lr/τ schedules, so a run
   * stopped here and resumed ends exactly where the uninterrupted run does
   */
  stopAfter?: number;
  /** read the loss back every N steps (default: ~20 times per epoch, at least every 50 steps) */
  logEvery?: number;
  /** compute diagnostics every N steps (default: 4 times per epoch) */
  diagEvery?: number;
  /** preloaded data (tests) */
  data?: Split;
  log?: (s: string) => void;
}

export interface TrainResult {
  lowered: LoweredSpec;
  exec: Executable;
  gpu: Gpu;
  data: Split;
  steps: number;
  epochs: number;
  seconds: number;
  imagesPerSec: number;
  losses: { step: number; loss: number }[];
  diag: Record<string, number>;
  C?: { data: Float32Array; d: number };
  interrupted: boolean;
}

export class NonFiniteLossError extends Error {}

/** Deterministic per-epoch shuffle (seeded xorshift Fisher–Yates). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed * 0x9e3779b1 + epoch * 0x85ebca77 + 1) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export function optimizerConfig(spec: PipelineSpec): OptimizerConfig {
  const o = spec.optimizer;
  switch (o.kind) {
    case "lars":
      return { kind: "lars", momentum: o.momentum, eta: o.eta, weightDecay: o.weightDecay, excludeBiasAndNorm: o.excludeBiasAndNorm, clip: o.clip };
    case "sgd":
      return { kind: "sgd", momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay, excludeBiasAndNorm: o.excludeBiasAndNorm };
    case "adamw":
      return { kind: "adamw", betas: [o.beta1, o.beta2], eps: o.eps, weightDecay: o.weightDecay, excludeBiasAndNorm: o.excludeBiasAndNorm };
  }
}

/** Which lr scalar a parameter reads: fixed-lr modules, 1-D params with their own lr, the rest. */
export function lrScalarOf(spec: PipelineSpec) {
  const fixed = spec.optimizer.fixedLr ?? [];
  const biasLr = spec.optimizer.kind === "lars" && spec.optimizer.biasLr !== undefined;
  return (name: string, _group: string, rank: number) => {
    if (fixed.some((m) => name.startsWith(`${m}.`))) return "lr_fixed";
    if (biasLr && rank <= 1) return "lr_bias";
    return "lr";
  };
}

export function stepsPerEpoch(spec: PipelineSpec, nTrain: number): number {
  const spe = Math.floor(nTrain / spec.batch);
  if (spe < 1) throw new Error(`batch ${spec.batch} is larger than the ${nTrain} training images`);
  return spe;
}

export function totalSteps(spec: PipelineSpec, nTrain: number): number {
  const all = spec.epochs * stepsPerEpoch(spec, nTrain);
  return spec.steps ? Math.min(spec.steps, all) : all;
}

/** The per-step scalars: lr per group, τ per EMA, RNG key, queue pointers, Adam corrections. */
export function stepScalars(spec: PipelineSpec, lowered: LoweredSpec, step: number, total: number, spe: number): Record<string, number> {
  const scale = spec.batch / 256;
  const sched = {
    warmupSteps: Math.round(spec.schedule.warmupEpochs * spe),
    totalSteps: total,
    finalFactor: spec.schedule.kind === "cosine" ? spec.schedule.finalFactor : 1,
  };
  const o = spec.optimizer;
  const s: Record<string, number> = {
    lr: lrAt({ base: o.lr * scale, ...sched }, step),
    lr_fixed: o.lr * scale,
    seed: spec.seed,
    step,
  };
  if (o.kind === "lars" && o.biasLr !== undefined) s.lr_bias = lrAt({ base: o.biasLr * scale, ...sched }, step);
  if (o.kind === "adamw") Object.assign(s, adamScalars(step + 1, optimizerConfig(spec)));
  for (const [name, t] of lowered.tauScalars) {
    // schema: τ goes from base to final along the cosine
    s[name] = t.schedule === "const" ? t.base : t.final - (t.final - t.base) * (1 - tauAt(0, step, total, "cosine"));
  }
  for (const q of lowered.queues) s[q.pointer] = (step * spec.batch) % q.size;
  return s;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { spec, out } = opts;
  const log = opts.log ?? ((s: string) => console.log(s));
  mkdirSync(out, { recursive: true });
  const gpu = await getGpu();
  const data = opts.data ?? loadDatasetSync(spec.data.name, { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const { train: tr } = data;
  log(`adapter: ${gpu.description}`);
  log(`data: ${tr.name} ${tr.n} train / ${data.test.n} test images of ${tr.c}×${tr.h}×${tr.w}`);

  const lowered = lowerSpec(spec, { c: tr.c, h: tr.h, w: tr.w });
  const lrOf = lrScalarOf(spec);
  const g = lowered.graph;
  addTrainingStep(g, lowered.loss, {
    optimizer: optimizerConfig(spec),
    lrScalar: (name, group) => lrOf(name, group, g.find(name)!.rank),
    ema: lowered.ema,
  });
  const features = { subgroups: gpu.features.subgroups, f16: gpu.features.f16 };
  // matmul variants: the autotuner's cached pick for this adapter and shape, else the adapter
  // default (SSL_TUNE=1 times the candidates of shapes not in .cache/autotune.json)
  const variant = await pickMatmulVariants(gpu.device, g, {
    adapter: adapterKey(gpu.adapter.info),
    features,
    tune: process.env.SSL_TUNE === "1",
  });
  const program = compile(g, { features, variant });
  log(`compiled step: ${describe(program)}`);
  const ex = await Executable.create(gpu, program);

  const hash = specHash(spec);
  const spe = stepsPerEpoch(spec, tr.n);
  const total = totalSteps(spec, tr.n);
  let start = 0;
  if (opts.resume) {
    const shapes: Record<string, number[]> = {};
    for (const [name, id] of program.persistent) shapes[name] = [...program.storages[id].shape!];
    let ck: Checkpoint;
    try {
      ck = loadCheckpoint(opts.resume, { specHash: hash, shapes });
    } catch (e) {
      // a truncated or corrupt file is a checkpoint problem to the user (the message names the file)
      if (e instanceof SafetensorsError) throw new CheckpointError(`cannot resume: ${e.message}`);
      throw e;
    }
    for (const name of program.persistent.keys()) ex.write(name, ck.tensors[name].data);
    start = ck.step;
    log(`resumed from ${opts.resume} at step ${start} (epoch ${ck.epoch})`);
  } else ex.initPersistent(spec.seed);

  const metricsPath = join(out, "metrics.jsonl");
  if (!opts.resume) writeFileSync(metricsPath, "");
  const per = tr.c * tr.h * tr.w;
  const batchBuf = new Float32Array(spec.batch * per);
  const progress = new Progress({ epochs: Math.ceil(total / spe), total: spe, batchSize: spec.batch });
  const logEvery = opts.logEvery ?? Math.max(1, Math.min(50, Math.floor(spe / 20) || 1));
  // diagnostics are taken at logging steps, so their interval is a multiple of logEvery
  const diagEvery = logEvery * Math.max(1, Math.round((opts.diagEvery ?? Math.floor(spe / 4)) / logEvery));
  const diag = lowered.pair ? await Diagnostics.create(gpu, spec.batch, program.outputs.get("pair.a")!.shape[1]) : undefined;
  const losses: { step: number; loss: number }[] = [];
  let lastDiag: Record<string, number> = {};

  let interrupted = false;
  const onSig = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSig);
  const save = async (step: number) => {
    const names = [...program.persistent.keys()];
    const vals = await ex.readMany(names.map((n) => [program.persistent.get(n)!, size(program.storages[program.persistent.get(n)!].shape!)]));
    // never replace the last good checkpoint with a broken one: on lavapipe max(NaN, 0) is 0, so
    // ReLU can launder NaN weights into a finite (constant) loss that the loss check never sees
    const bad = names.filter((_, i) => vals[i].some((x) => !Number.isFinite(x)));
    if (bad.length) {
      throw new NonFiniteLossError(
        `parameters or state became non-finite by step ${step} (epoch ${Math.ceil(step / spe)}): ${bad.slice(0, 5).join(", ")}` +
          `${bad.length > 5 ? ` and ${bad.length - 5} more` : ""}; stopping. The last good checkpoint in ${out} is kept. ` +
          `Try a lower --lr or a longer warmup.`,
      );
    }
    const tensors: Checkpoint["tensors"] = {};
    names.forEach((n, i) => (tensors[n] = { shape: [...program.storages[program.persistent.get(n)!].shape!], data: vals[i] }));
    saveCheckpoint(out, { tensors, spec, specHash: hash, step, epoch: Math.floor(step / spe) });
  };

  const pacer = new Pacer();
  const t0 = performance.now();
  let order = epochOrder(tr.n, spec.seed, Math.floor(start / spe));
  let step = start;
  const end = Math.min(total, opts.stopAfter ?? total);
  try {
    for (; step < end && !interrupted; step++) {
      const epoch = Math.floor(step / spe), inEpoch = step % spe;
      if (inEpoch === 0 && step !== start) order = epochOrder(tr.n, spec.seed, epoch);
      for (let b = 0; b < spec.batch; b++) {
        const src = order[inEpoch * spec.batch + b] * per;
        batchBuf.set(tr.images.subarray(src, src + per), b * per);
      }
      ex.write("images", batchBuf);
      ex.setScalars(stepScalars(spec, lowered, step, total, spe));
      ex.run();
      pacer.submitted();
      const last = step === end - 1 || (step + 1) % spe === 0;
      if ((step + 1) % logEvery === 0 || last) {
        await pacer.beforeRead();
        const loss = (await ex.read("loss"))[0];
        pacer.read();
        if (!Number.isFinite(loss)) {
          throw new NonFiniteLossError(
            `loss became ${loss} at step ${step} (epoch ${epoch + 1}); stopping. The last good checkpoint in ${out} is kept. ` +
              `Try a lower --lr or a longer warmup.`,
          );
        }
        losses.push({ step, loss });
        const rec: Record<string, unknown> = { step, epoch: epoch + 1, loss, lr: stepScalars(spec, lowered, step, total, spe).lr };
        if (diag && ((step + 1) % diagEvery === 0 || last)) {
          const [a, b] = await ex.readMany([["pair.a", 0], ["pair.b", 0]].map(([n]) => {
            const o = program.outputs.get(n as string)!;
            return [o.storage, size(o.shape)] as [number, number];
          }));
          lastDiag = (await diag.measure(a, b)).values;
          Object.assign(rec, lastDiag);
        }
        rec.seconds = (performance.now() - t0) / 1000;
        appendMetrics(metricsPath, rec);
        progress.update(epoch + 1, inEpoch + 1, loss);
      } else {
        // keep at most one step queued behind the running one
        await pacer.beforeRead();
        await awaitGpu(gpu.device.queue.onSubmittedWorkDone());
        pacer.read();
      }
      if (last && step + 1 < end) await save(step + 1);
    }
    progress.finishLine();
    await save(step);
  } finally {
    process.off("SIGINT", onSig);
  }
  const seconds = (performance.now() - t0) / 1000;
  let C: TrainResult["C"];
  if (diag) {
    const o = (n: string) => program.outputs.get(n)!;
    const [a, b] = await ex.readMany([[o("pair.a").storage, size(o("pair.a").shape)], [o("pair.b").storage, size(o("pair.b").shape)]]);
    const m = await diag.measure(a, b, true);
    lastDiag = m.values;
    C = { data: m.C!, d: o("pair.a").shape[1] };
    diag.destroy();
  }
  if (interrupted) log(`interrupted at step ${step}: checkpoint saved in ${out}`);
  return {
    lowered, exec: ex, gpu, data, steps: step - start, epochs: Math.ceil(step / spe), seconds,
    imagesPerSec: ((step - start) * spec.batch) / seconds, losses, diag: lastDiag, C, interrupted,
  };
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
export type { Dataset };

// How the real training loop (train/trainer.ts, not a copy of it) uses the host: over 100 steps of
// the reference model on synthetic data with the default logging cadence, how often it waits for
// the device and how many bytes it uploads per step; and a soak of a tiny model over many steps
// that samples the process's resident memory and the live GPU buffers, to show a flat footprint.
import process from "node:process";
import { makeSynthetic } from "../data/synthetic.ts";
import type { Split } from "../data/dataset.ts";
import { mlp } from "../dsl/builders.ts";
import { presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import type { Gpu } from "../runtime/device.ts";
import { train } from "../train/trainer.ts";

/** Synthetic images quantised to bytes, as real image data are (so they live on the device as u8). */
function byteImages(n: number, size: number, seed: number): Split {
  const data = makeSynthetic({ train: n, test: 64, size, classes: 4, seed });
  for (const set of [data.train, data.test]) {
    set.images.forEach((v, i) => (set.images[i] = Math.round(Math.min(1, Math.max(0, v)) * 255) / 255));
  }
  return data;
}

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "ssl_bench_" });
}

export interface LoopFigures {
  steps: number;
  seconds: number;
  waitsPer100Steps: number;
  uploadBytesPerStep: number;
  /** the one-time upload of the training set, before the loop */
  dataBytes: number;
}

/** 100 steps of the reference BT model (batch 256, 784→1024→1024, 1024→2048→2048, LARS). */
export async function loopFigures(steps = 100): Promise<LoopFigures> {
  const batch = 256;
  const spec: PipelineSpec = presets.barlowTwins({
    data: "synthetic",
    batch,
    proj: [2048, 2048],
    encoder: mlp([1024, 1024], { bias: false, lastBn: true, lastRelu: true }),
    imageSize: 28,
    epochs: 1,
    steps,
  });
  const out = tempDir();
  try {
    const run = await train({ spec, out, data: byteImages(steps * batch, 28, 1), log: () => {} });
    run.exec.destroy();
    return {
      steps: run.steps,
      seconds: run.seconds,
      waitsPer100Steps: (run.loop.waits * 100) / run.steps,
      uploadBytesPerStep: run.loop.uploadBytes / run.steps,
      dataBytes: run.loop.dataBytes,
    };
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
}

export interface SoakFigures {
  steps: number;
  seconds: number;
  /** resident memory at the end of warm-up and at the end (MB), and the fitted growth */
  rssAfterWarmupMb: number;
  rssEndMb: number;
  rssGrowthMbPer10kSteps: number;
  /** GPU buffers created and not destroyed, at the end of warm-up and at the end */
  liveBuffersAfterWarmup: number;
  liveBuffersEnd: number;
}

/**
 * SimCLR with 64-wide encoder and projector, batch 64, for `steps` steps (100 per epoch, so the
 * epoch-end checkpoints are part of it). RSS is sampled every 250 ms; the growth is the slope of
 * a least-squares line through the samples after the first 20% of the run (warm-up: shader
 * compiles, first allocations), scaled to 10 000 steps at the run's measured speed.
 */
export async function soak(
  gpu: Gpu,
  steps = 10_000,
  loop: { groupSteps?: number; window?: number } = {},
): Promise<SoakFigures> {
  const batch = 64;
  const spec: PipelineSpec = presets.simclr({
    data: "synthetic",
    batch,
    proj: [64, 64],
    encoder: mlp([64], { bias: false, lastBn: true, lastRelu: true }),
    imageSize: 16,
    epochs: Math.ceil(steps / 100),
    steps,
  });
  const live = countBuffers(gpu.device);
  const samples: { t: number; rss: number; buffers: number }[] = [];
  const t0 = performance.now();
  const timer = setInterval(
    () =>
      samples.push({ t: (performance.now() - t0) / 1000, rss: process.memoryUsage().rss / 2 ** 20, buffers: live() }),
    250,
  );
  const out = tempDir();
  let seconds: number;
  try {
    const run = await train({ spec, out, data: byteImages(100 * batch, 16, 2), log: () => {}, ...loop });
    seconds = (performance.now() - t0) / 1000;
    run.exec.destroy();
  } finally {
    clearInterval(timer);
    Deno.removeSync(out, { recursive: true });
  }
  const warm = samples.filter((s) => s.t >= 0.2 * seconds);
  const n = warm.length, mt = warm.reduce((a, s) => a + s.t, 0) / n, mr = warm.reduce((a, s) => a + s.rss, 0) / n;
  const slope = warm.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / warm.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const stepsPerSecond = steps / seconds;
  return {
    steps,
    seconds,
    rssAfterWarmupMb: warm[0].rss,
    rssEndMb: warm[n - 1].rss,
    rssGrowthMbPer10kSteps: (slope / stepsPerSecond) * 10_000,
    liveBuffersAfterWarmup: warm[0].buffers,
    liveBuffersEnd: warm[n - 1].buffers,
  };
}

/** Counts buffers created on `device` from now on and not yet destroyed. */
function countBuffers(device: GPUDevice): () => number {
  let live = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const b = create(desc);
    live++;
    const destroy = b.destroy.bind(b);
    let gone = false;
    b.destroy = () => {
      if (!gone) live--;
      gone = true;
      destroy();
    };
    return b;
  };
  return () => live;
}

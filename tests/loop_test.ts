// The asynchronous training loop (train/loop.ts) and the step layer behind it: the step built by
// step/build.ts with the data on the device and the batch gathered inside it trains exactly as
// the same step fed from the host one batch at a time; grouping steps into command buffers, the
// window of groups in flight and streaming the data in chunks change nothing in the trajectory;
// the loop's accounting (waits, steps in flight, bytes uploaded) is what its contract says.
import { makeSynthetic } from "../data/synthetic.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { shuffleIndex } from "../kernels/wgsl/shuffle.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { buildStep } from "../step/build.ts";
import { runGeometry } from "../step/scalars.ts";
import { train, type TrainOptions, type TrainResult } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const IMG = 12, BATCH = 16, STEPS = 23;
/**
 * 7 steps per epoch (4 images left out per epoch): groups and chunks must respect epoch ends.
 * Pixels are quantised to bytes, as real image data are, so the set lives on the device as u8.
 */
const data = makeSynthetic({ train: 7 * BATCH + 4, test: 16, size: IMG, classes: 4, seed: 5 });
for (const set of [data.train, data.test]) {
  set.images.forEach((v, i) => (set.images[i] = Math.round(Math.min(1, Math.max(0, v)) * 255) / 255));
}
const quiet = () => {};

function spec(name: string): Promise<PipelineSpec> {
  return smallPipeline(name, { img: IMG, batch: BATCH, steps: STEPS, warmup: 0.5 }, ["--epochs", "4"]);
}

async function run(s: PipelineSpec, extra: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const out = Deno.makeTempDirSync({ prefix: "loop_test_" });
  try {
    return await train({ spec: s, out, data, logEvery: 1, diagEvery: 5, log: quiet, ...extra });
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
}

const lossesOf = (r: TrainResult) => r.losses.map((l) => l.loss);

function same(a: number[], b: number[], what: string) {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} losses`);
  a.forEach((x, i) => {
    if (x !== b[i]) throw new Error(`${what}: step ${i}: ${x} vs ${b[i]}`);
  });
}

Deno.test("the step with the data on the device trains exactly as the same step fed batch by batch from the host", async () => {
  const s = await spec("moco");
  const device = await run(s);
  // the host-fed twin: one 'images' input written per step with the rows of the epoch's shuffle
  const gpu = await getGpu();
  const tr = data.train, per = tr.c * tr.h * tr.w;
  const step = buildStep(s, { c: tr.c, h: tr.h, w: tr.w }, {
    features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 },
  });
  const ex = await Executable.create(gpu, step.program);
  const geometry = runGeometry(s, tr.n);
  const host: number[] = [];
  try {
    ex.initPersistent(s.seed);
    const batch = new Float32Array(BATCH * per);
    for (let k = 0; k < geometry.totalSteps; k++) {
      const epoch = Math.floor(k / geometry.stepsPerEpoch), first = (k % geometry.stepsPerEpoch) * BATCH;
      for (let b = 0; b < BATCH; b++) {
        const r = shuffleIndex(first + b, tr.n, s.seed, epoch);
        batch.set(tr.images.subarray(r * per, (r + 1) * per), b * per);
      }
      ex.write("images", batch);
      ex.setScalars(step.plan.values(k, geometry));
      ex.run();
      host.push((await awaitGpu(ex.read("loss")))[0]);
    }
  } finally {
    ex.destroy();
    device.exec.destroy();
  }
  same(lossesOf(device), host, "device-gathered vs host-fed");
});

Deno.test("groups of 1, 3 or 25 steps, 1 to 3 groups in flight, and data streamed in chunks give the same losses bit for bit", async () => {
  const s = await spec("barlow");
  const base = await run(s);
  const want = lossesOf(base);
  base.exec.destroy();
  for (const o of [{ groupSteps: 1, window: 1 }, { groupSteps: 3, window: 2 }, { groupSteps: 4, window: 3 }]) {
    const r = await run(s, o);
    same(lossesOf(r), want, `groups of ${o.groupSteps}, window ${o.window}`);
    r.exec.destroy();
  }
  // a device buffer of 40 images: the epoch's rows are streamed 2 steps (32 images) at a time
  const streamed = await run(s, { maxDataBytes: 40 * IMG * IMG, groupSteps: 5 });
  if (streamed.images.train.resident) throw new Error("the capped buffer should force streaming");
  if (streamed.images.train.rows !== 40) throw new Error(`window of ${streamed.images.train.rows} rows`);
  same(lossesOf(streamed), want, "streamed in chunks");
  // stopped mid-chunk (step 10 is the 4th of an epoch; chunks hold 2 steps) and resumed, still streamed
  const out = Deno.makeTempDirSync({ prefix: "loop_test_" });
  try {
    const common = { spec: s, out, data, logEvery: 1, log: quiet, maxDataBytes: 40 * IMG * IMG };
    (await train({ ...common, stopAfter: 10 })).exec.destroy();
    const resumed = await train({ ...common, resume: out });
    same(lossesOf(resumed), want.slice(10), "streamed, resumed mid-chunk");
    resumed.exec.destroy();
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
  // one upload per chunk: ⌈7 / 2⌉ chunks per epoch, 4 epochs capped at 23 steps
  const chunks = Math.ceil(7 / 2) * 3 + Math.ceil(2 / 2);
  const perChunk = 2 * BATCH * IMG * IMG;
  if (streamed.loop.dataBytes > chunks * perChunk) {
    throw new Error(`streamed ${streamed.loop.dataBytes} bytes, at most ${chunks} chunks of ${perChunk} expected`);
  }
  streamed.exec.destroy();
});

Deno.test("the loop's accounting: one wait per group (plus epoch-end checkpoints), at most window × group steps in flight, scalar uploads only", async () => {
  const s = await spec("simclr");
  const r = await run(s, { groupSteps: 4, window: 2 });
  r.exec.destroy();
  const spe = 7, epochs = Math.ceil(STEPS / spe);
  // groups never cross an epoch end: ⌈7/4⌉ = 2 per full epoch, 1 for the 2 steps of the last
  const groups = 2 * (epochs - 1) + Math.ceil((STEPS - (epochs - 1) * spe) / 4);
  const checkpoints = epochs - 1; // the last one is written after the loop
  if (r.loop.waits !== groups + checkpoints) {
    throw new Error(`waits ${r.loop.waits}, expected ${groups} groups + ${checkpoints} checkpoints`);
  }
  if (r.loop.maxStepsInFlight > 2 * 4) throw new Error(`${r.loop.maxStepsInFlight} steps in flight, window allows 8`);
  if (r.loop.maxStepsInFlight < 5) {
    throw new Error(`only ${r.loop.maxStepsInFlight} steps were ever in flight: the window is not used`);
  }
  // the data were uploaded once, before the loop; in the loop only scalar slots are written
  if (r.loop.uploadBytes !== r.loop.scalarBytes) {
    throw new Error(`loop uploaded ${r.loop.uploadBytes} bytes, scalars ${r.loop.scalarBytes}`);
  }
  if (r.loop.uploadBytes / STEPS > 1024) throw new Error(`${r.loop.uploadBytes / STEPS} bytes per step`);
  if (r.images.train.dtype !== "u8") throw new Error("byte-valued images should live on the device as u8");
  if (r.loop.dataBytes !== data.train.n * IMG * IMG) {
    throw new Error(`data upload ${r.loop.dataBytes} bytes (u8: ${data.train.n * IMG * IMG})`);
  }
});

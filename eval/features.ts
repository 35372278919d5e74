// Frozen features for evaluation: an inference program (encoder forward, BN in inference mode)
// run over a data set that is already on the device (runtime/device_images.ts), batch after
// batch in stored order. The batches' positions come from uniform slots written for many batches
// at once, and the features of a group of batches are copied to one staging buffer that is read
// when the group is done, so the host waits once per group. The same FeatureSet type feeds the
// kNN monitor and the linear probe.
import { compileFor } from "../runtime/compile_for.ts";
import { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { RNG_SEED, RNG_STEP } from "../kernels/op.ts";
import type { Gpu } from "../runtime/device.ts";
import type { DeviceImages } from "../runtime/device_images.ts";
import { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { ScalarPlan } from "../step/scalar_plan.ts";

/** n rows of `dim` features (row-major) with their labels in [0, classes). */
export interface FeatureSet {
  data: Float32Array;
  labels: Int32Array;
  n: number;
  dim: number;
  classes: number;
}

/** Checks a FeatureSet's invariants; `what` names it in the error. */
export function checkFeatures(f: FeatureSet, what: string): FeatureSet {
  if (!Number.isInteger(f.n) || f.n < 1 || !Number.isInteger(f.dim) || f.dim < 1) {
    throw new Error(`${what}: n = ${f.n} and dim = ${f.dim} must be positive integers`);
  }
  if (f.data.length !== f.n * f.dim) {
    throw new Error(`${what}: ${f.data.length} values, expected n·dim = ${f.n}·${f.dim}`);
  }
  if (f.labels.length !== f.n) throw new Error(`${what}: ${f.labels.length} labels for ${f.n} rows`);
  for (let i = 0; i < f.n; i++) {
    const l = f.labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= f.classes) {
      throw new Error(`${what}: label ${l} of row ${i} is outside 0..${f.classes - 1}`);
    }
  }
  return f;
}

/** What to extract: the features [B, F] of a batch of images [B, C, H, W], and its weights. */
export interface FeatureModel {
  forward(images: Tensor): Tensor;
  /** writes the values of the program's persistent tensors (the weights) */
  load(ex: Executable): Promise<void> | void;
}

export interface ExtractOptions {
  /** images per batch (default 256, at most the set's size) */
  batch?: number;
  /** batches per command buffer and readback (default: as many as fit 64 MiB of features, at most 64) */
  groupBatches?: number;
}

/**
 * Features of every image of `images`. The last batch may run past the end: the gather gives
 * zero rows there (in a streamed window, rows left from the previous chunk), which is exact
 * because an inference model treats rows independently (BN uses running statistics), and those
 * rows are dropped.
 */
export async function extractFeatures(
  gpu: Gpu,
  model: FeatureModel,
  images: DeviceImages,
  opts: ExtractOptions = {},
): Promise<FeatureSet> {
  const ds = images.set;
  if (ds.n < 1) throw new Error(`extractFeatures: dataset '${ds.name}' is empty`);
  const batch = Math.min(opts.batch ?? 256, ds.n, images.rows);
  // streamed sets hold a window of whole batches at a time
  const chunkBatches = images.resident ? Infinity : Math.floor(images.rows / batch);
  const plan = new ScalarPlan();
  const first = plan.declare("data_first", "u32", (b) => (b % chunkBatches) * batch);
  // an evaluation resize is an augment op without randomness; its RNG key is still read
  plan.declare(RNG_SEED, "u32", () => 0);
  plan.declare(RNG_STEP, "u32", () => 0);

  const g = new Graph();
  const set = g.input("dataset", [images.rows, ds.c, ds.h, ds.w], images.dtype);
  const x = set.op("gatherBatch", [], { batch, order: "stored", dtype: images.dtype, first });
  const f = model.forward(x);
  if (f.shape.length !== 2 || f.shape[0] !== batch) {
    throw new Error(`extractFeatures: the model gives features ${JSON.stringify(f.shape)}, expected [${batch}, F]`);
  }
  g.output("features", f);
  const program = await compileFor(gpu, g);
  plan.check(program, "the feature program");
  const dim = f.shape[1], rowBytes = batch * dim * 4;
  const batches = Math.ceil(ds.n / batch);
  const group = Math.max(1, Math.min(opts.groupBatches ?? Math.floor((64 << 20) / rowBytes), 64, batches));
  const ex = await Executable.create(gpu, program, { slots: group, bind: { dataset: images.buffer } });
  const data = new Float32Array(ds.n * dim);
  const out = program.outputs.get("features")!.storage;
  const stagings = [0, 1].map(() =>
    gpu.device.createBuffer({ size: group * rowBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
  );
  const inFlight: { first: number; count: number; staging: GPUBuffer; mapped: Promise<void> }[] = [];
  try {
    await model.load(ex);
    const collect = async () => {
      const r = inFlight.shift()!;
      await awaitGpu(r.mapped);
      const got = new Float32Array(r.staging.getMappedRange());
      const rows = Math.min(r.count * batch, ds.n - r.first * batch);
      data.set(got.subarray(0, rows * dim), r.first * batch * dim);
      r.staging.unmap();
    };
    let k = 0;
    for (let b = 0; b < batches;) {
      // a group ends where the streamed window must be refilled
      const count = Math.min(group, batches - b, chunkBatches - (b % chunkBatches));
      if (inFlight.length === 2) await collect();
      if (!images.resident && b % chunkBatches === 0) {
        const start = b * batch, rows = Math.min(chunkBatches * batch, ds.n - start);
        images.load(Uint32Array.from({ length: rows }, (_, i) => start + i));
      }
      ex.writeSlots(0, plan.pack(program, b, count, undefined));
      const staging = stagings[k++ % 2];
      const enc = gpu.device.createCommandEncoder();
      for (let j = 0; j < count; j++) {
        ex.encode(enc, j);
        ex.encodeCopy(enc, out, staging, j * rowBytes, rowBytes);
      }
      gpu.device.queue.submit([enc.finish()]);
      inFlight.push({ first: b, count, staging, mapped: staging.mapAsync(GPUMapMode.READ) });
      b += count;
    }
    while (inFlight.length) await collect();
  } finally {
    // after a failure, let the maps still pending settle before their buffers are destroyed
    await awaitGpu(Promise.allSettled(inFlight.map((r) => r.mapped)));
    ex.destroy();
    for (const s of stagings) s.destroy();
  }
  return { data, labels: Int32Array.from(ds.labels), n: ds.n, dim, classes: ds.classes };
}

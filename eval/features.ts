// Frozen features for evaluation: run an inference program (encoder forward, BN in inference
// mode) over a dataset batch by batch and collect the rows. The same FeatureSet type feeds
// the kNN monitor and the linear probe.
import type { Dataset } from "../data/dataset.ts";
import { awaitGpu } from "../runtime/autotune.ts";
import type { Executable } from "../runtime/executable.ts";
import { Pacer } from "./pace.ts";

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

/**
 * An inference program for a fixed batch size: its compiled graph has input 'images'
 * [batch, C, H, W] and output 'features' [batch, F]; weights are already written.
 */
export type FeatureModel = (batch: number) => Promise<Executable>;

/**
 * Features of every image of `ds`, in batches of `batch` images. The last short batch is padded
 * with zeros and its padding rows dropped, which is exact because an inference model treats rows
 * independently (BN uses running statistics). Two batches are in flight, so the upload of one
 * overlaps the GPU work of the other. The executable `model` returns is destroyed at the end.
 */
export async function extractFeatures(
  model: FeatureModel,
  ds: Dataset,
  opts: { batch?: number } = {},
): Promise<FeatureSet> {
  const batch = Math.min(opts.batch ?? 256, ds.n);
  if (ds.n < 1) throw new Error(`extractFeatures: dataset '${ds.name}' is empty`);
  const ex = await awaitGpu(model(batch));
  try {
    return await extractWith(ex, ds, batch);
  } finally {
    ex.destroy();
  }
}

async function extractWith(ex: Executable, ds: Dataset, batch: number): Promise<FeatureSet> {
  const inp = ex.program.inputs.get("images"), out = ex.program.outputs.get("features");
  const per = ds.c * ds.h * ds.w;
  if (inp === undefined || !out) {
    throw new Error(`extractFeatures: the model's program needs an input 'images' and an output 'features'`);
  }
  const ishape = ex.program.storages[inp].shape!;
  if (ishape.join() !== [batch, ds.c, ds.h, ds.w].join()) {
    throw new Error(
      `extractFeatures: model input 'images' is [${ishape}], dataset '${ds.name}' gives [${batch}, ${ds.c}, ${ds.h}, ${ds.w}]`,
    );
  }
  if (out.shape.length !== 2 || out.shape[0] !== batch) {
    throw new Error(`extractFeatures: output 'features' is [${out.shape}], expected [${batch}, F]`);
  }
  const dim = out.shape[1];
  const data = new Float32Array(ds.n * dim);
  const pad = new Float32Array(batch * per);
  const pacer = new Pacer();
  const submit = (b: number) => {
    const start = b * batch, rows = Math.min(batch, ds.n - start);
    const src = ds.images.subarray(start * per, (start + rows) * per);
    if (rows === batch) ex.write("images", src);
    else {
      pad.fill(0).set(src);
      ex.write("images", pad);
    }
    ex.run();
    pacer.submitted();
  };
  const batches = Math.ceil(ds.n / batch);
  submit(0);
  for (let b = 0; b < batches; b++) {
    await pacer.beforeRead();
    // the copy to the staging buffer is queued now, before the next batch overwrites the output
    const pending = ex.readMany([[out.storage, batch * dim]]);
    if (b + 1 < batches) submit(b + 1);
    const [f] = await awaitGpu(pending);
    pacer.read();
    const rows = Math.min(batch, ds.n - b * batch);
    data.set(f.subarray(0, rows * dim), b * batch * dim);
  }
  return { data, labels: Int32Array.from(ds.labels), n: ds.n, dim, classes: ds.classes };
}

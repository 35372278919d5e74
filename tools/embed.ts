// Embeddings of a data set under a run's encoder, on the project's GPU path (the inference
// program evaluation uses: BN in inference mode, images resized to the training view size):
//
//   deno run -A tools/embed.ts --checkpoint RUN --out feats.npy [--data NAME] [--split test|train] [--limit N]
//
// RUN is a run folder or checkpoint file of either engine (pipelines/*.ts or a program written
// by tools/to_torch.ts). Writes feats.npy (float32 [n, D]) and feats.labels.npy (int32 [n]).
import process from "node:process";
import { writeFileSync } from "node:fs";
import { DataError } from "../data/dataset.ts";
import { loadDatasetSync } from "../data/load.ts";
import { SpecError } from "../dsl/error.ts";
import { choiceValue, FlagError, intValue, requiredValue, splitArgs } from "../dsl/flags.ts";
import { encoderModel } from "../eval/evaluate.ts";
import { extractFeatures } from "../eval/features.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { getGpu } from "../runtime/device.ts";
import { DeviceImages } from "../runtime/device_images.ts";
import { checkpointEncoder } from "../eval/checkpoint_encoder.ts";

const USAGE = "usage: tools/embed.ts --checkpoint RUN --out FILE.npy [--data NAME] [--split test|train] [--limit N]";

interface EmbedArgs {
  checkpoint: string;
  out: string;
  data?: string;
  split: "train" | "test";
  limit?: number;
}

const FLAGS = [
  { name: "checkpoint", arg: "RUN" },
  { name: "out", arg: "FILE.npy" },
  { name: "data", arg: "NAME" },
  { name: "split", arg: "test|train" },
  { name: "limit", arg: "N" },
  { name: "help" },
];

/** The flags (the project's flag parser, dsl/flags.ts); an unknown flag or a bad value is a FlagError. */
export function parseEmbedArgs(args: string[]): EmbedArgs | "help" {
  const v = splitArgs(args, FLAGS).values;
  if (v.has("help")) return "help";
  const required = (name: string) => requiredValue(v, name, USAGE);
  const split = v.has("split") ? choiceValue("--split", v.get("split")!, ["train", "test"] as const) : "test";
  const limit = v.has("limit") ? intValue("--limit", v.get("limit")!, 1) : undefined;
  return { checkpoint: required("checkpoint"), out: required("out"), data: v.get("data"), split, limit };
}

/** numpy's .npy format, version 1.0: magic, header dict padded to 64 bytes, raw little-endian data. */
export function npyBytes(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? "<f4" : "<i4";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${
    shape.length === 1 ? "," : ""
  }), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Features of the chosen split under the checkpoint's encoder. */
export async function embed(
  a: EmbedArgs,
): Promise<{ n: number; dim: number; features: Float32Array; labels: Int32Array }> {
  const { spec, encoder, weights, dataName } = checkpointEncoder(a.checkpoint);
  const limits = a.split === "train" ? { trainLimit: a.limit, testLimit: 1 } : { trainLimit: 1, testLimit: a.limit };
  const split = loadDatasetSync(dataName(a.data), limits)[a.split];
  const gpu = await getGpu();
  const f = await extractFeatures(gpu, encoderModel(spec, encoder, weights), DeviceImages.create(gpu, split));
  return { n: f.n, dim: f.dim, features: f.data, labels: f.labels };
}

if (import.meta.main) {
  try {
    const a = parseEmbedArgs(process.argv.slice(2));
    if (a === "help") console.log(USAGE);
    else {
      const r = await embed(a);
      writeFileSync(a.out, npyBytes(r.features, [r.n, r.dim]));
      const labels = a.out.replace(/(\.npy)?$/, ".labels.npy");
      writeFileSync(labels, npyBytes(r.labels, [r.n]));
      console.log(`wrote ${a.out} (${r.n}×${r.dim} float32) and ${labels}`);
    }
  } catch (e) {
    const known = e instanceof FlagError || e instanceof CheckpointError || e instanceof DataError ||
      e instanceof SpecError;
    console.error(`error: ${(e as Error).message}`);
    process.exit(known ? 2 : 1);
  }
  process.exit(0);
}

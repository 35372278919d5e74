// Training checkpoints: one safetensors file `<dir>/checkpoint.safetensors`, written atomically.
//
// Everything a run needs to resume is either a tensor (parameters, optimizer moments, EMA
// weights, queues, …: name them e.g. "param/encoder.w0", "opt/m/encoder.w0", "ema/…") or a
// string in the header: the pipeline spec (JSON), its hash, step, epoch, and any extra
// metadata (RNG seed/counters as decimal strings, the adapter, …). Loading validates the
// file, the format tag, and optionally the spec hash and the tensor names and shapes the
// caller's compiled graph expects, and that every value is finite.
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { AtomicWriteError } from "./atomic.ts";
import { type Metadata, readSafetensors, type Tensors, writeSafetensors } from "./safetensors.ts";

export const CHECKPOINT_FILE = "checkpoint.safetensors";
const CHECKPOINT_FORMAT = "ssl-webgpu-checkpoint";
const CHECKPOINT_VERSION = "1";
const RESERVED = ["format", "format_version", "spec", "spec_hash", "step", "epoch"];

export interface Checkpoint {
  tensors: Tensors;
  /** The pipeline spec (any JSON value). */
  spec: unknown;
  specHash: string;
  step: number;
  epoch: number;
  /** Extra string metadata; keys must not be one of the reserved ones above. */
  meta?: Metadata;
}

export interface Expect {
  /** Refuse a checkpoint written for another spec. */
  specHash?: string;
  /** Tensors that must exist with exactly these shapes. */
  shapes?: Record<string, number[]>;
  /** Also refuse tensors not listed in `shapes` (default false: extras are allowed). */
  strict?: boolean;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** `<dir>/checkpoint.safetensors`, or `path` itself when it names a file. */
export function checkpointPath(dirOrFile: string): string {
  try {
    if (files().stat(dirOrFile).isFile) return dirOrFile;
  } catch { /* not there yet: treat as a folder */ }
  return join(dirOrFile, CHECKPOINT_FILE);
}

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;

/** Saves atomically to `<dir>/checkpoint.safetensors` (creating `dir`); returns the path. */
export function saveCheckpoint(dir: string, ck: Checkpoint): string {
  const path = join(dir, CHECKPOINT_FILE);
  const bad = (why: string) => new CheckpointError(`cannot save ${path}: ${why}`);
  if (!isCount(ck.step) || !isCount(ck.epoch)) {
    throw bad(`step ${ck.step} and epoch ${ck.epoch} must be non-negative integers`);
  }
  if (typeof ck.specHash !== "string" || !ck.specHash) throw bad("specHash must be a non-empty string");
  const spec = JSON.stringify(ck.spec);
  if (spec === undefined) throw bad("spec is not JSON-serializable");
  const clash = Object.keys(ck.meta ?? {}).filter((k) => RESERVED.includes(k));
  if (clash.length) throw bad(`meta keys ${clash.join(", ")} are reserved`);
  const metadata: Metadata = {
    ...ck.meta,
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_VERSION,
    spec,
    spec_hash: ck.specHash,
    step: String(ck.step),
    epoch: String(ck.epoch),
  };
  try {
    writeSafetensors(path, ck.tensors, metadata);
  } catch (e) {
    throw new CheckpointError(
      `cannot save the checkpoint ${path}: ${e instanceof AtomicWriteError ? e.reason : (e as Error).message}`,
    );
  }
  return path;
}

/** Loads and validates `<dir>/checkpoint.safetensors` (or a checkpoint file path). */
export function loadCheckpoint(dirOrFile: string, expect: Expect = {}): Checkpoint {
  const path = checkpointPath(dirOrFile);
  const { tensors, metadata } = readSafetensors(path); // SafetensorsError names the file
  const fail = (why: string) => new CheckpointError(`${path}: ${why}`);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw fail(
      `not a checkpoint (metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  if (metadata.format_version !== CHECKPOINT_VERSION) {
    throw fail(
      `checkpoint format version ${metadata.format_version} is not supported (expected ${CHECKPOINT_VERSION})`,
    );
  }
  let spec: unknown;
  try {
    spec = JSON.parse(metadata.spec);
  } catch (e) {
    throw fail(`spec metadata is not JSON (${(e as Error).message})`);
  }
  const step = Number(metadata.step), epoch = Number(metadata.epoch);
  if (!/^\d+$/.test(metadata.step ?? "") || !isCount(step)) {
    throw fail(`step ${JSON.stringify(metadata.step)} is not a non-negative integer`);
  }
  if (!/^\d+$/.test(metadata.epoch ?? "") || !isCount(epoch)) {
    throw fail(`epoch ${JSON.stringify(metadata.epoch)} is not a non-negative integer`);
  }
  const specHash = metadata.spec_hash ?? "";
  if (expect.specHash !== undefined && specHash !== expect.specHash) {
    throw fail(`written for spec hash ${specHash}, but the current spec hashes to ${expect.specHash}`);
  }
  if (expect.shapes) {
    const missing = Object.keys(expect.shapes).filter((k) => !(k in tensors));
    if (missing.length) {
      throw fail(`missing tensor${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")}`);
    }
    for (const [k, want] of Object.entries(expect.shapes)) {
      const got = tensors[k].shape;
      if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
        throw fail(`tensor "${k}" has shape [${got}], expected [${want}]`);
      }
    }
    if (expect.strict) {
      const extra = Object.keys(tensors).filter((k) => !(k in expect.shapes!));
      if (extra.length) {
        throw fail(`unexpected tensor${extra.length > 1 ? "s" : ""} ${extra.map((m) => `"${m}"`).join(", ")}`);
      }
    }
  }
  // a NaN or an infinity would surface steps later as a diverged loss, blamed on the lr
  for (const [name, t] of Object.entries(tensors)) {
    const i = t.data.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) {
      throw fail(
        `tensor "${name}" holds ${
          t.data[i]
        } at index ${i} (of ${t.data.length}); a checkpoint with non-finite values cannot be ` +
          `loaded (a run's own checkpoints never hold them: its last good one is kept when it diverges)`,
      );
    }
  }
  const meta: Metadata = {};
  for (const [k, v] of Object.entries(metadata)) if (!RESERVED.includes(k)) meta[k] = v;
  return { tensors, spec, specHash, step, epoch, meta };
}

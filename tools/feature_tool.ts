// What the feature tools (neighbours, anomaly, compare) share: loading a checkpoint's encoder with
// its data, the exit codes (2 for a usage error: a bad flag, checkpoint, data set or a value the
// data cannot satisfy; 1 otherwise), and writing results only once everything is computed.
import process from "node:process";
import { DataError, type Split } from "../data/dataset.ts";
import { loadDatasetSync } from "../data/load.ts";
import { SpecError } from "../dsl/error.ts";
import { FlagError } from "../dsl/flags.ts";
import { type CheckpointEncoder, checkpointEncoder } from "../eval/checkpoint_encoder.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { SafetensorsError } from "../io/safetensors.ts";

/** A checkpoint and the data set its encoder is scored on (--data, else the checkpoint's own kind). */
export function loadRun(
  checkpoint: string,
  data: string | undefined,
  limits: { trainLimit?: number; testLimit?: number },
): { ck: CheckpointEncoder; split: Split } {
  const ck = checkpointEncoder(checkpoint);
  const split = loadDatasetSync(ck.dataName(data), limits);
  if (split.test.n === 0) throw new DataError(`${ck.dataName(data)}: the test split has no images`);
  return { ck, split };
}

/** JSON with a trailing newline, written atomically (no partial file on failure). */
export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

// a checkpoint that is missing or not safetensors is the user's file, like a bad flag
const USAGE_ERRORS = [FlagError, CheckpointError, SafetensorsError, DataError, SpecError];

/** Runs a tool's main: its message on stderr, exit 2 for usage errors, 1 for anything else. */
export function runTool(tool: string, main: () => Promise<void>): void {
  main().then(() => process.exit(0), (e) => {
    console.error(`${tool}: ${(e as Error).message}`);
    process.exit(USAGE_ERRORS.some((c) => e instanceof c) ? 2 : 1);
  });
}

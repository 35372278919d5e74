// Checkpoints of a run: a snapshot of every persistent tensor queued behind the steps already
// submitted (so the loop need not stop for it) and written once read; resuming checks the file
// against the compiled step. A snapshot with a non-finite value is refused, so a diverged run
// never replaces the last good checkpoint. A checkpoint also records the run's segments (each
// stretch of steps one process trained, with its time), so a resumed run can report on all of it.
import { PROBE } from "../step/online_probe.ts";
import type { Program } from "../compiler/compile.ts";
import { type FieldChange, resumeChanges } from "../dsl/resume.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type Checkpoint, CheckpointError, checkpointPath, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { size } from "../kernels/op.ts";
import type { Executable } from "../runtime/executable.ts";
import { NonFiniteLossError } from "./loop.ts";
import { files } from "../platform/current.ts";
import { readMetrics } from "../report/metrics.ts";

export interface SaveTarget {
  out: string;
  spec: PipelineSpec;
  hash: string;
  stepsPerEpoch: number;
  /** the run's segments up to the checkpoint at `step` */
  segments?: (step: number) => RunSegment[];
}

/** One stretch of a run trained by one call: steps [from, to) in `seconds` (null: not known). */
export interface RunSegment {
  from: number;
  to: number;
  seconds: number | null;
}

/** Reads every persistent tensor as of the steps submitted so far and saves them as the checkpoint at `step`. */
export async function snapshot(
  ex: Executable,
  program: Program,
  t: SaveTarget,
  step: number,
): Promise<Checkpoint["tensors"]> {
  const names = [...program.persistent.keys()];
  const shapeOf = (n: string) => program.storages[program.persistent.get(n)!].shape!;
  const vals = await ex.readMany(names.map((n) => [program.persistent.get(n)!, size(shapeOf(n))]));
  // on lavapipe max(NaN, 0) is 0, so ReLU can launder NaN weights into a finite (constant) loss
  // that the loss check never sees: this is where they are caught
  const bad = names.filter((_, i) => vals[i].some((x) => !Number.isFinite(x)));
  if (bad.length) {
    throw new NonFiniteLossError(
      `parameters or state became non-finite by step ${step} (epoch ${Math.ceil(step / t.stepsPerEpoch)}): ${
        bad.slice(0, 5).join(", ")
      }` +
        `${bad.length > 5 ? ` and ${bad.length - 5} more` : ""}`,
      step,
    );
  }
  const tensors: Checkpoint["tensors"] = {};
  names.forEach((n, i) => (tensors[n] = { shape: [...shapeOf(n)], data: vals[i] }));
  const meta = t.segments ? { segments: JSON.stringify(t.segments(step)) } : undefined;
  saveCheckpoint(t.out, {
    tensors,
    spec: t.spec,
    specHash: t.hash,
    step,
    epoch: Math.floor(step / t.stepsPerEpoch),
    meta,
  });
  return tensors;
}

/**
 * The segments a checkpoint records. A checkpoint written before segments were recorded counts
 * as one segment from step 0, its time read from the run's metrics log where it has one.
 */
export function segmentsOf(ck: Checkpoint, metricsPath: string): RunSegment[] {
  try {
    const recorded = JSON.parse(ck.meta?.segments ?? "null");
    if (
      Array.isArray(recorded) && recorded.every((r) => Number.isSafeInteger(r?.from) && Number.isSafeInteger(r?.to))
    ) {
      return recorded.map((r) => ({
        from: r.from,
        to: r.to,
        seconds: typeof r.seconds === "number" ? r.seconds : null,
      }));
    }
  } catch { /* not JSON: as if absent */ }
  let seconds: number | null = null;
  if (files().exists(metricsPath)) {
    const last = readMetrics(metricsPath).filter((r) => typeof r.step === "number" && r.step < ck.step).at(-1);
    if (typeof last?.seconds === "number") seconds = last.seconds;
  }
  return [{ from: 0, to: ck.step, seconds }];
}

/**
 * The checkpoint to resume from, checked against the compiled step's persistent tensors, and the
 * spec changes since it was written: only the fields dsl/resume.ts allows (lr, schedule length,
 * evaluation), any other difference is refused naming each field.
 */
export function resumeState(ck: Checkpoint, from: string, program: Program, spec: PipelineSpec): FieldChange[] {
  const shapes: Record<string, number[]> = {};
  for (const [name, id] of program.persistent) shapes[name] = [...program.storages[id].shape!];
  // spec differences first: they name the fields, where a shape mismatch would only name a tensor
  const changes = resumeChanges(ck.spec, spec, checkpointPath(from));
  for (const [name, want] of Object.entries(shapes)) {
    const got = ck.tensors[name]?.shape;
    if (!got && name.startsWith(`${PROBE}.`)) {
      throw new CheckpointError(
        `${
          checkpointPath(from)
        } was trained without the online probe (eval.onlineProbe); resume with --online-probe off`,
      );
    }
    if (!got) throw new CheckpointError(`${checkpointPath(from)}: missing tensor "${name}"`);
    if (got.join() !== want.join()) {
      throw new CheckpointError(`${checkpointPath(from)}: tensor "${name}" has shape [${got}], expected [${want}]`);
    }
  }
  return changes;
}

/** The checkpoint to resume from (a file or a run folder), read and checked as a file. */
export function readResumeCheckpoint(from: string): Checkpoint {
  try {
    return loadCheckpoint(from);
  } catch (e) {
    // a truncated or corrupt file is a checkpoint problem to the user (the message names the file)
    if (e instanceof SafetensorsError) throw new CheckpointError(`cannot resume: ${e.message}`);
    throw e;
  }
}

/** The checkpoint in a run folder, if there is a readable one: its step, epoch and path. */
export function checkpointReader(out: string): { step: number; epoch: number; path: string } | undefined {
  const path = checkpointPath(out);
  if (!files().exists(path)) return undefined;
  try {
    const ck = loadCheckpoint(path);
    return { step: ck.step, epoch: ck.epoch, path };
  } catch {
    return undefined;
  }
}

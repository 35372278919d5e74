// The per-class arm of the anomaly protocol: one encoder per class, trained on that class only
// (a pipeline run with --one-class C), found as RUNS_DIR/class-C (the layout
// tools/one_class_runs.ts writes). Every run is opened and checked before any GPU work: a
// missing folder, or a run trained on another class or on all of them, is an error naming it.
import { classIndex, describeClass } from "../data/one_class.ts";
import type { Dataset } from "../data/dataset.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { type CheckpointEncoder, checkpointEncoder } from "./checkpoint_encoder.ts";

/** The run folder of class c under `dir`. */
export const classRunDir = (dir: string, c: number): string => join(dir, `class-${c}`);

/**
 * The checkpoint of each class in `classes`, in their order; `train` (the full training split)
 * resolves a class a run names by name.
 */
export function oneClassRuns(dir: string, classes: number[], train: Dataset): CheckpointEncoder[] {
  const missing = classes.filter((c) => !files().exists(classRunDir(dir, c)));
  if (missing.length) {
    throw new CheckpointError(
      `${dir}: no run for class${missing.length > 1 ? "es" : ""} ${missing.join(", ")} (expected ${
        missing.map((c) => classRunDir(dir, c)).join(", ")
      }); train them with tools/one_class_runs.ts, or choose the classes there are with --classes`,
    );
  }
  return classes.map((c) => {
    const run = classRunDir(dir, c);
    const ck = checkpointEncoder(run);
    const trained = ck.spec.data.oneClass;
    if (trained === undefined) {
      throw new CheckpointError(`${run}: this run was trained on all classes, not with --one-class ${c}`);
    }
    let index: number;
    try {
      index = classIndex(train, trained);
    } catch (e) {
      throw new CheckpointError(`${run}: ${(e as Error).message}`);
    }
    if (index !== c) {
      throw new CheckpointError(
        `${run}: this run was trained on ${describeClass({ index, name: train.classNames?.[index] })}, ` +
          `not class ${c}`,
      );
    }
    return ck;
  });
}

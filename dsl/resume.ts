// What may change when a run is resumed. A checkpoint holds the spec it was trained with; the
// spec given on resume may differ from it only in fields that leave the trained state meaningful
// and the step's graph unchanged: the learning rates, the length of the schedule, and the
// evaluation settings. Anything else (a width, a loss weight, an augmentation, the seed…) would
// resume weights, optimizer state or random streams into a different run, so it is refused, field
// by field, with the old and the new value.
import { joinPath, show, SpecError } from "./error.ts";
import type { PipelineSpec } from "./schema.ts";
import { validateSpecStructure } from "./validate.ts";

/**
 * Spec paths that may differ on resume. Logging cadence is not part of the spec (it is a
 * trainer option), so it may always change.
 */
export const RESUMABLE_FIELDS: readonly string[] = [
  "optimizer.lr",
  "optimizer.biasLr",
  "epochs",
  "steps",
  "schedule.warmupEpochs",
  "eval.*",
];

export interface FieldChange {
  /** spec path, e.g. "optimizer.lr" */
  path: string;
  /** the values as text, "none" for a field that is absent */
  from: string;
  to: string;
}

/** A resume that would change a field outside RESUMABLE_FIELDS; a usage error (exit status 2). */
export class ResumeError extends Error {
  override name = "ResumeError";
  readonly exitCode = 2;
  constructor(readonly refused: FieldChange[], message: string) {
    super(message);
  }
}

const resumable = (path: string) =>
  RESUMABLE_FIELDS.some((f) => (f.endsWith(".*") ? path.startsWith(f.slice(0, -1)) : path === f));

const text = (
  x: unknown,
) => (x === undefined ? "none" : typeof x === "object" && x !== null ? JSON.stringify(x) : show(x));

/** Leaf-level differences between two JSON values, in the order of `a`'s fields then `b`'s new ones. */
function diff(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[k], b[k], joinPath(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diff(x, b[i], joinPath(path, i), out));
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, from: text(a), to: text(b) });
}

/**
 * The fields in which `now` differs from the spec `saved` in a checkpoint (`where` names the
 * checkpoint in errors). Returns the allowed changes, for the trainer to print; throws
 * ResumeError naming every other differing field with its old → new value.
 */
export function resumeChanges(saved: unknown, now: PipelineSpec, where = "the checkpoint"): FieldChange[] {
  let old: PipelineSpec;
  try {
    old = validateSpecStructure(saved);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    throw new ResumeError([], `${where}: its spec is not valid in this version: ${e.message}`);
  }
  const changes: FieldChange[] = [];
  diff(old, validateSpecStructure(now), "", changes);
  const refused = changes.filter((c) => !resumable(c.path));
  if (refused.length) {
    const lines = refused.map((c) => `  ${c.path}: ${c.from} → ${c.to}`).join("\n");
    throw new ResumeError(
      refused,
      `cannot resume from ${where}: the spec differs from the one it was trained with in ${refused.length} field${
        refused.length > 1 ? "s" : ""
      } that would change the run:\n${lines}\nOn resume only these may change: ${
        RESUMABLE_FIELDS.join(", ")
      }. To train with the other changes, start a new run (another --out, or --overwrite).`,
    );
  }
  return changes;
}

/** One line per allowed change, as the trainer prints them on resume. */
export function formatChanges(changes: FieldChange[]): string {
  return changes.map((c) => `${c.path}: ${c.from} → ${c.to}`).join("\n");
}

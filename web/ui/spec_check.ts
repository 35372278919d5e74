// The editor's check, run as the user types: the text as JSON, then the one gate every spec
// passes (step/validate.ts validateSpec: the spec layer's checks and the graph stage's), each
// problem with the path inside the spec and the line of the text it points at.
import { SpecError } from "../../dsl/error.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { validateSpec } from "../../step/validate.ts";
import { JsonSyntaxError, locatePath, parseLocated } from "./json_paths.ts";

export interface EditorIssue {
  /** path inside the spec ("" for the whole spec or a JSON syntax error) */
  path: string;
  message: string;
  line: number;
  column: number;
}

export type SpecCheck = { ok: true; spec: PipelineSpec } | { ok: false; issues: EditorIssue[] };

/** Checks the editor's text; never throws for bad input. */
export function checkSpecText(text: string): SpecCheck {
  let doc;
  try {
    doc = parseLocated(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const { line, column } = e.position;
    return { ok: false, issues: [{ path: "", message: `not valid JSON: ${e.message}`, line, column }] };
  }
  try {
    return { ok: true, spec: validateSpec(doc.value) };
  } catch (e) {
    if (!(e instanceof SpecError)) {
      // a check that crashed is still the spec's problem to the user, not a frozen editor
      return { ok: false, issues: [{ path: "", message: String((e as Error)?.message ?? e), line: 1, column: 1 }] };
    }
    return {
      ok: false,
      issues: e.issues.map((i) => ({ path: i.path, message: i.message, ...locatePath(doc, i.path) })),
    };
  }
}

/** One issue as the page lists it: "line 12 · modules.projector.widths[1]: must be ≥ 1". */
export function formatIssue(i: EditorIssue): string {
  return `line ${i.line} · ${i.path ? `${i.path}: ` : ""}${i.message}`;
}

// The one error type of the spec language. Every problem found in a spec — by the valibot
// schema, by the semantic checks, or while loading a file — is reported with the path inside
// the spec where it must be fixed (`modules.projector.widths[1]`, `branches[1].ema.of`).
// Values from the spec are shown through printable(): a message never carries a control character.
import { printable } from "../report/printable.ts";

export interface SpecIssue {
  /** where in the spec: dotted fields, [i] for array items; "" for the spec itself */
  path: string;
  /** what is wrong and what was expected, without the path */
  message: string;
}

export class SpecError extends Error {
  override name = "SpecError";
  /** path of the first issue */
  readonly path: string;
  readonly issues: SpecIssue[];
  /** the JSON file the spec came from, when it came from one */
  readonly file?: string;

  constructor(issues: SpecIssue[] | SpecIssue, file?: string) {
    const list = Array.isArray(issues) ? issues : [issues];
    if (list.length === 0) throw new Error("SpecError needs at least one issue");
    const lines = list.map((i) => printable(i.path ? `${i.path}: ${i.message}` : i.message));
    const head = file ? `${file}: ` : "";
    super(
      lines.length === 1 ? head + lines[0] : `${head}${lines.length} problems in the spec:\n  ${lines.join("\n  ")}`,
    );
    this.path = list[0].path;
    this.issues = list;
    this.file = file;
  }
}

/** Appends a field or index to a path: join("modules", "proj") = "modules.proj", join("views", 1) = "views[1]". */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${base}[${printable(JSON.stringify(key))}]`;
  return base ? `${base}.${key}` : key;
}

/** Shows a user-supplied value in a message: strings quoted, objects abbreviated. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `'${printable(value)}'`;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const text = printable(JSON.stringify(value));
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

// Specs on disk and in checkpoints: canonical JSON (keys sorted at every level, so equal specs
// give equal bytes), a SHA-256 hash of that JSON, and save/load with errors that name the file.
// Files through platform/files (node:fs, or a page's in-memory store).
import { files } from "../platform/current.ts";
import { dirname } from "../platform/path.ts";
import { sha256Hex } from "./sha256.ts";
import { SpecError } from "./error.ts";
import { specFileIssue } from "./limits.ts";
import type { PipelineSpec } from "./schema.ts";
import { type ValidateOptions, validateSpecStructure } from "./validate.ts";

/**
 * JSON with object keys sorted recursively. Undefined fields are dropped (as JSON.stringify
 * does); a non-finite number is an error because JSON would silently turn it into null.
 * `indent` > 0 pretty-prints (files); 0 gives the compact form that is hashed.
 */
export function canonicalJSON(value: unknown, indent = 0): string {
  const sort = (x: unknown, path: string): unknown => {
    if (typeof x === "number" && !Number.isFinite(x)) {
      throw new Error(`canonicalJSON: ${path || "value"} is ${x}, which JSON cannot represent`);
    }
    if (Array.isArray(x)) return x.map((e, i) => sort(e, `${path}[${i}]`));
    if (x && typeof x === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const e = (x as Record<string, unknown>)[k];
        if (e !== undefined) out[k] = sort(e, path ? `${path}.${k}` : k);
      }
      return out;
    }
    return x;
  };
  return JSON.stringify(sort(value, ""), null, indent || undefined);
}

/**
 * SHA-256 (hex) of the canonical JSON of the validated spec. Validating first fills in the
 * defaults, so a JSON file that leaves out defaulted fields hashes like the full spec.
 */
export function specHash(spec: unknown): string {
  return sha256Hex(canonicalJSON(validateSpecStructure(spec)));
}

/**
 * Parses and validates spec JSON text; `source` names it in errors (a file name). The text is
 * untrusted input: it may not name a data location (validate.ts ValidateOptions.untrusted).
 */
export function parseSpecJSON(
  text: string,
  source = "<spec>",
  opts: Pick<ValidateOptions, "graphIssues"> = {},
): PipelineSpec {
  const tooBig = specFileIssue(text.length);
  if (tooBig) throw new SpecError(tooBig, source);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SpecError({ path: "", message: `not valid JSON: ${(e as Error).message}` }, source);
  }
  return validateSpecStructure(raw, source, { untrusted: true, graphIssues: opts.graphIssues });
}

/** Reads and validates a spec file (`graphIssues`: the graph stage's checks, step/validate.ts). */
export function loadSpec(file: string, opts: Pick<ValidateOptions, "graphIssues"> = {}): PipelineSpec {
  let text: string;
  try {
    // the size first: a 50 MB file is refused without being read
    const tooBig = specFileIssue(files().stat(file).size);
    if (tooBig) throw new SpecError(tooBig, file);
    text = files().readText(file);
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError({ path: "", message: `cannot read the spec file: ${(e as Error).message}` }, file);
  }
  return parseSpecJSON(text, file, opts);
}

/** Validates and writes a spec as pretty canonical JSON, creating the folder if needed. */
export function saveSpec(file: string, spec: unknown): void {
  const valid = validateSpecStructure(spec);
  files().mkdir(dirname(file));
  files().writeFile(file, canonicalJSON(valid, 2) + "\n");
}

// Python source literals from TypeScript values, for the generated program.
//
// A JSON string literal is a valid Python str literal (same escapes) and the file is UTF-8, so
// names and the spec's JSON pass through unchanged; numbers are written the way JavaScript
// prints them, which Python reads back to the same double.

/** A Python str literal. */
export const pyStr = (s: string): string => JSON.stringify(s);

/** A Python float literal of a finite JavaScript number (1 → 1.0, so arithmetic stays float). */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`the generated program cannot hold the non-finite number ${x}`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export const pyBool = (b: boolean): string => (b ? "True" : "False");

/** A Python literal of JSON-like data (dicts, lists, str, numbers as written, booleans, None). */
export function pyData(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return pyBool(v);
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return `[${v.map(pyData).join(", ")}]`;
  return `{${
    Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) =>
      `${pyStr(k)}: ${pyData(x)}`
    ).join(", ")
  }}`;
}

/** Indents every non-empty line of `text` by `n` spaces. */
export const indent = (text: string, n = 4): string =>
  text.split("\n").map((l) => (l.trim() ? " ".repeat(n) + l : l)).join("\n");

// A compact terminal table for key figures (final loss, kNN accuracy, images/s, …).
import { formatNumber } from "./format.ts";
import { printable } from "./printable.ts";

export type Cell = string | number;

/**
 * Columns padded to their widest cell, numbers right-aligned and text left-aligned, a rule
 * under the header. Width is measured in code points so "×" or "λ" does not skew columns.
 * Text cells may come from a spec: control characters are escaped (printable.ts).
 */
export function formatTable(headers: string[], rows: Cell[][]): string {
  headers = headers.map(printable);
  const text = rows.map((r) =>
    headers.map((_, j) => (typeof r[j] === "number" ? formatNumber(r[j] as number) : printable(String(r[j] ?? ""))))
  );
  const len = (s: string) => [...s].length;
  const widths = headers.map((h, j) => Math.max(len(h), ...text.map((r) => len(r[j]))));
  const numeric = headers.map((_, j) =>
    rows.length > 0 && rows.every((r) => typeof r[j] === "number" || r[j] === undefined)
  );
  const pad = (s: string, j: number) => {
    const fill = " ".repeat(widths[j] - len(s));
    return numeric[j] ? fill + s : s + fill;
  };
  const line = (cells: string[]) => cells.map(pad).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...text.map(line)].join("\n");
}

/** Key–value summary under a title: `title` then aligned `key  value` lines, control characters escaped. */
export function formatSummary(title: string, entries: Record<string, Cell> | [string, Cell][]): string {
  const list = (Array.isArray(entries) ? entries : Object.entries(entries)).map((
    [k, v],
  ): [string, Cell] => [printable(k), typeof v === "number" ? v : printable(v)]);
  const kw = Math.max(0, ...list.map(([k]) => [...k].length));
  const body = list.map(([k, v]) =>
    `  ${k}${" ".repeat(kw - [...k].length)}  ${typeof v === "number" ? formatNumber(v) : v}`
  );
  return [printable(title), ...body].join("\n");
}

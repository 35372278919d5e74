// A compact terminal table for key figures (final loss, kNN accuracy, images/s, …).
import { formatNumber } from "./format.ts";

export type Cell = string | number;

/**
 * Columns padded to their widest cell, numbers right-aligned and text left-aligned, a rule
 * under the header. Width is measured in code points so "×" or "λ" does not skew columns.
 */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) =>
    headers.map((_, j) => (typeof r[j] === "number" ? formatNumber(r[j] as number) : String(r[j] ?? "")))
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

/** Key–value summary under a title: `title` then aligned `key  value` lines. */
export function formatSummary(title: string, entries: Record<string, Cell> | [string, Cell][]): string {
  const list = Array.isArray(entries) ? entries : Object.entries(entries);
  const kw = Math.max(0, ...list.map(([k]) => [...k].length));
  const body = list.map(([k, v]) =>
    `  ${k}${" ".repeat(kw - [...k].length)}  ${typeof v === "number" ? formatNumber(v) : v}`
  );
  return [title, ...body].join("\n");
}

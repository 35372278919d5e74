// metrics.jsonl: one JSON object per line, appended as training goes.
//
// Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity" (JSON has no
// such literals and turning them into null would hide a diverged loss) and read back as
// numbers. A torn last line (the process died mid-append) is skipped on reading; a bad line
// elsewhere is an error naming the file and line.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export type MetricsRecord = Record<string, unknown>;

const NONFINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function metricsLine(record: MetricsRecord): string {
  return JSON.stringify(record, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

/** Appends one record (creating the folder and file as needed). */
export function appendMetrics(path: string, record: MetricsRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, metricsLine(record) + "\n");
}

export function readMetrics(path: string): MetricsRecord[] {
  const text = new TextDecoder().decode(readFileSync(path));
  const lines = text.split("\n");
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line, (_k, v) => (typeof v === "string" && v in NONFINITE ? NONFINITE[v] : v)));
    } catch (e) {
      const torn = i === lines.length - 1; // no trailing newline: an interrupted append
      if (!torn) throw new Error(`${path}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  });
  return out;
}

/** x/y arrays of the records that have a numeric `key` (x = `xKey`, default "step"). */
export function metricSeries(records: MetricsRecord[], key: string, xKey = "step"): { x: number[]; y: number[] } {
  const x: number[] = [], y: number[] = [];
  for (const r of records) {
    if (typeof r[key] === "number" && typeof r[xKey] === "number") x.push(r[xKey] as number), y.push(r[key] as number);
  }
  return { x, y };
}

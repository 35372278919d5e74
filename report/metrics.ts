// metrics.jsonl: one JSON object per line, appended as training goes. The file is created
// 0644 (owner writes, others read), whatever the process umask would allow beyond that.
//
// Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity" (JSON has no
// such literals and turning them into null would hide a diverged loss) and read back as
// numbers. A torn last line (the process died mid-append) is skipped on reading; a bad line
// elsewhere is an error naming the file and line.
import { files } from "../platform/current.ts";
import { dirname } from "../platform/path.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export type MetricsRecord = Record<string, unknown>;

const NONFINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function metricsLine(record: MetricsRecord): string {
  return JSON.stringify(record, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

/** Appends one record (creating the folder and file as needed); errors name the file. */
export function appendMetrics(path: string, record: MetricsRecord): void {
  const line = metricsLine(record) + "\n";
  try {
    files().mkdir(dirname(path));
    files().appendFile(path, line);
  } catch (e) {
    throw new Error(`cannot append to the metrics log ${path}: ${(e as Error).message}`);
  }
}

export function readMetrics(path: string): MetricsRecord[] {
  let bytes: Uint8Array;
  try {
    bytes = files().readFile(path);
  } catch (e) {
    throw new Error(`cannot read the metrics log ${path}: ${(e as Error).message}`);
  }
  return parseMetrics(new TextDecoder().decode(bytes), path);
}

/** The records of metrics.jsonl text; a torn last line (an interrupted append) is dropped. */
function parseMetrics(text: string, path: string): MetricsRecord[] {
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

/**
 * Cuts the metrics log back to the records of steps before `step` (a checkpoint's step count),
 * so a resumed run does not log twice the steps the interrupted run logged after its last
 * checkpoint. Records without a numeric `step` stay. The file is rewritten atomically (a torn
 * last line goes too); a missing file is left missing. Returns the number of records dropped.
 */
export function truncateMetrics(path: string, step: number): number {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`truncateMetrics: step ${step} is not an integer ≥ 0`);
  let text: string;
  try {
    text = files().readText(path);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return 0;
    throw new Error(`cannot read the metrics log ${path}: ${(e as Error).message}`);
  }
  const records = parseMetrics(text, path); // the text read above: one read, one version of the file
  const kept = records.filter((r) => typeof r.step !== "number" || r.step < step);
  const tornTail = text.length > 0 && !text.endsWith("\n");
  if (kept.length === records.length && !tornTail) return 0;
  writeFileAtomic(path, kept.map((r) => metricsLine(r) + "\n").join(""));
  return records.length - kept.length;
}

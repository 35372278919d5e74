// Error bars over seeds: each metric's mean and sample standard deviation over the runs of one
// configuration, and a Markdown table of "mean ± std" for comparing configurations.
import { finite, intIn, nonEmpty } from "./check.ts";

export interface MeanStd {
  mean: number;
  /** sample standard deviation (n − 1 in the denominator); NaN for a single value */
  std: number;
}

/** Mean and sample standard deviation, in two passes over float64 (no cancellation of E[x²] − E[x]²). */
export function meanStd(values: ArrayLike<number>): MeanStd {
  nonEmpty("meanStd", "values", values);
  finite("meanStd", "values", values);
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  if (n === 1) return { mean, std: NaN };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

export interface MetricSummary extends MeanStd {
  /** the per-seed values, in the order of the records */
  values: number[];
}

/** metric name → its summary over seeds */
export type SeedsSummary = Record<string, MetricSummary>;

/**
 * Summarises one record per seed (metric name → value). Every record must hold the same metrics;
 * the summary lists them in the order of the first record.
 */
export function seedsSummary(records: Record<string, number>[]): SeedsSummary {
  const fn = "seedsSummary";
  nonEmpty(fn, "records", records);
  const names = Object.keys(records[0]);
  if (!names.length) throw new Error(`${fn}: records[0] holds no metric`);
  records.forEach((rec, s) => {
    const extra = Object.keys(rec).filter((m) => !names.includes(m));
    const missing = names.filter((m) => !(m in rec));
    if (extra.length || missing.length) {
      throw new Error(
        `${fn}: records[${s}] must hold the metrics of records[0] (${names.join(", ")})` +
          (missing.length ? `; missing ${missing.join(", ")}` : "") +
          (extra.length ? `; extra ${extra.join(", ")}` : ""),
      );
    }
  });
  const out: SeedsSummary = {};
  for (const m of names) {
    const values = records.map((rec, s) => {
      const v = rec[m];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new Error(`${fn}: records[${s}].${m} is ${v}, not a finite number`);
      }
      return v;
    });
    out[m] = { ...meanStd(values), values };
  }
  return out;
}

export interface TableOptions {
  /** digits after the decimal point (default 2) */
  digits?: number;
  /** factor applied before printing, e.g. 100 for percentages (default 1) */
  scale?: number;
  /** heading of the first column (default "run") */
  rowHeading?: string;
}

/**
 * A Markdown table, one row per configuration and one column per metric (in order of first
 * appearance), each cell "mean ± std" (just the mean for a single seed, "—" where a row lacks the
 * metric), and a last column with the number of seeds.
 */
export function markdownTable(rows: Record<string, SeedsSummary>, opts: TableOptions = {}): string {
  const fn = "markdownTable";
  const { digits = 2, scale = 1, rowHeading = "run" } = opts;
  intIn(fn, "opts.digits", digits, 0, 20);
  if (!Number.isFinite(scale) || scale === 0) {
    throw new Error(`${fn}: opts.scale must be a non-zero finite number, got ${scale}`);
  }
  const names = Object.keys(rows);
  if (!names.length) throw new Error(`${fn}: rows is empty`);
  const metrics = [...new Set(names.flatMap((r) => Object.keys(rows[r])))];
  const cell = (s: MetricSummary | undefined) => (!s ? "—" : meanStdCell(s, { digits, scale }));
  const seeds = (r: string) => {
    const ns = [...new Set(Object.values(rows[r]).map((s) => s.values.length))];
    return ns.join("/");
  };
  return tableLines(
    [rowHeading, ...metrics, "seeds"],
    names.map((r) => [r, ...metrics.map((m) => cell(rows[r][m])), seeds(r)]),
  );
}

/** "mean ± std" of a summary with fixed digits (just the mean for a single value). */
export function meanStdCell(
  s: MeanStd & { values: ArrayLike<number> },
  opts: Pick<TableOptions, "digits" | "scale"> = {},
): string {
  const { digits = 2, scale = 1 } = opts;
  const fmt = (v: number) => (v * scale).toFixed(digits);
  return s.values.length < 2 ? fmt(s.mean) : `${fmt(s.mean)} ± ${(s.std * Math.abs(scale)).toFixed(digits)}`;
}

/**
 * A Markdown table of one summary over seeds, transposed: one row per metric with "mean ± std",
 * then each seed's value; `seeds` labels the values' columns in their order. The std keeps two
 * significant digits and the mean as many decimals as the std (just the mean, with `digits`
 * significant digits, for a single seed or no spread); each value keeps `digits` significant
 * digits (default 4), so metrics of any scale (accuracies, losses, images/s) read alike.
 */
export function seedsTable(
  summary: SeedsSummary,
  seeds: readonly (string | number)[],
  opts: { digits?: number } = {},
): string {
  const fn = "seedsTable";
  const { digits = 4 } = opts;
  intIn(fn, "opts.digits", digits, 1, 21);
  const metrics = Object.keys(summary);
  if (!metrics.length) throw new Error(`${fn}: summary is empty`);
  for (const m of metrics) {
    if (summary[m].values.length !== seeds.length) {
      throw new Error(`${fn}: ${m} has ${summary[m].values.length} values for ${seeds.length} seeds`);
    }
  }
  const num = (v: number) => String(Number(v.toPrecision(digits)));
  return tableLines(
    ["metric", "mean ± std", ...seeds.map((s) => `seed ${s}`)],
    metrics.map((m) => [m, spreadCell(summary[m], digits), ...summary[m].values.map(num)]),
  );
}

/**
 * "mean ± std" with the std to two significant digits and the mean to as many decimals; just the
 * mean, to `digits` significant digits, for a single value or no spread.
 */
export function spreadCell(s: MeanStd & { values: ArrayLike<number> }, digits = 4): string {
  if (s.values.length < 2 || !(s.std > 0)) return String(Number(s.mean.toPrecision(digits)));
  const decimals = Math.min(20, Math.max(0, 1 - Math.floor(Math.log10(s.std))));
  return `${s.mean.toFixed(decimals)} ± ${s.std.toFixed(decimals)}`;
}

/** Markdown lines: the heading row, the rule (first column left-aligned, the rest right), the rows. */
export function tableLines(heading: string[], rows: string[][]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    `| ${heading.map(esc).join(" | ")} |`,
    `|${["---", ...heading.slice(1).map(() => "---:")].join("|")}|`,
    ...rows.map(([first, ...rest]) => `| ${[esc(first), ...rest].join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

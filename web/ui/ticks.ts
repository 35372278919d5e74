// Axis geometry for the page's plots, as pure functions (tested without a canvas): "nice" tick
// values (1, 2 or 5 × a power of ten) covering a range, a linear map from data to pixels, and
// tick labels short enough for a narrow axis.

/** Maps `domain` linearly onto `range`; a zero-width domain maps to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain, [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** The tick step of 1, 2 or 5 × 10^k that splits `span` into at most `maxTicks` intervals. */
export function tickStep(span: number, maxTicks: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, maxTicks);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/**
 * A domain widened to whole tick steps and its ticks: niceTicks(0.13, 0.87, 5) gives the domain
 * [0, 1] with ticks 0, 0.2, …, 1. An empty or one-value range is widened around its value.
 */
export function niceTicks(min: number, max: number, maxTicks = 5): { domain: [number, number]; ticks: number[] } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { domain: [0, 1], ticks: [0, 1] };
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = tickStep(max - min, maxTicks);
  const lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  // counting steps, not adding them, so 0.1 + 0.2 rounding does not drift the ticks
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(roundTo(lo + i * step, step));
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks };
}

/** Rounds away the binary noise of a multiple of `step` (0.30000000000000004 → 0.3). */
function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

/** A tick label: integers as they are (thousands as 12k), others with the digits the step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 && Number.isInteger(v)) return a % 1000 === 0 ? `${v / 1000}k` : `${(v / 1000).toFixed(1)}k`;
  if (a < 1e-3 || a >= 1e6) return v.toExponential(1);
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  return v.toFixed(Math.min(6, digits));
}

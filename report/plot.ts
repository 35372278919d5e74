// SVG line plots of training curves (loss, kNN accuracy, std of z, …), no dependencies.
//
// Each panel has its own axes with "nice" ticks (1/2/5·10^k), grid lines, axis labels, a
// title and a legend; several panels stack vertically in one SVG so series with different
// scales never share an axis. Non-finite values break a line instead of bending it; long
// series are decimated to min/max per x-bucket so spikes survive.
import { writeFileAtomic } from "../io/atomic.ts";
import { printable } from "./printable.ts";

export interface Series {
  name: string;
  /** x values (default 0, 1, 2, …). */
  x?: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface Panel {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (non-positive values are skipped). */
  logY?: boolean;
  /** Fixed y range (default: the data's range). */
  yMin?: number;
  yMax?: number;
}

export interface PlotOptions {
  width?: number;
  /** Height of each panel. */
  panelHeight?: number;
  /** Points per series above which it is decimated (default 2000). */
  maxPoints?: number;
}

const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

// a title may hold a spec's method: control characters are escaped first (XML forbids them)
const escapeXml = (s: string) =>
  printable(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

/** Ticks at multiples of 1, 2 or 5 × 10^k covering [lo, hi], about `n` of them. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, p = 10 ** Math.floor(Math.log10(raw)), r = raw / p;
  const step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k * step);
  // Round away float noise (3 × 0.2 = 0.6000000000000001) so labels and tests see 0.6.
  return out.map((t) => (Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12))));
}

/** Short tick label: 0.001 → "0.001", 25000 → "25000", 1.2e-5 → "1.2e-5". */
export function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(1).replace(/\.0e/, "e").replace("e+", "e");
  return String(Number(v.toPrecision(4)));
}

/** Min and max per x-bucket when a series is long; keeps first/last points and spikes. */
function decimate(xs: number[], ys: number[], max: number): [number[], number[]] {
  if (xs.length <= max) return [xs, ys];
  const buckets = Math.floor(max / 2), per = xs.length / buckets;
  const ox: number[] = [], oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor(b * per), e = Math.floor((b + 1) * per);
    let lo = s, hi = s;
    for (let i = s; i < e; i++) {
      if (!(ys[i] >= ys[lo])) lo = i; // NaN-safe: a NaN stays selected so the gap survives
      if (!(ys[i] <= ys[hi])) hi = i;
    }
    for (const i of lo <= hi ? [lo, hi] : [hi, lo]) {
      if (ox.length === 0 || ox[ox.length - 1] !== xs[i] || oy[oy.length - 1] !== ys[i]) ox.push(xs[i]), oy.push(ys[i]);
    }
  }
  return [ox, oy];
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

function renderPanel(p: Panel, x0: number, y0: number, W: number, H: number, maxPoints: number): string {
  const m = { l: 62, r: 14, t: p.title ? 26 : 12, b: p.xLabel ? 42 : 28 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const tr = (v: number) => (p.logY ? Math.log10(v) : v);
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0);
  const data = p.series.map((s) => {
    const ys = Array.from(s.y), xs = s.x ? Array.from(s.x) : ys.map((_, i) => i);
    if (xs.length !== ys.length) {
      throw new Error(`plot: series "${s.name}" has ${xs.length} x values and ${ys.length} y values`);
    }
    return decimate(xs, ys, maxPoints);
  });
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (const [xs, ys] of data) {
    xs.forEach((x, i) => {
      if (!ok(x, ys[i])) return;
      xlo = Math.min(xlo, x), xhi = Math.max(xhi, x);
      ylo = Math.min(ylo, tr(ys[i])), yhi = Math.max(yhi, tr(ys[i]));
    });
  }
  if (p.yMin !== undefined) ylo = tr(p.yMin);
  if (p.yMax !== undefined) yhi = tr(p.yMax);
  if (!Number.isFinite(xlo)) [xlo, xhi, ylo, yhi] = [0, 1, 0, 1]; // no drawable point: empty axes
  if (xhi === xlo) [xlo, xhi] = [xlo - 1, xhi + 1];
  if (yhi === ylo) [ylo, yhi] = [ylo - (Math.abs(ylo) || 1) * 0.1, yhi + (Math.abs(yhi) || 1) * 0.1];
  const pad = (yhi - ylo) * 0.04;
  if (p.yMin === undefined) ylo -= pad;
  if (p.yMax === undefined) yhi += pad;
  const sx = (x: number) => x0 + m.l + ((x - xlo) / (xhi - xlo)) * pw;
  const sy = (t: number) => y0 + m.t + (1 - (t - ylo) / (yhi - ylo)) * ph;
  const out: string[] = [`<g class="panel">`];
  out.push(`<rect x="${x0 + m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}" fill="white" stroke="#333"/>`);
  // Ticks and grid. Log axes tick at powers of ten, or at 1/2/5 steps inside a single decade.
  const inRange = (t: number) => t >= ylo - 1e-12 && t <= yhi + 1e-12;
  const yt: [number, string][] = !p.logY
    ? niceTicks(ylo, yhi).filter(inRange).map((t) => [t, tickLabel(t)])
    : yhi - ylo >= 1
    ? niceTicks(Math.ceil(ylo), Math.floor(yhi), 6).filter(Number.isInteger).map((t) => [t, tickLabel(10 ** t)])
    : niceTicks(10 ** ylo, 10 ** yhi).filter((t) => t > 0 && inRange(Math.log10(t))).map((
      t,
    ) => [Math.log10(t), tickLabel(t)]);
  for (const [t, label] of yt) {
    const y = fmt(sy(t));
    out.push(`<line x1="${x0 + m.l}" y1="${y}" x2="${x0 + m.l + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(
      `<text x="${x0 + m.l - 5}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${label}</text>`,
    );
  }
  for (const t of niceTicks(xlo, xhi).filter((t) => t >= xlo && t <= xhi)) {
    const x = fmt(sx(t));
    out.push(`<line x1="${x}" y1="${y0 + m.t}" x2="${x}" y2="${y0 + m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${y0 + m.t + ph + 14}" text-anchor="middle" class="tick">${tickLabel(t)}</text>`);
  }
  if (p.title) {
    out.push(
      `<text x="${x0 + m.l + pw / 2}" y="${y0 + 17}" text-anchor="middle" class="title">${escapeXml(p.title)}</text>`,
    );
  }
  if (p.xLabel) {
    out.push(`<text x="${x0 + m.l + pw / 2}" y="${y0 + H - 8}" text-anchor="middle">${escapeXml(p.xLabel)}</text>`);
  }
  if (p.yLabel) {
    const cx = x0 + 14, cy = y0 + m.t + ph / 2;
    out.push(
      `<text x="${cx}" y="${cy}" text-anchor="middle" transform="rotate(-90 ${cx} ${cy})">${
        escapeXml(p.yLabel)
      }</text>`,
    );
  }
  // Lines: one polyline per unbroken run; a lone point gets a dot so it is visible.
  out.push(
    `<clipPath id="clip${x0}_${y0}"><rect x="${x0 + m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}"/></clipPath>`,
  );
  out.push(`<g clip-path="url(#clip${x0}_${y0})">`);
  data.forEach(([xs, ys], si) => {
    const color = escapeXml(p.series[si].color ?? PALETTE[si % PALETTE.length]);
    const runs: string[][] = [[]];
    xs.forEach((x, i) => {
      if (ok(x, ys[i])) runs[runs.length - 1].push(`${fmt(sx(x))},${fmt(sy(tr(ys[i])))}`);
      else if (runs[runs.length - 1].length) runs.push([]);
    });
    for (const r of runs) {
      if (r.length > 1) {
        out.push(
          `<polyline class="series" data-series="${si}" fill="none" stroke="${color}" stroke-width="1.5" points="${
            r.join(" ")
          }"/>`,
        );
      } else if (r.length === 1) {
        const [cx, cy] = r[0].split(",");
        out.push(`<circle class="series" data-series="${si}" cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`);
      }
    }
  });
  out.push(`</g>`);
  // Legend, top right inside the plot area.
  p.series.forEach((s, si) => {
    const ly = y0 + m.t + 12 + 15 * si, lx = x0 + m.l + pw - 8;
    const color = escapeXml(s.color ?? PALETTE[si % PALETTE.length]);
    out.push(`<line x1="${lx - 20}" y1="${ly}" x2="${lx - 4}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(
      `<text x="${lx - 24}" y="${ly}" text-anchor="end" dominant-baseline="middle" class="legend">${
        escapeXml(s.name)
      }</text>`,
    );
  });
  out.push(`</g>`);
  return out.join("\n");
}

/** One SVG document with the panels stacked top to bottom. */
export function linePlots(panels: Panel[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 640, H = opts.panelHeight ?? 300, max = opts.maxPoints ?? 2000;
  const total = H * Math.max(1, panels.length);
  const body = panels.map((p, i) => renderPanel(p, 0, i * H, W, H, max)).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${total}" viewBox="0 0 ${W} ${total}" font-family="sans-serif" font-size="11">
<style>.tick{font-size:10px;fill:#444}.title{font-size:13px;font-weight:bold}.legend{font-size:11px}</style>
<rect width="100%" height="100%" fill="white"/>
${body}
</svg>
`;
}

export const linePlot = (panel: Panel, opts: PlotOptions = {}) => linePlots([panel], opts);

export function writeSvg(path: string, svg: string): void {
  writeFileAtomic(path, svg);
}

// The loss curve: its geometry as a pure function (axes, ticks and the polyline in canvas
// pixels, tested without a canvas) and draw(), which paints that geometry. Every step's loss
// is kept; a long run is reduced to the min and max of each pixel column so spikes stay
// visible and drawing costs the same at step 100 and step 100 000. Non-finite losses break
// the line.
import { formatTick, linearScale, niceTicks, tickStep } from "./ticks.ts";

export interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const PLOT_MARGINS: Margins = { left: 56, right: 12, top: 12, bottom: 32 };

export interface Tick {
  value: number;
  label: string;
  /** pixel position along its axis */
  at: number;
}

export interface PlotLayout {
  /** the plotting area inside the margins */
  area: { x: number; y: number; w: number; h: number };
  xTicks: Tick[];
  yTicks: Tick[];
  /** polylines in pixels (a non-finite value splits the line) */
  lines: [number, number][][];
}

/** Min and max per column: at most 2 points per pixel of width, first and last kept. */
export function decimate(steps: ArrayLike<number>, values: ArrayLike<number>, columns: number): [number, number][] {
  const n = steps.length, out: [number, number][] = [];
  if (n <= 2 * columns) {
    for (let i = 0; i < n; i++) out.push([steps[i], values[i]]);
    return out;
  }
  const per = n / columns;
  for (let c = 0; c < columns; c++) {
    const from = Math.floor(c * per), to = Math.min(n, Math.floor((c + 1) * per));
    let lo = from, hi = from;
    for (let i = from; i < to; i++) {
      if (!Number.isFinite(values[i])) {
        lo = hi = i; // a broken value shows as the break it is
        break;
      }
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    for (const i of lo <= hi ? [lo, hi] : [hi, lo]) {
      if (out.length === 0 || out[out.length - 1][0] !== steps[i]) out.push([steps[i], values[i]]);
    }
  }
  if (out[out.length - 1][0] !== steps[n - 1]) out.push([steps[n - 1], values[n - 1]]);
  return out;
}

/** Axes and polyline of `points` ([step, loss]) for a canvas of width × height pixels. */
export function plotLayout(points: [number, number][], width: number, height: number, m = PLOT_MARGINS): PlotLayout {
  const area = {
    x: m.left,
    y: m.top,
    w: Math.max(1, width - m.left - m.right),
    h: Math.max(1, height - m.top - m.bottom),
  };
  const finite = points.filter(([, v]) => Number.isFinite(v));
  const xs = points.map(([s]) => s);
  const ys = finite.map(([, v]) => v);
  const xNice = niceTicks(xs.length ? Math.min(0, ...xs) : 0, xs.length ? Math.max(1, ...xs) : 1, 6);
  const yNice = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const sx = linearScale(xNice.domain, [area.x, area.x + area.w]);
  const sy = linearScale(yNice.domain, [area.y + area.h, area.y]);
  const ticks = (t: number[], scale: (v: number) => number): Tick[] => {
    const step = t.length > 1 ? t[1] - t[0] : tickStep(Math.abs(t[0]) || 1, 5);
    return t.map((value) => ({ value, label: formatTick(value, step), at: scale(value) }));
  };
  const lines: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (const [s, v] of points) {
    if (!Number.isFinite(v)) {
      if (cur.length) lines.push(cur);
      cur = [];
      continue;
    }
    cur.push([sx(s), sy(v)]);
  }
  if (cur.length) lines.push(cur);
  return { area, xTicks: ticks(xNice.ticks, sx), yTicks: ticks(yNice.ticks, sy), lines };
}

/** The page's colours, read from CSS custom properties where the page sets them. */
export interface PlotColours {
  axis: string;
  grid: string;
  text: string;
  line: string;
}

/** Paints a layout on a 2D context (the canvas is already sized to the layout's pixels). */
export function drawPlot(ctx: CanvasRenderingContext2D, l: PlotLayout, colours: PlotColours, xLabel: string): void {
  const { area } = l;
  ctx.save();
  ctx.font = "12px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeStyle = colours.grid;
  ctx.fillStyle = colours.text;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of l.yTicks) {
    const y = Math.round(t.at) + 0.5;
    ctx.beginPath();
    ctx.moveTo(area.x, y);
    ctx.lineTo(area.x + area.w, y);
    ctx.stroke();
    ctx.fillText(t.label, area.x - 6, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of l.xTicks) {
    const x = Math.round(t.at) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, area.y);
    ctx.lineTo(x, area.y + area.h);
    ctx.stroke();
    ctx.fillText(t.label, x, area.y + area.h + 4);
  }
  ctx.fillText(xLabel, area.x + area.w / 2, area.y + area.h + 18);
  ctx.strokeStyle = colours.axis;
  ctx.strokeRect(area.x + 0.5, area.y + 0.5, area.w, area.h);
  ctx.strokeStyle = colours.line;
  ctx.lineWidth = 1.5;
  for (const line of l.lines) {
    ctx.beginPath();
    line.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (line.length === 1) ctx.arc(line[0][0], line[0][1], 1.5, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.restore();
}

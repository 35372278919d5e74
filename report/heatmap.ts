// Heatmap of a D×D cross-correlation matrix (e.g. Barlow Twins' C = z_aᵀ z_b / N) as a PNG.
//
// Values are clipped to [−1, 1] and coloured with the RdBu diverging map (colormap.ts):
// blue −1, near-white 0, red +1, black NaN. For D > maxCells (512) the matrix is reduced by
// block averaging with b = ⌈D / maxCells⌉ (edge blocks average the cells they have; NaNs
// are skipped, a block of only NaN stays NaN), so a well-trained BT matrix still shows a
// red diagonal. Small matrices are enlarged: each cell becomes ⌊maxPixels / cells⌋ pixels
// square. Above the matrix, a title (default: what the matrix is, its D and the block size).
// Legend: a colour bar to the right of the matrix, +1 at the top, 0 in the middle, −1 at the
// bottom, with black ticks at +1, +0.5, 0, −0.5, −1, each labelled with its value. Text is a
// 5×7 bitmap font (font.ts), doubled for images of 256 px and more.
import { diverging } from "./colormap.ts";
import { drawText, GLYPH_H, textWidth } from "./font.ts";
import { encodePng, type Raster } from "./png.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export interface HeatmapOptions {
  /** At most this many cells per side after block averaging (default 512). */
  maxCells?: number;
  /** Target side of the matrix image in pixels for small matrices (default 512). */
  maxPixels?: number;
  /** Draw the colour bar with its values (default true). */
  legend?: boolean;
  /** Title above the matrix; default "cross-correlation C, D = <D>" (and the block size); "" for none. */
  title?: string;
}

/** The colour bar's ticks: value and label. */
export const LEGEND_TICKS: readonly [number, string][] = [[1, "+1"], [0.5, "+0.5"], [0, "0"], [-0.5, "-0.5"], [
  -1,
  "-1",
]];

/** Clipped block averages of a row-major D×D matrix: `size`² cells of `block`² entries. */
export function blockAverage(
  m: ArrayLike<number>,
  D: number,
  maxCells = 512,
): { cells: Float64Array; size: number; block: number } {
  if (m.length !== D * D) throw new Error(`heatmap: ${m.length} values is not D×D for D = ${D}`);
  const block = Math.max(1, Math.ceil(D / maxCells));
  const size = Math.ceil(D / block);
  const sum = new Float64Array(size * size), cnt = new Float64Array(size * size);
  for (let i = 0; i < D; i++) {
    const bi = Math.floor(i / block) * size;
    for (let j = 0; j < D; j++) {
      const v = m[i * D + j];
      if (Number.isNaN(v)) continue;
      const k = bi + Math.floor(j / block);
      sum[k] += v < -1 ? -1 : v > 1 ? 1 : v;
      cnt[k]++;
    }
  }
  const cells = sum.map((s, k) => (cnt[k] ? s / cnt[k] : NaN));
  return { cells, size, block };
}

/** Geometry of the rendered image, exported so tests and captions can locate things. */
export interface HeatmapLayout {
  size: number;
  block: number;
  /** Pixels per cell side. */
  cell: number;
  /** First row of the matrix and of the colour bar (the title sits above). */
  top: number;
  /** Colour bar: x range [barX, barX + barW), rows [top, top + barH); at least the matrix's height, taller when the matrix is too short for five labels. */
  barX: number;
  barW: number;
  barH: number;
  /** Left edge of the tick labels. */
  labelX: number;
  /** Text magnification (1 or 2). */
  textScale: number;
  title: string;
  width: number;
  height: number;
}

/** Row of the tick for value v ∈ [−1, 1] on a bar of `barH` rows starting at `top`. */
export const tickRow = (v: number, top: number, barH: number) =>
  top + Math.min(barH - 1, Math.round(((1 - v) / 2) * (barH - 1)));

export function renderHeatmap(
  m: ArrayLike<number>,
  D: number,
  opts: HeatmapOptions = {},
): Raster & { layout: HeatmapLayout } {
  const { cells, size, block } = blockAverage(m, D, opts.maxCells ?? 512);
  const cell = Math.max(1, Math.floor((opts.maxPixels ?? 512) / size));
  const side = size * cell;
  const legend = opts.legend ?? true;
  const title = opts.title ?? `cross-correlation C, D = ${D}${block > 1 ? `, ${block}×${block} block means` : ""}`;
  const ts = side >= 256 ? 2 : 1, pad = 3 * ts, textH = GLYPH_H * ts;
  const top = title ? textH + 2 * pad : 0;
  const gap = 8, barW = legend ? 16 : 0, tick = 5;
  const barX = side + gap;
  const barH = legend ? Math.max(side, LEGEND_TICKS.length * (textH + 2 * ts)) : 0;
  const labelX = barX + barW + tick + 2 * ts;
  const labelW = legend ? Math.max(...LEGEND_TICKS.map(([, l]) => textWidth(l, ts))) + pad : 0;
  const width = Math.max(legend ? labelX + labelW : side, title ? textWidth(title, ts) + 2 * pad : 0);
  const height = top + Math.max(side, barH);
  const data = new Uint8Array(width * height * 3).fill(255);
  const raster: Raster = { width, height, channels: 3, data };
  const put = (x: number, y: number, c: readonly number[]) => data.set(c, (y * width + x) * 3);
  for (let r = 0; r < size; r++) {
    for (let q = 0; q < size; q++) {
      const c = diverging(cells[r * size + q]);
      for (let y = r * cell; y < (r + 1) * cell; y++) {
        for (let x = q * cell; x < (q + 1) * cell; x++) put(x, top + y, c);
      }
    }
  }
  if (title) drawText(raster, pad, pad, title, ts);
  if (legend) {
    for (let y = 0; y < barH; y++) {
      const c = diverging(1 - (2 * (y + 0.5)) / barH);
      for (let x = barX; x < barX + barW; x++) put(x, top + y, c);
    }
    for (const [v, label] of LEGEND_TICKS) {
      const y = tickRow(v, top, barH);
      for (let x = barX + barW; x < barX + barW + tick; x++) put(x, y, [0, 0, 0]);
      // the label centred on its tick, kept beside the bar (not in the title's band)
      const ly = Math.max(top, Math.min(top + barH - textH, y - Math.floor(textH / 2)));
      drawText(raster, labelX, ly, label, ts);
    }
  }
  return {
    ...raster,
    layout: { size, block, cell, top, barX, barW, barH, labelX, textScale: ts, title, width, height },
  };
}

/** Renders and writes the heatmap PNG atomically; returns its layout. */
export function writeHeatmap(path: string, m: ArrayLike<number>, D: number, opts: HeatmapOptions = {}): HeatmapLayout {
  const r = renderHeatmap(m, D, opts);
  writeFileAtomic(path, encodePng(r));
  return r.layout;
}

// Heatmap of a D×D cross-correlation matrix (e.g. Barlow Twins' C = z_aᵀ z_b / N) as a PNG.
//
// Values are clipped to [−1, 1] and coloured with the RdBu diverging map (colormap.ts):
// blue −1, near-white 0, red +1, black NaN. For D > maxCells (512) the matrix is reduced by
// block averaging with b = ⌈D / maxCells⌉ (edge blocks average the cells they have; NaNs
// are skipped, a block of only NaN stays NaN), so a well-trained BT matrix still shows a
// red diagonal. Small matrices are enlarged: each cell becomes ⌊maxPixels / cells⌋ pixels
// square. Legend: a colour bar to the right of the matrix, +1 at the top, 0 in the middle,
// −1 at the bottom, with black ticks at +1, +0.5, 0, −0.5, −1.
import { diverging } from "./colormap.ts";
import { encodePng, type Raster } from "./png.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export interface HeatmapOptions {
  /** At most this many cells per side after block averaging (default 512). */
  maxCells?: number;
  /** Target side of the matrix image in pixels for small matrices (default 512). */
  maxPixels?: number;
  /** Draw the colour bar (default true). */
  legend?: boolean;
}

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
  /** Colour bar: x range [barX, barX + barW), full height. */
  barX: number;
  barW: number;
  width: number;
  height: number;
}

export function renderHeatmap(
  m: ArrayLike<number>,
  D: number,
  opts: HeatmapOptions = {},
): Raster & { layout: HeatmapLayout } {
  const { cells, size, block } = blockAverage(m, D, opts.maxCells ?? 512);
  const cell = Math.max(1, Math.floor((opts.maxPixels ?? 512) / size));
  const side = size * cell;
  const legend = opts.legend ?? true;
  const gap = 8, barW = legend ? 16 : 0, tick = 5;
  const width = legend ? side + gap + barW + tick : side, height = side;
  const data = new Uint8Array(width * height * 3).fill(255);
  const put = (x: number, y: number, c: readonly number[]) => data.set(c, (y * width + x) * 3);
  for (let r = 0; r < size; r++) {
    for (let q = 0; q < size; q++) {
      const c = diverging(cells[r * size + q]);
      for (let y = r * cell; y < (r + 1) * cell; y++) for (let x = q * cell; x < (q + 1) * cell; x++) put(x, y, c);
    }
  }
  const barX = side + gap;
  if (legend) {
    for (let y = 0; y < height; y++) {
      const c = diverging(1 - (2 * (y + 0.5)) / height);
      for (let x = barX; x < barX + barW; x++) put(x, y, c);
    }
    for (const v of [1, 0.5, 0, -0.5, -1]) {
      const y = Math.min(height - 1, Math.round(((1 - v) / 2) * (height - 1)));
      for (let x = barX + barW; x < width; x++) put(x, y, [0, 0, 0]);
    }
  }
  return { width, height, channels: 3, data, layout: { size, block, cell, barX, barW, width, height } };
}

/** Renders and writes the heatmap PNG atomically; returns its layout. */
export function writeHeatmap(path: string, m: ArrayLike<number>, D: number, opts: HeatmapOptions = {}): HeatmapLayout {
  const r = renderHeatmap(m, D, opts);
  writeFileAtomic(path, encodePng(r));
  return r.layout;
}

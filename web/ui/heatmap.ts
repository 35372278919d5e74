// The cross-correlation matrix C as pixels: block-averaged to at most `maxCells` cells a side
// (a 2048-wide C still shows its diagonal), coloured with the terminal run's RdBu map
// (report/colormap.ts: blue −1, white 0, red +1, black NaN), and its colour bar. Pure pixel
// buffers, drawn onto a canvas by draw(); tests read the buffers.
import { diverging } from "../../report/colormap.ts";
import { blockAverage } from "../../report/heatmap.ts";

export interface CellImage {
  /** RGBA, `size`×`size` */
  rgba: Uint8ClampedArray;
  size: number;
  /** entries of C per cell side */
  block: number;
}

/** C (row-major d×d) as an RGBA image of block means (report/heatmap.ts blockAverage), clipped to [−1, 1]. */
export function heatmapCells(c: ArrayLike<number>, d: number, maxCells = 256): CellImage {
  if (c.length !== d * d) throw new Error(`heatmap: ${c.length} values is not ${d}×${d}`);
  const { cells, size, block } = blockAverage(c, d, maxCells);
  const rgba = new Uint8ClampedArray(size * size * 4);
  cells.forEach((v, k) => rgba.set([...diverging(v), 255], 4 * k));
  return { rgba, size, block };
}

/** The colour bar: `height` rows from +1 (top) to −1 (bottom), `width` pixels wide. */
export function colourBar(width: number, height: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const [r, g, b] = diverging(1 - (2 * y) / Math.max(1, height - 1));
    for (let x = 0; x < width; x++) rgba.set([r, g, b, 255], 4 * (y * width + x));
  }
  return rgba;
}

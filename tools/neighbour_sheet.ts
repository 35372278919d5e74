// The retrieval contact sheet: one row per query — the query, then its neighbours in rank order —
// each tile with its class name under it; a neighbour's frame is green when it is of the query's
// class and red when not (the query's frame is grey).
import type { Dataset } from "../data/dataset.ts";
import { drawText, GLYPH_H, textWidth } from "../report/font.ts";
import { type Raster, toByte } from "../report/png.ts";

const FRAME = 2, GAP = 4, TEXT = GLYPH_H + 4;
const GREY = [128, 128, 128], GREEN = [0, 160, 0], RED = [210, 0, 0];

export interface SheetRow {
  query: number;
  /** bank indices, most similar first */
  neighbours: ArrayLike<number>;
}

function className(ds: Dataset, label: number): string {
  return ds.classNames?.[label] ?? String(label);
}

/** Draws image i of `ds` (values in [0, 1], 1 or 3 channels) at (x0, y0), each pixel `scale`× with a frame. */
function drawTile(r: Raster, ds: Dataset, i: number, x0: number, y0: number, scale: number, frame: number[]) {
  const { c, h, w } = ds, tw = w * scale + 2 * FRAME, th = h * scale + 2 * FRAME;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const o = ((y0 + y) * r.width + x0 + x) * 3;
      const inner = x >= FRAME && y >= FRAME && x < tw - FRAME && y < th - FRAME;
      if (!inner) r.data.set(frame, o);
      else {
        const px = Math.floor((x - FRAME) / scale), py = Math.floor((y - FRAME) / scale);
        for (let ch = 0; ch < 3; ch++) {
          r.data[o + ch] = toByte(ds.images[((i * c + Math.min(ch, c - 1)) * h + py) * w + px]);
        }
      }
    }
  }
}

/** Class names are cut to the tile width. */
function label(r: Raster, text: string, x0: number, y0: number, width: number) {
  let t = text;
  while (t.length > 1 && textWidth(t) > width) t = t.slice(0, -1);
  drawText(r, x0, y0, t, 1, [0, 0, 0]);
}

export function neighbourSheet(queries: Dataset, bank: Dataset, rows: SheetRow[], scale = 3): Raster {
  if (queries.c !== bank.c || queries.h !== bank.h || queries.w !== bank.w) {
    throw new Error("neighbourSheet: query and bank images differ in shape");
  }
  const k = Math.max(0, ...rows.map((r) => r.neighbours.length));
  const tw = queries.w * scale + 2 * FRAME, th = queries.h * scale + 2 * FRAME;
  // an extra gap sets the query apart from its neighbours
  const width = GAP + (k + 1) * (tw + GAP) + GAP, height = GAP + rows.length * (th + TEXT + GAP);
  const r: Raster = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(255) };
  rows.forEach((row, y) => {
    const y0 = GAP + y * (th + TEXT + GAP), ql = queries.labels[row.query];
    drawTile(r, queries, row.query, GAP, y0, scale, GREY);
    label(r, className(queries, ql), GAP, y0 + th + 2, tw);
    Array.from(row.neighbours).forEach((b, j) => {
      const x0 = 2 * GAP + (j + 1) * (tw + GAP), bl = bank.labels[b];
      drawTile(r, bank, b, x0, y0, scale, bl === ql ? GREEN : RED);
      label(r, className(bank, bl), x0, y0 + th + 2, tw);
    });
  });
  return r;
}

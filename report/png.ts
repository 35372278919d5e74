// PNG output: encode 8-bit pixels with fast-png, write atomically, tile images into a grid.
import { encode } from "fast-png";
import { writeFileAtomic } from "../io/atomic.ts";

export interface Raster {
  width: number;
  height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA) interleaved 8-bit channels. */
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export function encodePng(r: Raster): Uint8Array {
  if (r.data.length !== r.width * r.height * r.channels) {
    throw new Error(`encodePng: ${r.data.length} bytes for ${r.width}×${r.height}×${r.channels}`);
  }
  return encode({ width: r.width, height: r.height, channels: r.channels, depth: 8, data: r.data });
}

export function writePng(path: string, r: Raster): void {
  writeFileAtomic(path, encodePng(r));
}

/** Float in [0, 1] → byte, rounding to nearest and clamping (NaN → 0). */
export const toByte = (v: number) => (v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0);

/**
 * Tiles n NCHW images (values in [0, 1], c = 1 or 3) into a grid `cols` wide with `pad`
 * pixels of background between tiles, each pixel repeated `scale` times — for looking at
 * a batch of augmented views.
 */
export function imageGrid(
  images: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  opts: { cols?: number; pad?: number; scale?: number; background?: number } = {},
): Raster {
  if (c !== 1 && c !== 3) throw new Error(`imageGrid: c must be 1 or 3, got ${c}`);
  if (images.length < n * c * h * w) throw new Error(`imageGrid: ${images.length} values for ${n}×${c}×${h}×${w}`);
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.max(1, Math.ceil(n / cols));
  const pad = opts.pad ?? 2, s = opts.scale ?? 1;
  const W = cols * w * s + (cols + 1) * pad, H = rows * h * s + (rows + 1) * pad;
  const data = new Uint8Array(W * H * c).fill(toByte(opts.background ?? 1));
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (w * s + pad), y0 = pad + Math.floor(i / cols) * (h * s + pad);
    for (let y = 0; y < h * s; y++) {
      for (let x = 0; x < w * s; x++) {
        for (let ch = 0; ch < c; ch++) {
          const v = images[((i * c + ch) * h + Math.floor(y / s)) * w + Math.floor(x / s)];
          data[((y0 + y) * W + x0 + x) * c + ch] = toByte(v);
        }
      }
    }
  }
  return { width: W, height: H, channels: c, data };
}

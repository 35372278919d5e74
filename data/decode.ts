// PNG / JPEG → float RGB planes in [0, 1], chosen by magic bytes (not file extension).
//
// Every image is returned as 3 planes (CHW) plus `gray`, true when all three planes are
// equal; the folder reader uses that to decide between 1 and 3 channels for the whole set.
// Alpha is dropped (not composited): datasets of photos have none, and a background colour
// would be an arbitrary choice.
import { convertIndexedToRgb, decode as decodePng } from "fast-png";
import { decode as decodeJpeg } from "jpeg-js";

export interface Decoded {
  w: number;
  h: number;
  /** 3·h·w values in [0, 1], R plane then G then B. */
  rgb: Float32Array;
  /** All pixels have R = G = B. */
  gray: boolean;
}

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** Interleaved samples (`ch` per pixel, max value `max`) → RGB planes. 1–2 channels are gray(+alpha). */
function toPlanes(data: ArrayLike<number>, w: number, h: number, ch: number, max: number): Decoded {
  const hw = w * h;
  const rgb = new Float32Array(3 * hw);
  let gray = true;
  for (let p = 0; p < hw; p++) {
    const o = p * ch;
    if (ch <= 2) {
      rgb[p] = rgb[hw + p] = rgb[2 * hw + p] = data[o] / max;
    } else {
      const r = data[o], g = data[o + 1], b = data[o + 2];
      if (r !== g || g !== b) gray = false;
      rgb[p] = r / max;
      rgb[hw + p] = g / max;
      rgb[2 * hw + p] = b / max;
    }
  }
  return { w, h, rgb, gray };
}

/** Unpacks 1/2/4-bit rows (each row starts on a byte boundary) into one sample per pixel. */
function unpackBits(data: Uint8Array, w: number, h: number, depth: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const rowBytes = Math.ceil((w * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const bit = x * depth;
      out[y * w + x] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function fromPng(bytes: Uint8Array): Decoded {
  const png = decodePng(bytes);
  const { width: w, height: h, depth } = png;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    return toPlanes(rgb, w, h, png.palette[0].length, 255);
  }
  if (depth < 8) {
    if (png.channels !== 1) throw new Error(`${depth}-bit PNG with ${png.channels} channels`);
    return toPlanes(unpackBits(png.data as Uint8Array, w, h, depth), w, h, 1, (1 << depth) - 1);
  }
  return toPlanes(png.data, w, h, png.channels, depth === 16 ? 65535 : 255);
}

function fromJpeg(bytes: Uint8Array): Decoded {
  // tolerantDecoding off: a truncated JPEG is an error, not a half-grey image.
  const img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  return toPlanes(img.data, img.width, img.height, 3, 255);
}

/** Decodes a PNG or JPEG; throws Error with a short reason (the caller adds the file name). */
export function decodeImage(bytes: Uint8Array): Decoded {
  const kind = isPng(bytes) ? "PNG" : isJpeg(bytes) ? "JPEG" : undefined;
  if (!kind) throw new Error("not a PNG or JPEG file (unrecognised magic bytes)");
  let d: Decoded;
  try {
    d = kind === "PNG" ? fromPng(bytes) : fromJpeg(bytes);
  } catch (e) {
    throw new Error(`cannot decode ${kind}: ${(e as Error).message ?? e}`);
  }
  if (!(d.w > 0 && d.h > 0)) throw new Error(`${kind} has size ${d.w}×${d.h}`);
  return d;
}

// The image pairs tools/compare.ts scores: two folders matched by file name, two list files (one
// image path per line, paired in order), or a labelled CSV (`a,b,changed` per line, changed 0 or
// 1, paths relative to the CSV's folder). Images are decoded (PNG or JPEG) and resized to the
// data set's size and channel count, the geometry the encoder was scored on.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DataError, type Dataset } from "../data/dataset.ts";
import { isDir, readBytes } from "../data/bytes.ts";
import { decodeImage } from "../data/decode.ts";
import { resizePlanes } from "../data/resize.ts";

const IMAGE_EXT = /\.(png|jpe?g)$/i;

export interface ImagePairs {
  a: string[];
  b: string[];
  /** 1 changed, 0 unchanged: given for calibration pairs */
  changed?: number[];
}

function images(dir: string): string[] {
  const names = readdirSync(dir).filter((f) => IMAGE_EXT.test(f) && !f.startsWith(".")).sort();
  if (names.length === 0) throw new DataError(`${dir}: no images (PNG or JPEG) in the folder`);
  return names;
}

/** Non-empty lines that are not # comments. */
function readLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataError(`${path}: cannot read it (${(e as Error).message})`);
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

/** Paths relative to the list's folder. */
const besideList = (list: string, p: string) => (isAbsolute(p) ? p : join(dirname(list), p));

function listFile(path: string): string[] {
  const lines = readLines(path);
  if (lines.length === 0) throw new DataError(`${path}: the list names no image`);
  return lines.map((l) => besideList(path, l));
}

/** Two folders (matched by name: a name in one folder only is an error) or two lists (same length). */
export function pairsOf(a: string, b: string): ImagePairs {
  if (isDir(a) !== isDir(b)) throw new DataError(`${a} and ${b}: give two folders or two list files`);
  if (isDir(a)) {
    const na = images(a), nb = images(b), inB = new Set(nb), inA = new Set(na);
    const onlyA = na.filter((n) => !inB.has(n)), onlyB = nb.filter((n) => !inA.has(n));
    if (onlyA.length || onlyB.length) {
      const say = (dir: string, list: string[]) => list.length ? `${dir} alone has ${list.slice(0, 5).join(", ")}` : "";
      throw new DataError(
        `the folders do not match by file name: ${[say(a, onlyA), say(b, onlyB)].filter(Boolean).join("; ")}`,
      );
    }
    return { a: na.map((n) => join(a, n)), b: na.map((n) => join(b, n)) };
  }
  const la = listFile(a), lb = listFile(b);
  if (la.length !== lb.length) {
    throw new DataError(`the lists do not match: ${a} names ${la.length} images, ${b} ${lb.length}`);
  }
  return { a: la, b: lb };
}

/** Labelled pairs for calibration: `a,b,changed` lines (a header line is skipped). */
export function calibrationPairs(csv: string): ImagePairs {
  const out: ImagePairs = { a: [], b: [], changed: [] };
  const raw = readLines(csv);
  raw.forEach((line, i) => {
    const f = line.split(",").map((s) => s.trim());
    if (i === 0 && f.length === 3 && !/^[01]$/.test(f[2])) return; // header
    if (f.length !== 3 || !/^[01]$/.test(f[2])) {
      throw new DataError(`${csv}: line ${i + 1} "${line}" is not a,b,changed with changed 0 or 1`);
    }
    out.a.push(besideList(csv, f[0]));
    out.b.push(besideList(csv, f[1]));
    out.changed!.push(Number(f[2]));
  });
  if (out.a.length === 0) throw new DataError(`${csv}: no labelled pair`);
  const kinds = new Set(out.changed);
  if (kinds.size < 2) {
    throw new DataError(`${csv}: all pairs are ${[...kinds][0] ? "changed" : "unchanged"}; calibration needs both`);
  }
  return out;
}

/** The images at `paths` as a data set shaped like `like` (resized, gray by luma or replicated). */
export function loadImages(paths: string[], like: Dataset, name: string): Dataset {
  const { c, h, w } = like, per = c * h * w;
  const out = new Float32Array(paths.length * per);
  paths.forEach((p, i) => {
    let d;
    try {
      d = decodeImage(readBytes(p));
    } catch (e) {
      throw e instanceof DataError ? e : new DataError(`${p}: ${(e as Error).message}`);
    }
    const rgb = resizePlanes(d.rgb, 3, d.h, d.w, h, w), hw = h * w;
    if (c === 3) out.set(rgb, i * per);
    else {
      for (let q = 0; q < hw; q++) out[i * per + q] = 0.299 * rgb[q] + 0.587 * rgb[hw + q] + 0.114 * rgb[2 * hw + q];
    }
  });
  return { name, images: out, labels: new Int32Array(paths.length), n: paths.length, c, h, w, classes: 1 };
}

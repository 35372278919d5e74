// An image folder: one sub-folder per class, PNG or JPEG files inside.
//
//   <dir>/train/<class>/*.png|jpg  and  <dir>/test/<class>/…   explicit split, or
//   <dir>/<class>/*.png|jpg                                     split here: in each class the
//                                   last ⌈testFraction·count⌉ files in name order are test.
// Classes are the sub-folder names in sorted order (label = index). Files are taken in
// name order and interleaved round-robin across classes, so a limit keeps classes balanced.
// Size: without `size` every image must have the first image's size (error otherwise);
// with `size` each image is resized (antialiased bilinear) to it. Channels: 1 when every
// image is gray (R = G = B), else 3 (gray images replicated); `channels` forces either
// (3 → 1 by luma 0.299 R + 0.587 G + 0.114 B).
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { DataError, type Dataset, limitOf, type Split } from "./dataset.ts";
import { fsReason, isDir, readBytes } from "./bytes.ts";
import { type Decoded, decodeImage } from "./decode.ts";
import { resizePlanes } from "./resize.ts";

const IMAGE_EXT = /\.(png|jpe?g)$/i;

export interface FolderOptions {
  trainLimit?: number;
  testLimit?: number;
  /** Resize every image to this (a number means square). */
  size?: number | [number, number];
  /** Force 1 (luma) or 3 channels. */
  channels?: 1 | 3;
  /** Fraction of each class held out as test when there is no train/test sub-folder (default 0.2). */
  testFraction?: number;
}

function listDir(dir: string): string[] {
  try {
    return files().readdir(dir).filter((f) => !f.startsWith(".")).sort();
  } catch (e) {
    throw new DataError(`${dir}: ${fsReason(e)}`);
  }
}

/** Class name → sorted image files, for a folder whose sub-folders are classes. */
function classFiles(dir: string): Map<string, string[]> {
  const classes = listDir(dir).filter((f) => isDir(join(dir, f)));
  if (classes.length === 0) {
    throw new DataError(`${dir}: no class sub-folders (expected ${dir}/<class>/<image>.png or .jpg)`);
  }
  const out = new Map<string, string[]>();
  for (const c of classes) {
    const files = listDir(join(dir, c)).filter((f) => IMAGE_EXT.test(f)).map((f) => join(dir, c, f));
    if (files.length === 0) throw new DataError(`${join(dir, c)}: class folder has no .png/.jpg/.jpeg images`);
    out.set(c, files);
  }
  return out;
}

/** Round-robin over the classes' lists: [(file, label)], balanced prefixes. */
function interleave(lists: string[][]): [string, number][] {
  const out: [string, number][] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) lists.forEach((l, c) => i < l.length && out.push([l[i], c]));
  return out;
}

/** The size every image gets: resized to it, or required to have it (`ref` names the first image). */
interface Target {
  h: number;
  w: number;
  resize: boolean;
  ref: string;
}

/** Decodes, size-checks or resizes, and packs items into a Dataset with c = 3 (reduced later). */
function decodeAll(items: [string, number][], name: string, classNames: string[], target?: Target) {
  let t = target;
  let images = new Float32Array(0);
  const labels = new Int32Array(items.length);
  let gray = true;
  items.forEach(([file, label], i) => {
    let d: Decoded;
    try {
      d = decodeImage(readBytes(file));
    } catch (e) {
      throw e instanceof DataError ? e : new DataError(`${file}: ${(e as Error).message}`);
    }
    t ??= { h: d.h, w: d.w, resize: false, ref: file };
    if (i === 0) images = new Float32Array(items.length * 3 * t.h * t.w);
    let px = d.rgb;
    if (t.resize) px = resizePlanes(d.rgb, 3, d.h, d.w, t.h, t.w);
    else if (d.h !== t.h || d.w !== t.w) {
      throw new DataError(
        `${file}: image is ${d.w}×${d.h} but ${t.ref} is ${t.w}×${t.h}; all images must have one size: resize them ` +
          `first (e.g. ImageMagick: mogrify -resize ${t.w}x${t.h}! <folder>/*/*.png), as the command line does not`,
      );
    }
    images.set(px, i * 3 * t.h * t.w);
    labels[i] = label;
    gray &&= d.gray;
  });
  const [h, w] = t ? [t.h, t.w] : [0, 0];
  const ds: Dataset = { name, images, labels, n: items.length, c: 3, h, w, classes: classNames.length, classNames };
  return { ds, gray, target: t };
}

/** 3-channel → 1 channel: copy the R plane (exact for gray images) or take luma. */
function toOneChannel(ds: Dataset, gray: boolean): Dataset {
  const hw = ds.h * ds.w;
  const out = new Float32Array(ds.n * hw);
  for (let i = 0; i < ds.n; i++) {
    const s = i * 3 * hw;
    for (let p = 0; p < hw; p++) {
      const r = ds.images[s + p];
      out[i * hw + p] = gray ? r : 0.299 * r + 0.587 * ds.images[s + hw + p] + 0.114 * ds.images[s + 2 * hw + p];
    }
  }
  return { ...ds, images: out, c: 1 };
}

export function loadImageFolder(dir: string, opts: FolderOptions = {}): Split {
  if (!isDir(dir)) throw new DataError(`${dir}: image folder not found`);
  const size: [number, number] | undefined = typeof opts.size === "number" ? [opts.size, opts.size] : opts.size;
  if (size && !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new DataError(`${dir}: size ${JSON.stringify(opts.size)} must be positive integers`);
  }
  const frac = opts.testFraction ?? 0.2;
  if (!(frac >= 0 && frac < 1)) throw new DataError(`${dir}: testFraction ${frac} must be in [0, 1)`);

  let trainLists: string[][], testLists: string[][], classNames: string[];
  if (isDir(join(dir, "train")) && isDir(join(dir, "test"))) {
    const tr = classFiles(join(dir, "train")), te = classFiles(join(dir, "test"));
    classNames = [...tr.keys()];
    const extra = [...te.keys()].filter((c) => !tr.has(c));
    if (extra.length) {
      throw new DataError(`${join(dir, "test")}: classes ${extra.join(", ")} have no folder in ${join(dir, "train")}`);
    }
    trainLists = classNames.map((c) => tr.get(c)!);
    testLists = classNames.map((c) => te.get(c) ?? []);
  } else {
    const all = classFiles(dir);
    classNames = [...all.keys()];
    const lists = classNames.map((c) => all.get(c)!);
    const cut = lists.map((l) => l.length - Math.ceil(frac * l.length));
    trainLists = lists.map((l, i) => l.slice(0, cut[i]));
    testLists = lists.map((l, i) => l.slice(cut[i]));
  }
  const base = dir.replace(/\/+$/, "").split("/").pop() || dir;
  const trainItems = interleave(trainLists), testItems = interleave(testLists);
  if (trainItems.length === 0) throw new DataError(`${dir}: no training images`);
  const target = size && { h: size[0], w: size[1], resize: true, ref: "" };
  const tr = decodeAll(
    trainItems.slice(0, limitOf(trainItems.length, opts.trainLimit, dir)),
    `${base}/train`,
    classNames,
    target,
  );
  // Test images are held to the train images' size (or resized to `size`).
  const te = decodeAll(
    testItems.slice(0, limitOf(testItems.length, opts.testLimit, dir)),
    `${base}/test`,
    classNames,
    tr.target,
  );
  const gray = tr.gray && te.gray;
  const c = opts.channels ?? (gray ? 1 : 3);
  if (c !== 1 && c !== 3) throw new DataError(`${dir}: channels must be 1 or 3, got ${c}`);
  const fix = (d: Dataset) => (c === 1 ? toOneChannel(d, gray) : d);
  return { train: fix(tr.ds), test: fix(te.ds) };
}

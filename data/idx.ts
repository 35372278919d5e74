// IDX files (MNIST, Fashion-MNIST): big-endian header, then raw unsigned bytes.
//
//   bytes 0–1: 0x00 0x00   byte 2: element type (0x08 = unsigned byte)   byte 3: rank
//   then rank big-endian uint32 dimensions, then the elements row-major.
// Images are rank 3 (n, rows, cols), labels rank 1 (n). Files may be gzipped or not.
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { bytesToUnit, DataError, type Dataset, limitOf, type Split } from "./dataset.ts";
import { isDir, readMaybeGzip } from "./bytes.ts";

const TYPE_NAMES: Record<number, string> = { 8: "ubyte", 9: "byte", 11: "short", 12: "int", 13: "float", 14: "double" };

export interface Idx {
  dims: number[];
  /** The element bytes after the header (type is always ubyte here). */
  data: Uint8Array;
}

/** Parses an IDX byte buffer of unsigned bytes with the expected rank; `file` names it in errors. */
export function parseIdx(b: Uint8Array, file: string, rank: number): Idx {
  if (b.length < 4) throw new DataError(`${file}: truncated IDX file (${b.length} bytes, no header)`);
  if (b[0] !== 0 || b[1] !== 0) {
    const hex = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(`${file}: not an IDX file (magic bytes ${hex}, expected 00 00 08 0${rank})`);
  }
  if (b[2] !== 0x08) {
    throw new DataError(
      `${file}: IDX element type 0x${b[2].toString(16)} (${
        TYPE_NAMES[b[2]] ?? "unknown"
      }), only 0x08 (ubyte) is supported`,
    );
  }
  if (b[3] !== rank) {
    throw new DataError(`${file}: IDX rank ${b[3]}, expected ${rank} (${rank === 3 ? "images" : "labels"} file)`);
  }
  const head = 4 + 4 * rank;
  if (b.length < head) throw new DataError(`${file}: truncated IDX header (${b.length} of ${head} bytes)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const want = dims.reduce((a, d) => a * d, 1);
  const have = b.length - head;
  if (have < want) {
    throw new DataError(`${file}: truncated IDX data: header says ${dims.join("×")} = ${want} bytes, file has ${have}`);
  }
  if (have > want) throw new DataError(`${file}: ${have - want} unexpected bytes after the ${dims.join("×")} IDX data`);
  return { dims, data: b.subarray(head) };
}

/** Reads one images/labels pair into a Dataset, converting only the first `limit` images. */
export function readIdxPair(
  imagesFile: string,
  labelsFile: string,
  name: string,
  classNames: string[],
  limit?: number,
): Dataset {
  const img = parseIdx(readMaybeGzip(imagesFile), imagesFile, 3);
  const lab = parseIdx(readMaybeGzip(labelsFile), labelsFile, 1);
  const [n, h, w] = img.dims;
  if (lab.dims[0] !== n) throw new DataError(`${labelsFile}: ${lab.dims[0]} labels but ${imagesFile} has ${n} images`);
  const classes = classNames.length;
  const m = limitOf(n, limit, name);
  const labels = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const l = lab.data[i];
    if (l >= classes) throw new DataError(`${labelsFile}: label ${l} at index ${i} is outside 0..${classes - 1}`);
    labels[i] = l;
  }
  const images = new Float32Array(m * h * w);
  bytesToUnit(img.data.subarray(0, images.length), images);
  return { name, images, labels, n: m, c: 1, h, w, classes, classNames };
}

/** The four files of an IDX split: `train-images-idx3-ubyte[.gz]`, also `train-images.idx3-ubyte`. */
export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

export function findIdxFiles(dir: string): IdxFiles | { missing: string[] } {
  let names: string[];
  try {
    names = files().readdir(dir);
  } catch {
    names = [];
  }
  const find = (stem: string, kind: string, rank: number) => {
    const re = new RegExp(`^${stem}-${kind}[-.]idx${rank}-ubyte(\\.gz)?$`);
    return names.filter((f) => re.test(f)).sort()[0]; // prefer the uncompressed name if both exist
  };
  const want: [keyof IdxFiles, string, string, number][] = [
    ["trainImages", "train", "images", 3],
    ["trainLabels", "train", "labels", 1],
    ["testImages", "t10k", "images", 3],
    ["testLabels", "t10k", "labels", 1],
  ];
  const out: Partial<IdxFiles> = {};
  const missing: string[] = [];
  for (const [k, stem, kind, rank] of want) {
    const f = find(stem, kind, rank);
    if (f) out[k] = join(dir, f);
    else missing.push(`${stem}-${kind}-idx${rank}-ubyte[.gz]`);
  }
  return missing.length ? { missing } : out as IdxFiles;
}

export interface IdxOptions {
  trainLimit?: number;
  testLimit?: number;
}

/** Loads train + t10k from an IDX folder; throws DataError listing missing files. */
export function loadIdxSplit(dir: string, name: string, classNames: string[], opts: IdxOptions = {}): Split {
  if (!isDir(dir)) throw new DataError(`${dir}: ${name} folder not found`);
  const f = findIdxFiles(dir);
  if ("missing" in f) throw new DataError(`${dir}: no ${name} IDX files found (missing ${f.missing.join(", ")})`);
  return {
    train: readIdxPair(f.trainImages, f.trainLabels, `${name}/train`, classNames, opts.trainLimit),
    test: readIdxPair(f.testImages, f.testLabels, `${name}/test`, classNames, opts.testLimit),
  };
}

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];
export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

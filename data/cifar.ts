// CIFAR-10 / CIFAR-100 "binary version" batches.
//
// CIFAR-10: data_batch_1..5.bin + test_batch.bin, records of 1 label byte + 3072 pixel bytes.
// CIFAR-100: train.bin + test.bin, records of 1 coarse + 1 fine label byte + 3072 pixel bytes.
// Pixels are 1024 R, then 1024 G, then 1024 B, each plane 32×32 row-major — already CHW.
// The folder may be the extracted archive's parent (it contains cifar-10-batches-bin/).
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { bytesToUnit, DataError, type Dataset, limitOf, type Split } from "./dataset.ts";
import { isDir, isFile, readMaybeGzip } from "./bytes.ts";

const PIXELS = 3 * 32 * 32;

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

interface Layout {
  /** Name in messages: "CIFAR-10" or "CIFAR-100". */
  kind: string;
  /** Number of classes of each label byte that precedes the pixels (10, or 20 coarse + 100 fine). */
  labelRanges: number[];
  /** Which label byte is used. */
  labelIndex: number;
}

const CIFAR10: Omit<Layout, "labelIndex"> = { kind: "CIFAR-10", labelRanges: [10] };
const CIFAR100: Omit<Layout, "labelIndex"> = { kind: "CIFAR-100", labelRanges: [20, 100] };

/** Decodes records from several files into one Dataset, stopping after `limit` images. */
function readRecords(
  files: string[],
  layout: Layout,
  name: string,
  classNames: string[] | undefined,
  limit?: number,
): Dataset {
  const nl = layout.labelRanges.length;
  const rec = nl + PIXELS;
  // Read files only until the limit is covered, so a small limit does not decode all batches.
  const bufs: { file: string; b: Uint8Array }[] = [];
  let total = 0;
  for (const file of files) {
    if (limit !== undefined && total >= limit) break;
    const b = readMaybeGzip(file);
    if (b.length === 0 || b.length % rec !== 0) {
      throw new DataError(
        `${file}: truncated or corrupt ${layout.kind} batch: ${b.length} bytes is not a positive multiple of the ${rec}-byte record`,
      );
    }
    bufs.push({ file, b });
    total += b.length / rec;
  }
  const n = limitOf(total, limit, name);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let i = 0;
  for (let fi = 0; fi < bufs.length && i < n; fi++) {
    const { file, b } = bufs[fi];
    for (let r = 0; r < b.length / rec && i < n; r++, i++) {
      const o = r * rec;
      for (let k = 0; k < nl; k++) {
        if (b[o + k] >= layout.labelRanges[k]) {
          throw new DataError(
            `${file}: record ${r} has label ${b[o + k]} outside 0..${
              layout.labelRanges[k] - 1
            } (corrupt, or not a ${layout.kind} file)`,
          );
        }
      }
      labels[i] = b[o + layout.labelIndex];
      const dst = i * PIXELS;
      bytesToUnit(b.subarray(o + nl, o + rec), images, dst);
    }
  }
  const classes = layout.labelRanges[layout.labelIndex];
  return { name, images, labels, n, c: 3, h: 32, w: 32, classes, classNames };
}

/** One name per line (batches.meta.txt, fine_label_names.txt), if the file exists and has `count` names. */
function readNames(file: string, count: number): string[] | undefined {
  if (!isFile(file)) return undefined;
  const names = new TextDecoder().decode(files().readFile(file)).split(/\r?\n/).map((s) => s.trim()).filter((s) => s);
  return names.length === count ? names : undefined;
}

/** The folder holding the batches: `dir` itself or its `sub` folder from the official archive. */
function batchDir(dir: string, sub: string, marker: string): string {
  if (!isDir(dir)) throw new DataError(`${dir}: CIFAR folder not found`);
  if (isFile(join(dir, marker)) || isFile(join(dir, marker + ".gz"))) return dir;
  if (isFile(join(dir, sub, marker))) return join(dir, sub);
  throw new DataError(`${dir}: no ${marker} here or in ${join(dir, sub)} (expected the CIFAR binary version)`);
}

const fileOrGz = (dir: string, f: string) => (isFile(join(dir, f)) ? join(dir, f) : join(dir, f + ".gz"));

export interface CifarOptions {
  trainLimit?: number;
  testLimit?: number;
  /** CIFAR-100 only: which label to use (default "fine", 100 classes; "coarse" has 20). */
  labels?: "fine" | "coarse";
}

export function loadCifar10(dir: string, opts: CifarOptions = {}): Split {
  const d = batchDir(dir, "cifar-10-batches-bin", "test_batch.bin");
  const batches = files().readdir(d)
    .map((f) => /^data_batch_(\d+)\.bin(\.gz)?$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(d, m[0]));
  if (batches.length === 0) throw new DataError(`${d}: no data_batch_<k>.bin training batches`);
  const names = readNames(join(d, "batches.meta.txt"), 10) ?? CIFAR10_CLASSES;
  const layout = { ...CIFAR10, labelIndex: 0 };
  return {
    train: readRecords(batches, layout, "cifar10/train", names, opts.trainLimit),
    test: readRecords([fileOrGz(d, "test_batch.bin")], layout, "cifar10/test", names, opts.testLimit),
  };
}

export function loadCifar100(dir: string, opts: CifarOptions = {}): Split {
  if (opts.labels !== undefined && opts.labels !== "fine" && opts.labels !== "coarse") {
    throw new DataError(`cifar100: labels must be "fine" or "coarse", got ${JSON.stringify(opts.labels)}`);
  }
  const d = batchDir(dir, "cifar-100-binary", "train.bin");
  const fine = (opts.labels ?? "fine") === "fine";
  const classes = fine ? 100 : 20;
  const names = readNames(join(d, fine ? "fine_label_names.txt" : "coarse_label_names.txt"), classes);
  const layout = { ...CIFAR100, labelIndex: fine ? 1 : 0 };
  return {
    train: readRecords([fileOrGz(d, "train.bin")], layout, "cifar100/train", names, opts.trainLimit),
    test: readRecords([fileOrGz(d, "test.bin")], layout, "cifar100/test", names, opts.testLimit),
  };
}

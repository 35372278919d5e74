// Dataset readers: real file formats written to a temp dir (gzip and not), corrupt variants
// with their exact messages, the image folder, the synthetic set, and the resolver.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { DataError, labelWarning, take } from "../data/dataset.ts";
import { FASHION_MNIST_DIR, loadDataset, loadDatasetSync } from "../data/load.ts";
import { DATA_NAME_FORMS, datasetImageShape, parseDataName } from "../data/names.ts";
import { parseIdx } from "../data/idx.ts";
import { loadCifar10, loadCifar100 } from "../data/cifar.ts";
import { loadImageFolder } from "../data/folder.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { resizePlanes } from "../data/resize.ts";
import { crc32, gunzipChecked } from "../data/gzip.ts";
import { isFile } from "../data/bytes.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "data-test-"));

/** An IDX ubyte file: 00 00 08 rank, big-endian dims, data. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + data.length);
  b.set([0, 0, 8, dims.length]);
  const dv = new DataView(b.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  b.set(data, 4 + 4 * dims.length);
  return b;
}
const bytes = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i) & 255);

/** Writes a 4-file IDX split with n train / m test images of h×w; gz picks compression. */
function writeIdxSplit(dir: string, n: number, m: number, h: number, w: number, gz: boolean) {
  const put = (name: string, b: Uint8Array) => writeFileSync(join(dir, name + (gz ? ".gz" : "")), gz ? gzipSync(b) : b);
  put("train-images-idx3-ubyte", idx([n, h, w], bytes(n * h * w, (i) => i * 7 + 3)));
  put("train-labels-idx1-ubyte", idx([n], bytes(n, (i) => (i * 3) % 10)));
  put("t10k-images-idx3-ubyte", idx([m, h, w], bytes(m * h * w, (i) => i * 5 + 1)));
  put("t10k-labels-idx1-ubyte", idx([m], bytes(m, (i) => (i * 7) % 10)));
}

function throwsMsg(f: () => unknown, ...parts: (string | RegExp)[]) {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DataError, `expected DataError, got ${(e as Error).name}: ${(e as Error).message}`);
    for (const p of parts) {
      if (typeof p === "string") assert.ok(e.message.includes(p), `message "${e.message}" lacks "${p}"`);
      else assert.match(e.message, p);
    }
    return e.message;
  }
  assert.fail(`expected a DataError mentioning ${parts.join(", ")}`);
}

Deno.test("IDX split loads identically from gzip and plain files, pixels = byte/255", () => {
  for (const gz of [false, true]) {
    const d = tmp();
    writeIdxSplit(d, 7, 5, 13, 3, gz);
    const s = loadDatasetSync(`mnist:${d}`);
    assert.equal(s.train.n, 7);
    assert.deepEqual([s.train.c, s.train.h, s.train.w, s.train.classes], [1, 13, 3, 10]);
    assert.equal(s.test.n, 5);
    for (const i of [0, 1, 100, 7 * 39 - 1]) assert.equal(s.train.images[i], Math.fround(((i * 7 + 3) & 255) / 255));
    for (const i of [0, 64, 5 * 39 - 1]) assert.equal(s.test.images[i], Math.fround(((i * 5 + 1) & 255) / 255));
    assert.deepEqual([...s.train.labels], [0, 3, 6, 9, 2, 5, 8]);
    assert.deepEqual([...s.test.labels], [0, 7, 4, 1, 8]);
    assert.deepEqual(s.train.classNames?.slice(0, 2), ["0", "1"]);
    // Limits keep the first images; a bare folder path is detected as IDX.
    const l = loadDatasetSync(d, { trainLimit: 3, testLimit: 2 });
    assert.deepEqual([l.train.n, l.test.n, l.train.images.length], [3, 2, 3 * 39]);
    assert.deepEqual([...l.train.labels], [0, 3, 6]);
  }
});

Deno.test("IDX errors name the file and the problem", () => {
  const img = idx([2, 3, 4], bytes(24, (i) => i));
  const f = "x/train-images-idx3-ubyte";
  throwsMsg(() => parseIdx(Uint8Array.of(0, 0), f, 3), f, "truncated IDX file (2 bytes, no header)");
  throwsMsg(
    () => parseIdx(Uint8Array.from([0x1f, 0x8c, 8, 3, ...img.subarray(4)]), f, 3),
    "not an IDX file (magic bytes 1f 8c 08 03, expected 00 00 08 03)",
  );
  throwsMsg(
    () => parseIdx(Uint8Array.from([0, 0, 0x0d, 3, ...img.subarray(4)]), f, 3),
    "element type 0xd (float), only 0x08 (ubyte)",
  );
  throwsMsg(() => parseIdx(img, f, 1), "IDX rank 3, expected 1 (labels file)");
  throwsMsg(() => parseIdx(img.subarray(0, 10), f, 3), "truncated IDX header (10 of 16 bytes)");
  throwsMsg(
    () => parseIdx(img.subarray(0, img.length - 5), f, 3),
    "truncated IDX data: header says 2×3×4 = 24 bytes, file has 19",
  );
  throwsMsg(() => parseIdx(Uint8Array.from([...img, 9, 9]), f, 3), "2 unexpected bytes after the 2×3×4 IDX data");

  const d = tmp();
  writeIdxSplit(d, 4, 3, 5, 5, true);
  const labels = join(d, "train-labels-idx1-ubyte.gz");
  // Label count mismatch (5 labels for 4 images).
  writeFileSync(labels, gzipSync(idx([5], bytes(5, () => 1))));
  throwsMsg(() => loadDatasetSync(`mnist:${d}`), labels, "5 labels but", "has 4 images");
  // Label out of range.
  writeFileSync(labels, gzipSync(idx([4], Uint8Array.of(1, 2, 10, 3))));
  throwsMsg(() => loadDatasetSync(`mnist:${d}`), labels, "label 10 at index 2 is outside 0..9");
  // Truncated gzip and a flipped byte inside the compressed stream (caught by the CRC).
  const good = gzipSync(idx([4], Uint8Array.of(1, 2, 3, 4)));
  writeFileSync(labels, good.subarray(0, good.length - 6));
  throwsMsg(() => loadDatasetSync(`mnist:${d}`), labels, "bad gzip file", "truncated");
  const bigImages = join(d, "train-images-idx3-ubyte.gz");
  const gz = gzipSync(idx([4, 5, 5], bytes(100, (i) => i * 13)), { level: 0 }); // stored block: a flip changes data only
  gz[40] ^= 0x55;
  writeFileSync(bigImages, gz);
  writeFileSync(labels, good);
  throwsMsg(() => loadDatasetSync(`mnist:${d}`), bigImages, "CRC-32");
  // Missing files.
  throwsMsg(() => loadDatasetSync(`mnist:${join(d, "nope")}`), `${join(d, "nope")}: mnist folder not found`);
  throwsMsg(
    () => loadDatasetSync(`mnist:${tmp()}`),
    "no mnist IDX files found (missing train-images-idx3-ubyte[.gz], train-labels",
  );
  throwsMsg(() => loadDatasetSync(`fashion-mnist:${join(d, "nope")}`), "Fashion-MNIST not found in", "missing");
  throwsMsg(() => loadDatasetSync("mnist"), "MNIST needs a folder: use mnist:<dir>");
  throwsMsg(
    () => loadDatasetSync(join(d, "no-such-thing")),
    "unknown dataset",
    "not a known name or an existing folder",
  );
});

Deno.test("checked gunzip: CRC-32 known value, round trip, trailer length check", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const raw = bytes(5000, (i) => (i * i) >> 3);
  assert.deepEqual(gunzipChecked(gzipSync(raw)), raw);
  const gz = gzipSync(raw);
  gz[gz.length - 4] ^= 1; // ISIZE
  assert.throws(() => gunzipChecked(gz), /trailer says 5001 bytes, inflated 5000/);
});

// A missing prerequisite is a counted, named skip (Deno reports it as "ignored"), never a pass.
const haveFashion = isFile(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));
Deno.test({
  name: `full Fashion-MNIST from the Debian package: shapes, balance, known mean; load time${
    haveFashion ? "" : ` (SKIPPED: ${FASHION_MNIST_DIR} missing; apt-get install dataset-fashion-mnist)`
  }`,
  ignore: !haveFashion,
}, () => {
  const t0 = performance.now();
  const s = loadDatasetSync();
  const ms = performance.now() - t0;
  console.log(`full Fashion-MNIST (60000 + 10000 images, gzip IDX → float32) loaded in ${ms.toFixed(0)} ms`);
  assert.deepEqual([s.train.n, s.test.n, s.train.c, s.train.h, s.train.w, s.train.classes], [
    60000,
    10000,
    1,
    28,
    28,
    10,
  ]);
  let sum = 0;
  for (const v of s.train.images) sum += v;
  assert.ok(Math.abs(sum / s.train.images.length - 0.2860) < 1e-3, `mean ${sum / s.train.images.length}`); // the dataset's published mean
  const counts = new Array(10).fill(0);
  for (const l of s.test.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
  assert.equal(s.train.classNames?.[9], "Ankle boot");
});

/** CIFAR records: label byte(s) then 3072 pixels; pixel p of record r = (r * 31 + p) & 255. */
function cifarRecords(labels: number[][]): Uint8Array {
  const nl = labels[0].length, rec = nl + 3072;
  const b = new Uint8Array(labels.length * rec);
  labels.forEach((l, r) => {
    b.set(l, r * rec);
    for (let p = 0; p < 3072; p++) b[r * rec + nl + p] = (r * 31 + p) & 255;
  });
  return b;
}

Deno.test("CIFAR-10 batches: labels, CHW pixel order, several batch files, limits, errors", () => {
  const root = tmp();
  const d = join(root, "cifar-10-batches-bin");
  mkdirSync(d);
  writeFileSync(join(d, "data_batch_1.bin"), cifarRecords([[3], [9], [0]]));
  writeFileSync(join(d, "data_batch_2.bin"), gzipSync(cifarRecords([[5], [1]])));
  writeFileSync(join(d, "data_batch_10.bin"), cifarRecords([[7]])); // numeric, not lexical, order
  writeFileSync(join(d, "test_batch.bin"), cifarRecords([[2], [4]]));
  writeFileSync(join(d, "batches.meta.txt"), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
  const s = loadDatasetSync(`cifar10:${root}`);
  assert.deepEqual([s.train.n, s.train.c, s.train.h, s.train.w, s.train.classes], [6, 3, 32, 32, 10]);
  assert.deepEqual([...s.train.labels], [3, 9, 0, 5, 1, 7]);
  assert.deepEqual([...s.test.labels], [2, 4]);
  assert.equal(s.train.classNames?.[3], "d");
  // Record 1 of batch 1, green plane (offset 1024), row 2, column 5.
  const p = 1024 + 2 * 32 + 5;
  assert.equal(s.train.images[1 * 3072 + p], Math.fround(((31 + p) & 255) / 255));
  // Second file's first record is dataset image 3 (record 0 of its own file).
  assert.equal(s.train.images[3 * 3072 + 7], Math.fround(7 / 255));
  const lim = loadCifar10(d, { trainLimit: 2, testLimit: 1 });
  assert.deepEqual([lim.train.n, lim.test.n, ...lim.train.labels], [2, 1, 3, 9]);
  // Detected from a bare folder too.
  assert.equal(loadDatasetSync(root).train.n, 6);

  writeFileSync(join(d, "test_batch.bin"), cifarRecords([[2], [4]]).subarray(0, 3073 + 100));
  throwsMsg(
    () => loadCifar10(d),
    join(d, "test_batch.bin"),
    "truncated or corrupt CIFAR-10 batch: 3173 bytes is not a positive multiple of the 3073-byte record",
  );
  writeFileSync(join(d, "test_batch.bin"), cifarRecords([[2], [12]]));
  throwsMsg(() => loadCifar10(d), "record 1 has label 12 outside 0..9");
  throwsMsg(() => loadDatasetSync(`cifar10:${join(root, "missing")}`), "CIFAR folder not found");
  throwsMsg(() => loadDatasetSync(`cifar10:${tmp()}`), "no test_batch.bin here");
});

Deno.test("CIFAR-100: fine and coarse labels, names, errors", () => {
  const d = tmp();
  writeFileSync(join(d, "train.bin"), cifarRecords([[3, 99], [19, 0], [0, 42]]));
  writeFileSync(join(d, "test.bin"), cifarRecords([[1, 2]]));
  writeFileSync(join(d, "coarse_label_names.txt"), Array.from({ length: 20 }, (_, i) => `c${i}`).join("\n"));
  const fine = loadDatasetSync(`cifar100:${d}`);
  assert.deepEqual([fine.train.classes, ...fine.train.labels, ...fine.test.labels], [100, 99, 0, 42, 2]);
  assert.equal(fine.train.classNames, undefined);
  assert.equal(fine.train.images[2 * 3072 + 10], Math.fround(((2 * 31 + 10) & 255) / 255));
  const coarse = loadCifar100(d, { labels: "coarse" });
  assert.deepEqual([coarse.train.classes, ...coarse.train.labels], [20, 3, 19, 0]);
  assert.equal(coarse.train.classNames?.[19], "c19");
  writeFileSync(join(d, "test.bin"), cifarRecords([[20, 2]]));
  throwsMsg(
    () => loadCifar100(d),
    join(d, "test.bin"),
    "record 0 has label 20 outside 0..19 (corrupt, or not a CIFAR-100 file)",
  );
  // A CIFAR-10 file where CIFAR-100 is expected: the record size does not divide.
  writeFileSync(join(d, "test.bin"), cifarRecords([[1], [2]]));
  throwsMsg(() => loadCifar100(d), "6146 bytes is not a positive multiple of the 3074-byte record");
  throwsMsg(() => loadCifar100(d, { labels: "medium" as "fine" }), 'labels must be "fine" or "coarse"');
});

/** A PNG of a w×h image whose channel values are f(x, y, ch). */
function png(
  w: number,
  h: number,
  channels: number,
  f: (x: number, y: number, ch: number) => number,
  depth: 8 | 16 = 8,
) {
  const data = depth === 16 ? new Uint16Array(w * h * channels) : new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) data[(y * w + x) * channels + c] = f(x, y, c);
  }
  return encodePng({ width: w, height: h, data, channels, depth });
}

Deno.test("image folder: classes from sub-folders, gray/RGB/16-bit/palette PNG, JPEG, split and errors", () => {
  const d = tmp();
  for (const c of ["cat", "dog", "emu"]) mkdirSync(join(d, c));
  // cat: 5 gray PNGs, dog: 5 gray+alpha PNGs, emu: 16-bit gray and a 2-colour palette PNG.
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(d, "cat", `${i}.png`), png(7, 5, 1, (x, y) => 10 * i + x + y));
    writeFileSync(join(d, "dog", `${i}.png`), png(7, 5, 2, (x, _y, c) => (c === 1 ? 0 : 100 + i + x)));
  }
  writeFileSync(join(d, "emu", "a.png"), png(7, 5, 1, (x) => x * 10000, 16));
  writeFileSync(
    join(d, "emu", "b.png"),
    encodePng({
      width: 7,
      height: 5,
      channels: 1,
      depth: 8,
      palette: [[0, 0, 0], [128, 128, 128]],
      data: bytes(35, (i) => i % 2),
    }),
  );
  writeFileSync(join(d, "emu", "notes.txt"), "ignored");
  const s = loadImageFolder(d);
  // 4/4/1 train, 1/1/1 test (ceil(0.2·count) held out per class), interleaved round-robin.
  assert.deepEqual(s.train.classNames, ["cat", "dog", "emu"]);
  assert.deepEqual([...s.train.labels], [0, 1, 2, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual([...s.test.labels], [0, 1, 2]);
  assert.deepEqual([s.train.c, s.train.h, s.train.w], [1, 5, 7]);
  const px = (ds: typeof s.train, i: number, x: number, y: number, c = 0) =>
    ds.images[((i * ds.c + c) * ds.h + y) * ds.w + x];
  assert.equal(px(s.train, 0, 3, 2), Math.fround(5 / 255)); // cat/0.png
  assert.equal(px(s.train, 3, 3, 2), Math.fround(15 / 255)); // cat/1.png
  assert.equal(px(s.train, 1, 4, 0), Math.fround(104 / 255)); // dog/0.png gray channel, alpha dropped
  assert.equal(px(s.train, 2, 3, 1), Math.fround(30000 / 65535)); // 16-bit
  assert.equal(px(s.test, 2, 1, 0), Math.fround(128 / 255)); // palette index 1
  assert.equal(px(s.test, 0, 0, 0), Math.fround(40 / 255)); // cat/4.png is held out
  // An RGB JPEG makes the set 3-channel; gray images are replicated.
  const rgb = new Uint8Array(7 * 5 * 4);
  for (let p = 0; p < 35; p++) rgb.set([200, 40, 40, 255], 4 * p);
  writeFileSync(join(d, "emu", "c.jpg"), encodeJpeg({ width: 7, height: 5, data: rgb }, 95).data);
  const c3 = loadImageFolder(d, { testFraction: 0 });
  assert.deepEqual([c3.train.c, c3.train.n, c3.test.n], [3, 13, 0]);
  const jpgIndex = 8; // emu/c.jpg is emu's 3rd file: round-robin position 2·3 + 2
  assert.equal(c3.train.labels[jpgIndex], 2);
  assert.ok(Math.abs(px(c3.train, jpgIndex, 3, 2, 0) - 200 / 255) < 0.03);
  assert.ok(Math.abs(px(c3.train, jpgIndex, 3, 2, 1) - 40 / 255) < 0.03);
  assert.equal(px(c3.train, 0, 3, 2, 2), Math.fround(5 / 255));
  // Forced single channel takes luma; resizing to 10×4 (h=4, w=10) changes the shape.
  const g = loadImageFolder(d, { channels: 1, size: [4, 10], trainLimit: 9 });
  assert.deepEqual([g.train.c, g.train.h, g.train.w, g.train.n], [1, 4, 10, 9]);
  const luma = loadImageFolder(d, { channels: 1, testFraction: 0 });
  assert.ok(Math.abs(px(luma.train, jpgIndex, 3, 2) - (0.299 * 200 + 0.587 * 40 + 0.114 * 40) / 255) < 0.03);

  // Errors: a differently sized image, a corrupt image, an empty class, a missing folder.
  writeFileSync(join(d, "emu", "d.png"), png(8, 5, 1, () => 0));
  throwsMsg(
    () => loadImageFolder(d),
    join(d, "emu", "d.png"),
    "image is 8×5 but",
    "is 7×5; all images must have one size: resize them first (e.g. ImageMagick: mogrify -resize 7x5! ",
  );
  assert.equal(loadImageFolder(d, { size: 6 }).train.h, 6);
  writeFileSync(join(d, "emu", "d.png"), png(7, 5, 1, () => 0).subarray(0, 40));
  throwsMsg(() => loadImageFolder(d), join(d, "emu", "d.png"), "cannot decode PNG");
  writeFileSync(join(d, "emu", "d.png"), "hello");
  throwsMsg(() => loadImageFolder(d), join(d, "emu", "d.png"), "not a PNG or JPEG file");
  const jpg = encodeJpeg({ width: 7, height: 5, data: rgb }, 90).data;
  writeFileSync(join(d, "emu", "d.png"), jpg.subarray(0, jpg.length >> 1));
  throwsMsg(() => loadImageFolder(d), join(d, "emu", "d.png"), "cannot decode JPEG");
  mkdirSync(join(d, "fox"));
  throwsMsg(() => loadImageFolder(d), join(d, "fox"), "class folder has no .png/.jpg/.jpeg images");
  throwsMsg(() => loadDatasetSync(join(d, "cat")), join(d, "cat"), "no class sub-folders");
  throwsMsg(() => loadImageFolder(join(d, "zzz")), "image folder not found");
});

Deno.test("an image folder of one class loads with a warning that its accuracies mean nothing", () => {
  const d = tmp();
  mkdirSync(join(d, "cat"));
  for (let i = 0; i < 5; i++) writeFileSync(join(d, "cat", `${i}.png`), png(4, 4, 1, (x) => 10 * i + x));
  const one = loadDatasetSync(d);
  assert.equal(one.train.classes, 1);
  assert.match(
    labelWarning(one) ?? "",
    /\/train has one class \('cat'\): every image has the same label, so the kNN and linear accuracies are 100% by construction/,
  );
  mkdirSync(join(d, "dog"));
  writeFileSync(join(d, "dog", "0.png"), png(4, 4, 1, () => 0));
  assert.equal(labelWarning(loadDatasetSync(d)), undefined);
});

Deno.test("image folder with train/ and test/ sub-folders keeps that split", () => {
  const d = tmp();
  for (const [split, cls, k] of [["train", "a", 3], ["train", "b", 2], ["test", "b", 1]] as const) {
    mkdirSync(join(d, split, cls), { recursive: true });
    for (let i = 0; i < k; i++) {
      writeFileSync(join(d, split, cls, `${i}.png`), png(3, 3, 3, (x, _y, c) => (c === 0 ? 50 * x : 0)));
    }
  }
  const s = loadDatasetSync(d);
  assert.deepEqual([s.train.n, s.test.n, s.train.c, ...s.train.labels, ...s.test.labels], [5, 1, 3, 0, 1, 0, 1, 0, 1]);
  mkdirSync(join(d, "test", "z"));
  writeFileSync(join(d, "test", "z", "0.png"), png(3, 3, 1, () => 0));
  throwsMsg(() => loadDatasetSync(d), "classes z have no folder in");
});

Deno.test("resize: constants stay constant, 2× shrink averages blocks, same size is identity", () => {
  const c = new Float32Array(2 * 7 * 13).fill(0.375);
  for (const v of resizePlanes(c, 2, 7, 13, 5, 3)) assert.ok(Math.abs(v - 0.375) < 1e-6);
  for (const v of resizePlanes(c, 2, 7, 13, 11, 17)) assert.ok(Math.abs(v - 0.375) < 1e-6);
  // 4 → 2 columns: output 0 is centred at source x = 1.0; the triangle stretched ×2 gives taps
  // x = 0, 1, 2 weights 0.75, 0.75, 0.25 (x = -1 falls off the edge), normalised by 1.75.
  // Columns [0, 0, 1, 1] (constant along y) → 0.25/1.75 = 1/7 and, by symmetry, 6/7.
  const b = Float32Array.from({ length: 16 }, (_, i) => ((i % 4) >> 1));
  const r = resizePlanes(b, 1, 4, 4, 2, 2);
  for (const [i, want] of [1 / 7, 6 / 7, 1 / 7, 6 / 7].entries()) {
    assert.ok(Math.abs(r[i] - want) < 1e-6, `${r[i]} vs ${want}`);
  }
  // 3× shrink of a 9-wide ramp: the interior output (centre 4.5) sees a symmetric filter → mean 4.
  const ramp = Float32Array.from({ length: 9 }, (_, i) => i);
  assert.ok(Math.abs(resizePlanes(ramp, 1, 1, 9, 1, 3)[1] - 4) < 1e-5);
  const id = Float32Array.from({ length: 35 }, (_, i) => i);
  assert.equal(resizePlanes(id, 1, 5, 7, 5, 7), id);
});

Deno.test("synthetic set: deterministic, prefix-stable, in [0,1], balanced, 1-NN separable", () => {
  const a = makeSynthetic({ train: 120, test: 60, size: [11, 13], channels: 3, classes: 6, seed: 7 });
  const b = makeSynthetic({ train: 40, test: 10, size: [11, 13], channels: 3, classes: 6, seed: 7 });
  assert.deepEqual(b.train.images, a.train.images.subarray(0, 40 * 3 * 11 * 13));
  assert.notDeepEqual(
    makeSynthetic({ train: 4, test: 0, seed: 8 }).train.images,
    makeSynthetic({ train: 4, test: 0, seed: 7 }).train.images,
  );
  assert.deepEqual([a.train.c, a.train.h, a.train.w, a.train.classes], [3, 11, 13, 6]);
  assert.ok(a.train.images.every((v) => v >= 0 && v <= 1));
  assert.deepEqual([...a.train.labels.subarray(0, 7)], [0, 1, 2, 3, 4, 5, 0]);
  for (const opts of [{ channels: 3 as const, classes: 6 }, { channels: 1 as const, classes: 10 }]) {
    const s = makeSynthetic({ train: 200, test: 100, size: 16, ...opts });
    const per = s.train.c * 256;
    let right = 0;
    for (let i = 0; i < s.test.n; i++) {
      const q = s.test.images.subarray(i * per, (i + 1) * per);
      let best = -1, bestD = Infinity;
      for (let j = 0; j < s.train.n; j++) {
        let dd = 0;
        for (let k = 0; k < per; k++) dd += (q[k] - s.train.images[j * per + k]) ** 2;
        if (dd < bestD) [bestD, best] = [dd, j];
      }
      if (s.train.labels[best] === s.test.labels[i]) right++;
    }
    assert.ok(right / s.test.n >= 0.9, `1-NN accuracy ${right / s.test.n} with ${JSON.stringify(opts)}`);
  }
  assert.throws(() => makeSynthetic({ classes: 11 }), /classes must be an integer in 2\.\.10, got 11/);
  assert.throws(() => makeSynthetic({ size: 3 }), /size 3×3 must be integers ≥ 4/);
});

Deno.test("resolver: synthetic, limits, take(), async rejection", async () => {
  const s = await loadDataset("synthetic", { trainLimit: 30, testLimit: 9, synthetic: { size: 8 } });
  assert.deepEqual([s.train.n, s.test.n, s.train.h], [30, 9, 8]);
  assert.equal(take(s.train, 5).images.length, 5 * 64);
  assert.equal(take(s.train, 5).labels.length, 5);
  await assert.rejects(() => loadDataset("imagenet"), /unknown dataset "imagenet"/);
  throwsMsg(() => loadDatasetSync("synthetic:big"), "synthetic takes no argument");
});

Deno.test("data-set names: every form of a known kind has its image shape; folders have none", () => {
  assert.deepEqual(datasetImageShape("fashion-mnist"), [1, 28, 28]);
  assert.deepEqual(datasetImageShape("fashion-mnist:/data/fm"), [1, 28, 28]);
  assert.deepEqual(datasetImageShape("mnist:/data/mnist"), [1, 28, 28]);
  assert.deepEqual(datasetImageShape("cifar10:/data/c10"), [3, 32, 32]);
  assert.deepEqual(datasetImageShape(" cifar100:relative/dir "), [3, 32, 32]);
  // the synthetic set's default images, as the loader makes them
  const syn = loadDatasetSync("synthetic", { trainLimit: 2, testLimit: 2 }).train;
  assert.deepEqual(datasetImageShape("synthetic"), [syn.c, syn.h, syn.w]);
  assert.equal(datasetImageShape("/data/my-images"), undefined);
  assert.equal(datasetImageShape("C:\\data\\cifar10"), undefined);
  assert.deepEqual(parseDataName("cifar10:/a:b"), { kind: "cifar10", arg: "/a:b" });
  assert.deepEqual(parseDataName("C:/data"), { kind: "C:/data", arg: "" });
  // every documented form either has a shape or is the folder form
  for (const f of DATA_NAME_FORMS) assert.ok(f === "<folder>" || datasetImageShape(f.replace("<dir>", "/x")), f);
  // the loader's error lists the same forms
  assert.throws(
    () => loadDatasetSync("nope-not-a-dataset"),
    new RegExp(DATA_NAME_FORMS.join(", ").replace(/[<>]/g, ".")),
  );
});

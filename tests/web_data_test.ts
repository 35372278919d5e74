// The user's own files as the page hands them to the core: a chosen image folder (paths as the
// browser's folder picker gives them) and IDX files, read by data/from_bytes.ts into the data
// set a terminal run of the same folder would load.
import assert from "node:assert/strict";
import { loadDatasetFromBytes } from "../data/from_bytes.ts";
import { gzipSync } from "node:zlib";
import { encodePng } from "../report/png.ts";
import { namedFiles } from "../web/ui/data_bytes.ts";

/** A 4×4 gray PNG of one value. */
const png = (v: number) => encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(v) });

Deno.test("a chosen image folder becomes the data set its class folders describe", async () => {
  const paths = [
    "pets/train/cat/a.png",
    "pets/train/dog/b.png",
    "pets/train/dog/c.png",
    "pets/test/cat/d.png",
    "pets/test/dog/e.png",
  ];
  const values = [10, 200, 210, 20, 220];
  const files = values.map((v) => new Blob([png(v) as BlobPart]));
  const named = await namedFiles(files, paths);
  assert.deepEqual(named.map((f) => f.name).sort(), [
    "test/cat/d.png",
    "test/dog/e.png",
    "train/cat/a.png",
    "train/dog/b.png",
    "train/dog/c.png",
  ]);
  const split = loadDatasetFromBytes(named);
  assert.deepEqual([split.train.n, split.test.n, split.train.classes], [3, 2, 2]);
  assert.deepEqual(split.train.classNames, ["cat", "dog"]);
  // each image's pixels and label come from its own file
  for (let i = 0; i < split.train.n; i++) {
    const v = Math.round(split.train.images[i * 16] * 255);
    assert.equal(split.train.labels[i], v < 100 ? 0 : 1, `image ${i} (${v})`);
  }
});

Deno.test("IDX files become the data set, gzipped or not; a bad one is named in the error", async () => {
  const idx = (magic: number, dims: number[], body: Uint8Array) => {
    const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
    head.setUint32(0, magic);
    dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
    return new Uint8Array([...new Uint8Array(head.buffer), ...body]);
  };
  const images = (n: number) => idx(0x803, [n, 2, 2], new Uint8Array(n * 4).map((_, i) => i));
  const labels = (n: number) => idx(0x801, [n], new Uint8Array(n).map((_, i) => i % 2));
  const bytes = [gzipSync(images(6)), labels(6), images(4), gzipSync(labels(4))];
  const paths = [
    "my/train-images-idx3-ubyte.gz",
    "my/train-labels-idx1-ubyte",
    "my/t10k-images-idx3-ubyte",
    "my/t10k-labels-idx1-ubyte.gz",
  ];
  const named = await namedFiles(bytes.map((b) => new Blob([b as BlobPart])), paths);
  const split = loadDatasetFromBytes(named);
  assert.deepEqual([split.train.n, split.test.n, split.train.h, split.train.w], [6, 4, 2, 2]);
  assert.deepEqual([...split.test.labels], [0, 1, 0, 1]);
  const broken = await namedFiles(
    [new Blob(["garbage"]), ...bytes.slice(1).map((b) => new Blob([b as BlobPart]))],
    paths,
  );
  assert.throws(() => loadDatasetFromBytes(broken), /train-images-idx3-ubyte/);
});

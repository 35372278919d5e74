// The exported program's identity and starting point, without a GPU: for every pipeline,
// example and extra spec (other encoders, a loss of every primitive with AdamW) the program
// holds exactly the persistent tensors the project's compiled step holds (names and shapes:
// the checkpoint files are interchangeable) with the project's initial values for the seed, and
// recomputes the spec hash as the project does (also after --batch changes the spec). The epoch
// order (keyed Feistel bijection) and the synthetic data set match the project's bit for bit.
// The generator's command line takes the pipelines' flags; the program's errors name the problem;
// its data readers give the project's pixels and labels for every stored format.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import process from "node:process";
import { join } from "node:path";
import { loadDatasetSync } from "../data/load.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { writePng } from "../report/png.ts";
import { rand } from "./util/check.ts";
import { specHash } from "../dsl/io.ts";
import { size } from "../kernels/op.ts";
import { shuffleOrder } from "../data/shuffle.ts";
import type { Init } from "../ir/graph.ts";
import { initValues } from "../runtime/init.ts";
import { trainingGraph } from "../step/build.ts";
import { exportArgs } from "../tools/to_torch.ts";
import { exportSpec, maxAbsDiff, PYTHON, python, readTensors, requireTorch, runCases, tempDir } from "./util/torch.ts";
import { extraSpecs, smallPipelineSpec, smallSpecs } from "./util/torch_specs.ts";

Deno.test("torch export: the program's tensors, initial values and spec hash are the project's", async () => {
  requireTorch();
  const root = tempDir("export");
  const specs = [...await smallSpecs(16, 8), ...await extraSpecs(16, 8)];
  const cases: Record<string, unknown>[] = [];
  specs.forEach(({ spec }, i) => {
    const program = exportSpec(spec, root, `p${i}`);
    const side = spec.views[0].aug.crop?.size ?? 8;
    cases.push({ kind: "init", program, image: [3, side, side], out: join(root, `init${i}.safetensors`) });
    cases.push({ kind: "hash", program, batch: 2 * spec.batch, out: join(root, `hash${i}.json`) });
  });
  runCases(root, cases);
  specs.forEach(({ name, spec }, i) => {
    const side = spec.views[0].aug.crop?.size ?? 8;
    const g = trainingGraph(spec, { c: 3, h: side, w: side }).graph;
    const want = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const n of g.nodes.filter((n) => n.op === "param" || n.op === "state")) {
      const tname = n.attrs.name as string;
      shapes.set(tname, [...n.shape]);
      want.set(tname, initValues(n.attrs.init as Init, size(n.shape), spec.seed, tname, (o) => want.get(o)!));
    }
    const got = readTensors(cases[2 * i].out as string);
    assert.deepEqual(Object.keys(got).sort(), [...want.keys()].sort(), `${name}: persistent tensors`);
    for (const [tname, v] of want) {
      assert.deepEqual(got[tname].shape, shapes.get(tname), `${name}: shape of ${tname}`);
      const scale = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
      const d = maxAbsDiff(got[tname].data, v);
      assert(d <= 1e-6 * scale, `${name}: initial ${tname} differs by ${d} (scale ${scale})`);
    }
    const hashes = JSON.parse(readFileSync(cases[2 * i + 1].out as string, "utf8"));
    assert.equal(hashes.same, specHash(spec), `${name}: spec hash`);
    assert.equal(hashes.changed, specHash({ ...spec, batch: 2 * spec.batch }), `${name}: spec hash after --batch`);
  });
});

Deno.test("torch export: epoch order and synthetic data are the project's bit for bit", () => {
  requireTorch();
  const root = tempDir("order");
  const orders: [number, number, number][] = [[1, 0, 0], [2, 3, 1], [5, 7, 2], [1000, 0, 3], [4097, 11, 0], [
    60000,
    0,
    1,
  ]];
  runCases(root, [
    { kind: "shuffle", orders, out: join(root, "orders.safetensors") },
    { kind: "synthetic", n: 40, out: join(root, "synthetic.safetensors") },
  ]);
  const got = readTensors(join(root, "orders.safetensors"));
  for (const [n, seed, epoch] of orders) {
    assert.deepEqual(
      Array.from(got[`${n}.${seed}.${epoch}`].data),
      Array.from(shuffleOrder(n, seed, epoch)),
      `order of ${n} images, seed ${seed}, epoch ${epoch}`,
    );
  }
  const syn = readTensors(join(root, "synthetic.safetensors")).images;
  const ref = makeSynthetic({ train: 40, test: 1 }).train;
  assert.deepEqual(syn.shape, [ref.n, ref.c, ref.h, ref.w]);
  assert.equal(maxAbsDiff(syn.data, ref.images), 0, "synthetic images");
});

Deno.test("torch export: tools/to_torch.ts reads a pipeline or example with its flags, or a spec file", async () => {
  const root = tempDir("cli");
  const bt = await exportArgs(["pipelines/barlow.ts", "--batch", "64", "--proj", "64,32", "--out", join(root, "bt")]);
  assert(bt !== "help");
  assert.equal(bt.spec.batch, 64);
  assert.equal(bt.out, join(root, "bt"));
  // an example whose loss bakes in the width: the loss follows --proj
  const fm = await exportArgs(["examples/feature_mse.ts", "--proj", "64,32"]);
  assert(fm !== "help");
  assert.equal(JSON.stringify(fm.spec.loss).match(/"op":"eye","n":(\d+)/)?.[1], "32");
  assert.equal(fm.out, "torch/feature-mse");
  const file = join(root, "spec.json");
  writeFileSync(file, JSON.stringify(bt.spec));
  const fromFile = await exportArgs(["--spec", file, "--seed", "3"]);
  assert(fromFile !== "help");
  assert.equal(fromFile.spec.seed, 3);
  assert.equal(fromFile.spec.batch, 64);
  await assert.rejects(
    exportArgs(["pipelines/barlow.ts", "--bacth", "3"]),
    /--bacth: unknown flag; did you mean --batch\?/,
  );
  await assert.rejects(exportArgs(["--batch", "3"]), /name a pipeline or example file, or give --spec/);
  await assert.rejects(exportArgs(["pipelines/nope.ts"]), /pipelines\/nope\.ts: cannot load/);
});

Deno.test("torch export: the program refuses bad input with a message naming the problem", async () => {
  requireTorch();
  const root = tempDir("errors");
  const [bt, moco] = await Promise.all(["barlow", "moco"].map((m) => smallPipelineSpec(m, 16, 16)));
  bt.method = "bt\x1b[2J\r\nfake"; // printed escaped, as the project prints it (report/printable.ts)
  const btDir = exportSpec(bt, root, "bt"), mocoDir = exportSpec(moco, root, "moco");
  const fails = (dir: string, args: string[], pattern: RegExp) => {
    const r = spawnSync(PYTHON, [join(dir, "train.py"), ...args], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: "1" },
    });
    assert.equal(r.status, 2, `${args.join(" ")}: exit status ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, pattern);
  };
  // --out is checked before the data are loaded (the missing data folder would fail next)
  writeFileSync(join(root, "a-file"), "kept");
  const early = ["--steps", "1", "--data", join(root, "missing-folder")];
  fails(btDir, [...early, "--out", join(root, "a-file")], /^error: --out .*a-file: is a file, not a folder/);
  fails(btDir, [...early, "--out", join(root, "a-file", "run")], /^error: --out .*a-file\/run: .*a-file is a file/);
  assert.equal(readFileSync(join(root, "a-file"), "utf8"), "kept");
  const first = python([join(btDir, "train.py"), "--steps", "1", "--out", join(root, "bt-run")]);
  assert.match(first, /^bt\\x1b\[2J\\r\\nfake 'barlow/m);
  fails(
    mocoDir,
    ["--resume", join(root, "bt-run")],
    /written for spec hash [0-9a-f]+, but this program's spec hashes to [0-9a-f]+/,
  );
  fails(mocoDir, ["--batch", "24"], /--batch 24: queue 'keys' of 32 rows is not a multiple of the batch/);
  fails(btDir, ["--data", join(root, "missing-folder")], /missing-folder.*not a known name or an existing folder/);
  fails(btDir, ["--resume", join(root, "nothing-here")], /nothing-here\/checkpoint\.safetensors: file not found/);
  fails(
    btDir,
    ["--steps", "1", "--out", join(root, "bt-run")],
    /bt-run already holds a run \(checkpoint\.safetensors, metrics\.jsonl\)\. To continue it: --resume/,
  );
  assert.match(python([join(btDir, "train.py"), "--help"]), /--encoder-only FILE/);
});

/** Small data sets in every stored format the project reads: IDX (gzipped and not), CIFAR-10/100, PNG folders. */
function writeDataSets(root: string): string[] {
  const bytes = (n: number, seed: number, max = 256) => Uint8Array.from(rand(n, seed, 0, max), Math.floor);
  const idxFile = (dims: number[], data: Uint8Array) => {
    const head = new Uint8Array(4 + 4 * dims.length);
    head.set([0, 0, 8, dims.length]);
    dims.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d, false));
    return Uint8Array.from([...head, ...data]);
  };
  const idx = join(root, "idx");
  mkdirSync(idx);
  writeFileSync(join(idx, "train-images-idx3-ubyte.gz"), gzipSync(idxFile([7, 5, 6], bytes(7 * 30, 1))));
  writeFileSync(join(idx, "train-labels-idx1-ubyte"), idxFile([7], bytes(7, 2, 10)));
  writeFileSync(join(idx, "t10k-images-idx3-ubyte"), idxFile([2, 5, 6], bytes(60, 3)));
  writeFileSync(join(idx, "t10k-labels-idx1-ubyte"), idxFile([2], bytes(2, 4, 10)));
  const record = (labels: number[], seed: number) => Uint8Array.from([...labels, ...bytes(3072, seed)]);
  const c10 = join(root, "c10", "cifar-10-batches-bin");
  mkdirSync(c10, { recursive: true });
  writeFileSync(join(c10, "data_batch_1.bin"), Uint8Array.from([...record([3], 5), ...record([9], 6)]));
  writeFileSync(join(c10, "data_batch_2.bin"), record([0], 7));
  writeFileSync(join(c10, "test_batch.bin"), record([1], 8));
  const c100 = join(root, "c100");
  mkdirSync(c100);
  writeFileSync(join(c100, "train.bin"), Uint8Array.from([...record([4, 77], 9), ...record([19, 3], 10)]));
  writeFileSync(join(c100, "test.bin"), record([0, 1], 11));
  const folders = [];
  for (const [name, channels] of [["rgb", 3], ["gray", 1]] as const) {
    const dir = join(root, name);
    for (const [cls, count] of [["cat", 4], ["dog", 3]] as const) {
      mkdirSync(join(dir, cls), { recursive: true });
      for (let i = 0; i < count; i++) {
        writePng(join(dir, cls, `${i}.png`), {
          width: 5,
          height: 4,
          channels,
          data: bytes(20 * channels, 20 + i + count * channels),
        });
      }
    }
    folders.push(dir);
  }
  return [`mnist:${idx}`, `cifar10:${join(root, "c10")}`, `cifar100:${c100}`, ...folders];
}

Deno.test("torch export: the program reads IDX, CIFAR-10/100 and image folders as the project does", () => {
  requireTorch();
  const root = tempDir("data");
  const names = writeDataSets(root);
  runCases(root, names.map((name, i) => ({ kind: "data", name, out: join(root, `data${i}.safetensors`) })));
  names.forEach((name, i) => {
    const got = readTensors(join(root, `data${i}.safetensors`));
    const ref = loadDatasetSync(name).train;
    assert.deepEqual(got.images.shape, [ref.n, ref.c, ref.h, ref.w], `${name}: shape`);
    // the program converts bytes as the device gather does, f32(byte)·f32(1/255): ≤ 1 ulp from byte/255
    assert(maxAbsDiff(got.images.data, ref.images) <= 6e-8, `${name}: pixels`);
    assert.deepEqual(Array.from(got.labels.data), Array.from(ref.labels), `${name}: labels`);
  });
});

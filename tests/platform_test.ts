// The platform floor (platform/): the in-memory file store answers the core's file operations
// as node:fs does (results and error codes), paths and the spec hash match node's, a run trained
// with the in-memory store equals the same run on disk, the run folder of runMethod() ends up in
// the store (what a page offers for download), data sets read from bytes equal the same sets read
// from folders, and the autotune cache goes to the platform's key-value store.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { encode as encodePng } from "fast-png";
import { gzipSync } from "fflate";
import { type Files, memoryFiles } from "../platform/files.ts";
import { nodeFiles } from "../platform/node.ts";
import { usePlatform } from "../platform/current.ts";
import { memoryStore } from "../platform/store.ts";
import * as P from "../platform/path.ts";
import { sha256Hex } from "../dsl/sha256.ts";
import { canonicalJSON, specHash } from "../dsl/io.ts";
import { validateSpecStructure } from "../dsl/validate.ts";
import { FASHION_MNIST_DIR, loadDatasetSync } from "../data/load.ts";
import { loadDatasetFromBytes, type NamedBytes } from "../data/from_bytes.ts";
import type { Split } from "../data/dataset.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { readCache, writeCacheEntry } from "../runtime/autotune.ts";
import { NoAdapterError, openGpu } from "../runtime/device.ts";
import { readMetrics } from "../report/metrics.ts";
import { runMethod } from "../run/method_run.ts";
import { train } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** What each operation gives (a value, or the error's code), in order. */
function conformance(fs: Files, root: string): unknown[] {
  const at = (p: string) => root + p;
  fs.mkdir(root); // the test's folder: there already on disk
  const steps: (() => unknown)[] = [
    () => fs.mkdir(at("/a/b")) === at("/a"),
    () => fs.mkdir(at("/a/b")),
    () => fs.writeFile(at("/a/b/x.txt"), "hello"),
    () => fs.writeFile(at("/a/b/x.txt"), "again", { exclusive: true }),
    () => fs.writeFile(at("/a/b/y.bin"), [new Uint8Array([1, 2]), new Uint8Array([3])], { sync: true }),
    () => [...fs.readFile(at("/a/b/y.bin"))],
    () => fs.appendFile(at("/a/b/x.txt"), " world"),
    () => fs.readText(at("/a/b/x.txt")),
    () => fs.readdir(at("/a/b")),
    () => fs.readdir(at("/a/missing")),
    () => fs.readFile(at("/a/nope")),
    () => fs.readFile(at("/a/b")),
    () => fs.writeFile(at("/no/such/dir.txt"), "x"),
    () => fs.stat(at("/a/b/x.txt")).size,
    () => [fs.stat(at("/a/b")).isDirectory, fs.stat(at("/a/b/x.txt")).isFile],
    () => fs.stat(at("/gone")),
    () => [fs.exists(at("/a/b")), fs.exists(at("/a/b/x.txt")), fs.exists(at("/a/zz"))],
    () => fs.link(at("/a/b/x.txt"), at("/a/b/y.bin")),
    () => fs.link(at("/a/b/x.txt"), at("/a/b/z.txt")),
    () => fs.readText(at("/a/b/z.txt")),
    () => fs.rename(at("/a/b/z.txt"), at("/a/w.txt")),
    () => fs.readdir(at("/a")),
    () => fs.rmdir(at("/a")),
    () => fs.unlink(at("/a/w.txt")),
    () => fs.unlink(at("/a/w.txt")),
    () => fs.mkdir(at("/a/b/x.txt/c")),
    () => fs.syncDir(at("/a")),
  ];
  return steps.map((s) => {
    try {
      return s() ?? null;
    } catch (e) {
      return (e as { code?: string }).code ?? `no code: ${(e as Error).message}`;
    }
  });
}

Deno.test("the in-memory store answers the core's file operations as node:fs does", () => {
  const d = tmp("platform_test_");
  try {
    const want = conformance(nodeFiles, d);
    assert.deepEqual(conformance(memoryFiles(), "/m"), want);
    assert.deepEqual(conformance(memoryFiles(), "m"), want, "relative paths too");
    // the values that must be there (the comparison alone would pass if both were wrong)
    assert.deepEqual(want.slice(0, 4), [true, null, null, "EEXIST"]);
    assert.deepEqual(want.slice(7, 13), ["hello world", ["x.txt", "y.bin"], "ENOENT", "ENOENT", "EISDIR", "ENOENT"]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  const m = memoryFiles();
  m.addFile("runs/x/a.txt", new TextEncoder().encode("A"));
  m.addFile("./runs/y.txt", new Uint8Array([7]));
  assert.deepEqual(m.list("runs/x").map((f) => f.path), ["runs/x/a.txt"]);
  assert.deepEqual(m.list().map((f) => [f.path, [...f.bytes]]), [["runs/x/a.txt", [65]], ["runs/y.txt", [7]]]);
});

Deno.test("paths and the spec hash match node:path and node:crypto", async () => {
  const cases = ["a/b", "/a/b/", "a/../..", "./x", ".", "/", "a//b/./c/..", "../a", "/..", "runs/x/"];
  for (const c of cases) {
    assert.equal(P.normalize(c), posix.normalize(c), `normalize(${c})`);
    assert.equal(P.dirname(c), posix.dirname(c), `dirname(${c})`);
    assert.equal(P.basename(c), posix.basename(c), `basename(${c})`);
  }
  for (const parts of [["a", "b"], ["/x", "../y"], ["runs/", "m.jsonl"], ["", "a"], ["a", ""], ["out", "..", "c"]]) {
    assert.equal(P.join(...parts), posix.join(...parts), parts.join(","));
  }
  for (const t of ["", "abc", "é€😀", "x".repeat(55), "x".repeat(56), "y".repeat(64), "z".repeat(1000)]) {
    assert.equal(sha256Hex(t), createHash("sha256").update(t).digest("hex"), `${t.length} characters`);
  }
  // the spec hash recorded in checkpoints written before the change still matches
  const { spec } = await import("../pipelines/barlow.ts");
  const old = createHash("sha256").update(canonicalJSON(validateSpecStructure(spec))).digest("hex");
  assert.equal(specHash(spec), old);
});

/** SimCLR at test size on 160 synthetic images. */
function smallSpec() {
  return smallPipeline("simclr", { img: 16, batch: 16, steps: 6, warmup: 0 }, [], (s) => {
    s.epochs = 1;
    s.eval = { ...s.eval, knnK: 20, linearEpochs: 1 };
    s.data = { ...s.data, trainLimit: 160, testLimit: 32 };
  });
}

/** The checkpoint's tensors and metadata, the segments' wall-clock seconds left out. */
function checkpointContent(bytes: Uint8Array) {
  const d = tmp("platform_ck_");
  try {
    writeFileSync(join(d, "c.safetensors"), bytes);
    const { tensors, metadata } = readSafetensors(join(d, "c.safetensors"));
    const segments = JSON.parse(metadata.segments).map((s: { from: number; to: number }) => [s.from, s.to]);
    return {
      tensors: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, [t.shape, t.data]])),
      metadata: { ...metadata, segments },
    };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

Deno.test("a run trained with the in-memory files equals the run on disk; none of it touches the disk", async () => {
  const spec = await smallSpec();
  const d = tmp("platform_run_");
  const quiet = () => {};
  try {
    const onDisk = await train({ spec, out: join(d, "run"), logEvery: 1, log: quiet });
    onDisk.dispose();
    const mem = memoryFiles();
    const restore = usePlatform({ files: mem });
    let inMemory;
    try {
      inMemory = await train({ spec, out: join(d, "mem"), logEvery: 1, log: quiet });
      inMemory.dispose();
    } finally {
      restore();
    }
    assert.equal(onDisk.losses.length, 6);
    assert.deepEqual(inMemory.losses, onDisk.losses);
    assert.ok(!existsSync(join(d, "mem")), "the in-memory run wrote nothing to the disk");
    const names = mem.list().map((f) => P.basename(f.path));
    assert.deepEqual(names, ["checkpoint.safetensors", "metrics.jsonl"]);
    const memCk = mem.readFile(join(d, "mem", "checkpoint.safetensors"));
    const diskCk = readFileSync(join(d, "run", "checkpoint.safetensors"));
    // (not the byte length: the header records each segment's wall-clock seconds)
    assert.deepEqual(checkpointContent(memCk), checkpointContent(diskCk));
    const steps = (recs: Record<string, unknown>[]) => recs.map((r) => [r.step, r.loss]);
    const memMetrics = (() => {
      const r = usePlatform({ files: mem });
      try {
        return readMetrics(join(d, "mem", "metrics.jsonl"));
      } finally {
        r();
      }
    })();
    assert.deepEqual(steps(memMetrics), steps(readMetrics(join(d, "run", "metrics.jsonl"))));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("runMethod() with the in-memory files leaves the run folder's files in the store", async () => {
  const spec = await smallSpec();
  const mem = memoryFiles();
  const restore = usePlatform({ files: mem });
  try {
    const run = await runMethod({ spec, out: "runs/simclr", log: () => {} });
    run.dispose();
    assert.equal(run.status, "done");
    const files = mem.list("runs/simclr");
    assert.deepEqual(
      files.map((f) => f.path),
      ["checkpoint.safetensors", "correlation.png", "loss.svg", "metrics.jsonl", "report.json"].map((f) =>
        `runs/simclr/${f}`
      ),
    );
    const report = JSON.parse(new TextDecoder().decode(files.find((f) => f.path.endsWith("report.json"))!.bytes));
    assert.equal(report.steps, 6);
    assert.deepEqual(report, run.report);
    const png = files.find((f) => f.path.endsWith(".png"))!.bytes;
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "correlation.png is a PNG");
  } finally {
    restore();
  }
  assert.ok(!existsSync("runs/simclr/run.lock"));
});

/** Every file under `dir` as {name, bytes}, names relative to `dir`. */
function namedBytes(dir: string, sub = ""): NamedBytes[] {
  const out: NamedBytes[] = [];
  for (const name of nodeFiles.readdir(join(dir, sub))) {
    const rel = sub ? `${sub}/${name}` : name;
    if (nodeFiles.stat(join(dir, rel)).isDirectory) out.push(...namedBytes(dir, rel));
    else out.push({ name: rel, bytes: nodeFiles.readFile(join(dir, rel)) });
  }
  return out;
}

const content = (s: Split) =>
  [s.train, s.test].map((d) => ({ images: d.images, labels: d.labels, classNames: d.classNames }));

Deno.test("data sets read from bytes equal the same sets read from their folders", () => {
  const d = tmp("platform_data_");
  try {
    // IDX, gzipped and not
    const idx = (dims: number[], f: (i: number) => number) => {
      const n = dims.reduce((a, b) => a * b, 1);
      const b = new Uint8Array(4 + 4 * dims.length + n);
      b.set([0, 0, 8, dims.length]);
      dims.forEach((x, i) => new DataView(b.buffer).setUint32(4 + 4 * i, x));
      for (let i = 0; i < n; i++) b[4 + 4 * dims.length + i] = f(i) & 255;
      return b;
    };
    mkdirSync(join(d, "idx"));
    writeFileSync(join(d, "idx", "train-images-idx3-ubyte.gz"), gzipSync(idx([6, 4, 4], (i) => i * 7)));
    writeFileSync(join(d, "idx", "train-labels-idx1-ubyte"), idx([6], (i) => i % 3));
    writeFileSync(join(d, "idx", "t10k-images-idx3-ubyte"), idx([3, 4, 4], (i) => i * 5));
    writeFileSync(join(d, "idx", "t10k-labels-idx1-ubyte.gz"), gzipSync(idx([3], (i) => i)));
    // CIFAR-10: label byte, then 3072 pixels
    mkdirSync(join(d, "cifar"));
    const records = (labels: number[], seed: number) => {
      const b = new Uint8Array(labels.length * 3073);
      labels.forEach((l, r) => {
        b[r * 3073] = l;
        for (let p = 0; p < 3072; p++) b[r * 3073 + 1 + p] = (r * 31 + p + seed) & 255;
      });
      return b;
    };
    writeFileSync(join(d, "cifar", "data_batch_1.bin"), records([0, 1, 2, 3], 0));
    writeFileSync(join(d, "cifar", "data_batch_2.bin"), records([4, 5], 9));
    writeFileSync(join(d, "cifar", "test_batch.bin"), records([6, 7], 5));
    // an image folder: classes from the sub-folders' names
    for (const c of ["cat", "dog"]) {
      mkdirSync(join(d, "img", c), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const data = Uint8Array.from({ length: 5 * 4 * 3 }, (_, k) => (k * 13 + i * 40 + (c === "cat" ? 0 : 99)) & 255);
        writeFileSync(join(d, "img", c, `${i}.png`), encodePng({ width: 5, height: 4, data, channels: 3, depth: 8 }));
      }
    }
    const cases: [string, string, Record<string, unknown>][] = [
      ["idx", "mnist", {}],
      ["idx", "", {}],
      ["cifar", "cifar10", {}],
      ["img", "", { testFraction: 0.34 }],
    ];
    for (const [dir, kind, opts] of cases) {
      const fromFiles = loadDatasetSync(kind ? `${kind}:${join(d, dir)}` : join(d, dir), opts);
      const fromBytes = loadDatasetFromBytes(namedBytes(join(d, dir)), kind, opts);
      assert.deepEqual(content(fromBytes), content(fromFiles), `${dir} (${kind || "detected"})`);
      assert.ok(fromFiles.train.labels.length > 0);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  if (existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"))) {
    const opts = { trainLimit: 500, testLimit: 100 };
    const fromFiles = loadDatasetSync("fashion-mnist", opts);
    const fromBytes = loadDatasetFromBytes(namedBytes(FASHION_MNIST_DIR), "fashion-mnist", opts);
    assert.deepEqual(content(fromBytes), content(fromFiles));
    assert.equal(fromBytes.train.classNames?.[9], "Ankle boot");
  }
  const synth = { synthetic: { train: 8, test: 4, seed: 2 } };
  assert.deepEqual(content(loadDatasetFromBytes([], "synthetic", synth)), content(loadDatasetSync("synthetic", synth)));
  assert.throws(() => loadDatasetFromBytes([], "mnist"), /no data files were given/);
});

Deno.test("the autotune cache goes to the platform's key-value store", () => {
  const store = memoryStore();
  const restore = usePlatform({ store });
  try {
    writeCacheEntry("k1", { variant: "t4x4", ms: { t4x4: 1.5 }, at: "test" }, "cache/tune.json");
    assert.deepEqual(readCache("cache/tune.json").entries.k1.variant, "t4x4");
    assert.deepEqual([...store.entries.keys()], ["cache/tune.json"]);
    assert.ok(!existsSync("cache/tune.json"));
  } finally {
    restore();
  }
});

/** A GPU object whose only adapter is a compatibility-mode one (as some browsers offer), recording what is asked. */
function compatibilityOnlyGpu() {
  const asked: { adapter: unknown[]; device?: GPUDeviceDescriptor } = { adapter: [] };
  const limits = {
    maxStorageBufferBindingSize: 128 * 2 ** 20,
    maxBufferSize: 256 * 2 ** 20,
    maxComputeWorkgroupStorageSize: 16384,
    maxComputeInvocationsPerWorkgroup: 128,
    maxComputeWorkgroupSizeX: 128,
    maxComputeWorkgroupSizeY: 128,
    maxStorageBuffersPerShaderStage: 4,
    maxComputeWorkgroupsPerDimension: 65535,
  };
  const adapter = {
    features: new Set(["timestamp-query", "depth-clip-control"]),
    limits,
    info: { vendor: "v", architecture: "arch", device: "", description: "a compat adapter" },
    requestDevice(d: GPUDeviceDescriptor) {
      asked.device = d;
      return Promise.resolve({ limits, addEventListener() {}, lost: new Promise(() => {}) });
    },
  };
  const gpu = {
    requestAdapter(o: { featureLevel?: string } = {}) {
      asked.adapter.push(o);
      return Promise.resolve(o.featureLevel === "compatibility" ? adapter : null);
    },
  } as unknown as GPU;
  return { gpu, asked, limits };
}

Deno.test("openGpu takes a compatibility-mode adapter with its real limits and says which features it has", async () => {
  const { gpu, asked, limits } = compatibilityOnlyGpu();
  const g = await openGpu(gpu);
  assert.deepEqual(asked.adapter, [{ powerPreference: "high-performance" }, { featureLevel: "compatibility" }]);
  assert.equal(g.compatibility, true);
  assert.deepEqual(g.features, { subgroups: false, f16: false, timestamps: true, tensorCores: false });
  assert.deepEqual(asked.device?.requiredFeatures, ["timestamp-query"]);
  assert.deepEqual(asked.device?.requiredLimits, limits);
  assert.equal(g.description, "a compat adapter / arch");
  // no adapter at all: NoAdapterError (exit status 2), not a TypeError from deep inside
  const none = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(openGpu(none), (e: Error) => e instanceof NoAdapterError && /No WebGPU adapter/.test(e.message));
});

// The feature tools (tools/neighbours.ts, tools/anomaly.ts, tools/compare.ts, tools/cluster.ts) and their evaluation
// core: GPU nearest neighbours held to a float64 host reference, known answers for the retrieval,
// anomaly and change scores, and the tools run end to end on a checkpoint of a few steps.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { concatDatasets, type Dataset } from "../data/dataset.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { checkpointEncoder } from "../eval/checkpoint_encoder.ts";
import { spaceFeatures, SPACES } from "../eval/feature_spaces.ts";
import { imageGrid, writePng } from "../report/png.ts";
import { FlagError } from "../dsl/flags.ts";
import { anomalyTable, parseAnomalyArgs } from "../tools/anomaly.ts";
import { benchmark, parseCompareArgs } from "../tools/compare.ts";
import { knnAnomalyScores, oneClassAnomaly } from "../eval/anomaly.ts";
import { calibrateThreshold, pairDistances } from "../eval/change.ts";
import { changePairs } from "../eval/change_pairs.ts";
import type { FeatureSet } from "../eval/features.ts";
import { nearest, nearestReference } from "../eval/nearest.ts";
import { retrievalScores } from "../eval/retrieval_scores.ts";
import { train } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";
import { rand } from "./util/check.ts";
import { getGpu } from "../runtime/device.ts";
import { parseNeighboursArgs, pickQueries } from "../tools/neighbours.ts";
import { centralMembers, parseClusterArgs } from "../tools/cluster.ts";

const tmp = () => Deno.makeTempDirSync({ prefix: "features_tools_test_" });

/** Rows drawn at random, so no two similarities tie. */
function randomRows(n: number, dim: number, seed: number) {
  return { data: Float32Array.from(rand(n * dim, seed)), n, dim };
}

Deno.test("nearest: GPU top-k over a bank in parts equals the float64 reference", async () => {
  const gpu = await getGpu();
  const bank = randomRows(70, 9, 1), queries = randomRows(13, 9, 2);
  const want = nearestReference(bank, queries, 5);
  // three uneven parts and chunks that leave a padded last chunk
  const got = await nearest(bank, queries, 5, { gpu, partRows: 25, chunk: 4 });
  assert.deepEqual(Array.from(got.indices), Array.from(want.indices));
  for (let i = 0; i < got.sims.length; i++) assert.ok(Math.abs(got.sims[i] - want.sims64[i]) < 1e-5, `sim ${i}`);
  // whole bank: k = n
  const all = await nearest(bank, queries, 70, { gpu });
  assert.deepEqual(Array.from(all.indices), Array.from(nearestReference(bank, queries, 70).indices));
});

Deno.test("nearest: bad input is named", async () => {
  const bank = randomRows(4, 3, 1), q = randomRows(2, 3, 2);
  await assert.rejects(() => nearest(bank, q, 5), /nearest: k = 5 must be an integer in \[1, 4\]/);
  await assert.rejects(() => nearest(bank, randomRows(2, 4, 1), 1), /bank rows have dim 3, queries 4/);
});

/** Two tight clusters per class along separate axes: every class is separable from the rest. */
function clustered(perClass: number, classes: number, dim: number, seed: number): FeatureSet {
  const n = perClass * classes, data = new Float32Array(n * dim), labels = new Int32Array(n);
  const noise = rand(n * dim, seed, -0.05, 0.05);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < dim; j++) data[i * dim + j] = (j === labels[i] ? 1 : 0) + noise[i * dim + j];
  }
  return { data, labels, n, dim, classes };
}

Deno.test("retrieval: separable classes give precision@k = MAP@R = 1; shuffled labels do not", async () => {
  const gpu = await getGpu();
  const bank = clustered(6, 3, 4, 1), queries = clustered(2, 3, 4, 2);
  const r = await retrievalScores(bank, queries, 4, { gpu });
  assert.equal(r.precisionAtK, 1);
  assert.equal(r.mapAtR, 1);
  assert.equal(r.neighbours.indices.length, queries.n * 4);
  // the bank's labels rotated: the nearest items are now of another class
  const wrong = { ...bank, labels: bank.labels.map((l) => (l + 1) % 3) };
  const w = await retrievalScores(wrong, queries, 4, { gpu });
  assert.equal(w.precisionAtK, 0);
  assert.equal(w.mapAtR, 0);
  await assert.rejects(() => retrievalScores(bank, queries, 19, { gpu }), /k = 19 must be an integer in \[1, 18\]/);
});

Deno.test("anomaly: kNN scores equal the float64 reference; separable classes give AUROC 1", async () => {
  const gpu = await getGpu();
  const normal = randomRows(30, 6, 3), test = randomRows(11, 6, 4);
  const got = await knnAnomalyScores(normal, test, 2, { gpu });
  const ref = nearestReference(normal, test, 2);
  for (let q = 0; q < test.n; q++) {
    const want = ((1 - ref.sims64[2 * q]) + (1 - ref.sims64[2 * q + 1])) / 2;
    assert.ok(Math.abs(got[q] - want) < 1e-5, `score ${q}: ${got[q]} vs ${want}`);
  }
  const train = clustered(5, 3, 4, 5), tst = clustered(3, 3, 4, 6);
  const all = await oneClassAnomaly(train, tst, { gpu });
  assert.deepEqual(all.perClass, [1, 1, 1]);
  assert.equal(all.mean, 1);
  // a subset of classes is scored the same way
  const some = await oneClassAnomaly(train, tst, { gpu, classes: [2] });
  assert.deepEqual(some.perClass, [1]);
  // features that carry no class (all rows equal up to noise that ignores the class): AUROC away from 1
  const flat = { ...tst, data: Float32Array.from(rand(tst.n * 4, 7, 0.9, 1)) };
  assert.ok((await oneClassAnomaly(train, flat, { gpu })).mean < 0.9);
  await assert.rejects(
    () => oneClassAnomaly(train, tst, { gpu, classes: [3] }),
    /class 3 does not exist \(the data has classes 0\.\.2\)/,
  );
  await assert.rejects(
    () => oneClassAnomaly(train, tst, { gpu, k: 6 }),
    /class 0 has 5 training images, fewer than k = 6/,
  );
});

Deno.test("change: pair distances and the calibrated threshold", () => {
  const a = { data: Float32Array.from([1, 0, 0, 1, 1, 1]), n: 3, dim: 2 };
  const b = { data: Float32Array.from([2, 0, 1, 0, -1, -1]), n: 3, dim: 2 };
  const d = pairDistances(a, b);
  assert.deepEqual(Array.from(d, (x) => Math.round(x * 1e12) / 1e12), [0, 1, 2]);
  assert.throws(
    () => pairDistances(a, { ...b, n: 2, data: b.data.slice(0, 4) }),
    /3 rows against 2; the pair lists must match/,
  );
  // separable: the threshold falls between the groups and classifies everything right
  assert.deepEqual(calibrateThreshold([0.1, 0.2, 0.6, 0.9], [0, 0, 1, 1]), { threshold: 0.4, accuracy: 1 });
  // one unchanged pair far out: the best threshold still splits the bulk
  const t = calibrateThreshold([0.1, 0.2, 0.6, 0.9, 0.95], [0, 0, 1, 1, 0]);
  assert.equal(t.threshold, 0.4);
  assert.equal(t.accuracy, 0.8);
  assert.throws(() => calibrateThreshold([0.1], [2]), /label 2 of pair 0 is not 0 or 1/);
});

Deno.test("change pairs: unchanged pairs an image with itself, the others with its own class or another", () => {
  const labels = Int32Array.from([0, 1, 0, 1, 2, 2, 0]);
  const [same, sameClass, otherClass] = changePairs(labels, 3);
  assert.deepEqual(Array.from(same.a), Array.from(same.b));
  for (let i = 0; i < sameClass.a.length; i++) {
    assert.notEqual(sameClass.a[i], sameClass.b[i]);
    assert.equal(labels[sameClass.a[i]], labels[sameClass.b[i]]);
  }
  for (let i = 0; i < otherClass.a.length; i++) assert.notEqual(labels[otherClass.a[i]], labels[otherClass.b[i]]);
  assert.equal(sameClass.a.length, 7);
  assert.throws(() => changePairs(Int32Array.from([1, 1]), 0), /the test set has one class/);
});

Deno.test("neighbours: seeded query picks are distinct and reproducible; without a seed the first ones", () => {
  assert.deepEqual(pickQueries(3, 10), [0, 1, 2]);
  const p = pickQueries(10, 10, 4);
  assert.deepEqual([...p].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(pickQueries(4, 10, 4), p.slice(0, 4));
  assert.notDeepEqual(pickQueries(4, 10, 4), [0, 1, 2, 3]);
});

// ---- the tools, end to end, on a checkpoint of a few steps ----

const deno = Deno.execPath();
/** synthetic data as the tools load it (--data synthetic: 16 px, 1 channel, 4 classes) */
const IMG = 16;
let runDir: Promise<string> | undefined;

/** A SimCLR run of 4 steps on synthetic images, made once for all tool tests. */
function smallRun(): Promise<string> {
  runDir ??= (async () => {
    const spec = await smallPipeline("simclr", { img: IMG, batch: 16, steps: 4, warmup: 0.5 });
    const out = join(tmp(), "run");
    const data = makeSynthetic({ train: 64, test: 32, size: IMG });
    const r = await train({ spec, out, data, logEvery: 1, log: () => {} });
    r.exec.destroy();
    return out;
  })();
  return runDir;
}

async function tool(name: string, args: string[]) {
  const r = await new Deno.Command(deno, {
    args: ["run", "-A", "--no-check", `tools/${name}.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

const LIMITS = ["--data", "synthetic", "--train-limit", "48", "--test-limit", "24"];

Deno.test("tools/neighbours.ts: sheet and report.json for three feature spaces; bad input exits 2 with nothing written", async () => {
  const run = await smallRun(), dir = tmp(), png = join(dir, "grid.png");
  const r = await tool("neighbours", [
    ...["--checkpoint", run, "--data", "synthetic", "--bank-limit", "48", "--test-limit", "24"],
    ...["--k", "5", "--queries", "3", "--out", png],
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  assert.deepEqual(Object.keys(rep.spaces), ["trained", "random", "pixels"]);
  assert.equal(rep.bank, 48);
  assert.equal(rep.queries, 24);
  for (const s of Object.values(rep.spaces) as { precisionAtK: number; mapAtR: number }[]) {
    assert.ok(s.precisionAtK >= 0 && s.precisionAtK <= 1 && s.mapAtR >= 0 && s.mapAtR <= 1);
  }
  assert.deepEqual(rep.sheet.queries, [0, 1, 2]);
  assert.equal(rep.sheet.neighbours[0].length, 5);
  assert.deepEqual(Array.from(readFileSync(png).subarray(1, 4)), [0x50, 0x4e, 0x47]);

  const bad = join(tmp(), "bad.png");
  const tooMany = await tool("neighbours", ["--checkpoint", run, "--bank-limit", "8", "--k", "9", "--out", bad]);
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.err, /--k: 9 is more than the 8 training images/);
  const queries = await tool("neighbours", ["--checkpoint", run, "--test-limit", "4", "--queries", "5", "--out", bad]);
  assert.equal(queries.code, 2);
  assert.match(queries.err, /--queries: 5 is more than the 4 test images/);
  assert.ok(!existsSync(bad) && !existsSync(join(dirname(bad), "report.json")));
});

Deno.test("tools/anomaly.ts: per-class AUROC for three feature spaces; a class that does not exist exits 2", async () => {
  const run = await smallRun(), dir = join(tmp(), "anomaly");
  const r = await tool("anomaly", ["--checkpoint", run, ...LIMITS, "--classes", "0,3", "--out", dir]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  assert.deepEqual(rep.classes, [0, 3]);
  assert.equal(rep.k, 2);
  for (const s of Object.values(rep.spaces) as { perClass: number[]; mean: number }[]) {
    assert.equal(s.perClass.length, 2);
    assert.ok(Math.abs(s.mean - (s.perClass[0] + s.perClass[1]) / 2) < 1e-12);
  }
  assert.match(readFileSync(join(dir, "report.md"), "utf8"), /\| trained \|/);

  const none = join(tmp(), "none");
  const badClass = await tool("anomaly", ["--checkpoint", run, ...LIMITS, "--classes", "7", "--out", none]);
  assert.equal(badClass.code, 2);
  assert.match(badClass.err, /--classes: class 7 does not exist \(the data has classes 0\.\.3\)/);
  const badK = await tool("anomaly", ["--checkpoint", run, ...LIMITS, "--k", "40", "--out", none]);
  assert.equal(badK.code, 2);
  assert.match(badK.err, /--k: class 0 has 12 training images, fewer than k = 40/);
  assert.ok(!existsSync(none));
});

Deno.test("tools/cluster.ts: accuracy, NMI and ARI of k-means for three feature spaces; bad k exits 2", async () => {
  const run = await smallRun(), dir = join(tmp(), "cluster");
  const r = await tool("cluster", [
    ...["--checkpoint", run, "--data", "synthetic", "--test-limit", "24", "--restarts", "2", "--out", dir],
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  assert.deepEqual(Object.keys(rep.spaces), ["trained", "random", "pixels"]);
  // k defaults to the data's classes; the test split is what is clustered
  assert.deepEqual([rep.k, rep.split, rep.images, rep.restarts], [4, "test", 24, 2]);
  for (const s of Object.values(rep.spaces) as Record<string, number & number[]>[]) {
    // 24 images in 4 clusters: the best matching gets at least the largest cluster's ¼ right
    assert.ok(s.accuracy >= 0.25 && s.accuracy <= 1 && s.nmi >= 0 && s.nmi <= 1 && s.ari <= 1);
    assert.equal(s.clusterSizes.reduce((a: number, b: number) => a + b, 0), 24);
    assert.equal(s.restartInertias.length, 2);
    assert.equal(s.inertia, Math.min(...s.restartInertias));
  }
  assert.match(readFileSync(join(dir, "report.md"), "utf8"), /\| pixels \| [01]\.\d{4} \|/);
  // the sheet: one row per cluster, largest first, each row's images members of that cluster
  assert.equal(rep.sheet.clusters.length, 4);
  assert.deepEqual(
    rep.sheet.images.map((r: number[]) => r.length),
    rep.spaces.trained.clusterSizes.map((z: number) => Math.min(z, 8)),
  );
  assert.deepEqual(Array.from(readFileSync(join(dir, "clusters.png")).subarray(1, 4)), [0x50, 0x4e, 0x47]);

  const none = join(tmp(), "none");
  const cases: [string[], RegExp][] = [
    [["--k", "1"], /--k: expected an integer ≥ 2, got '1'/],
    [["--k", "25"], /--k: 25 clusters are more than the 24 test images/],
    [["--kk", "3"], /--kk: unknown flag; did you mean --k\?/],
    [["--tol", "1"], /--tol: expected a number in \[0, 1\)/],
    // by default the training split is not clustered, so it has no limit to set
    [["--train-limit", "8"], /--train-limit: only with --split all/],
    [["--split", "train"], /--split: expected test or all, got 'train'/],
    [
      ["--split", "all", "--train-limit", "8", "--k", "33"],
      /--k: 33 clusters are more than the 32 training and test images/,
    ],
  ];
  // a checkpoint that is not there is the user's mistake too
  const missing = await tool("cluster", ["--checkpoint", join(none, "run"), "--out", none]);
  assert.equal(missing.code, 2, missing.err);
  assert.match(missing.err, /none\/run\/checkpoint\.safetensors: file not found/);
  for (const [args, want] of cases) {
    const e = await tool("cluster", [
      "--checkpoint",
      run,
      "--data",
      "synthetic",
      "--test-limit",
      "24",
      ...args,
      "--out",
      none,
    ]);
    assert.equal(e.code, 2, `${args}: ${e.err}`);
    assert.match(e.err, want);
  }
  assert.ok(!existsSync(none));
});

Deno.test("tools/cluster.ts --split all: the training images, then the test images, clustered together", async () => {
  const run = await smallRun(), dir = join(tmp(), "cluster-all");
  const r = await tool("cluster", [
    ...["--checkpoint", run, "--data", "synthetic", "--split", "all", "--train-limit", "20", "--test-limit", "12"],
    ...["--restarts", "1", "--out", dir],
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  assert.deepEqual([rep.split, rep.images], ["all", 32]);
  for (const s of Object.values(rep.spaces) as { clusterSizes: number[] }[]) {
    assert.equal(s.clusterSizes.reduce((a, b) => a + b, 0), 32);
  }
  assert.match(readFileSync(join(dir, "report.md"), "utf8"), /on the 32 training and test images of /);
});

Deno.test("concatDatasets: images and labels in order; other shapes refused", () => {
  const ds = (name: string, n: number, c = 1) => ({
    name,
    n,
    c,
    h: 1,
    w: 2,
    classes: 3,
    images: Float32Array.from({ length: n * c * 2 }, (_, i) => i),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
  });
  const j = concatDatasets(ds("a", 2), ds("b", 1));
  assert.deepEqual([j.name, j.n, Array.from(j.images), Array.from(j.labels)], ["a+b", 3, [0, 1, 2, 3, 0, 1], [
    0,
    1,
    0,
  ]]);
  assert.throws(() => concatDatasets(ds("a", 2), ds("b", 1, 3)), /cannot be joined: the image shapes and the classes/);
});

Deno.test("tools/cluster.ts sheet rows: clusters largest first, members nearest their centre first", () => {
  const x = Float32Array.from([0, 1, 3, 10, 11, 20]);
  const r = {
    centroids: Float64Array.from([20, 4 / 3, 10.5]),
    assignment: Int32Array.from([1, 1, 1, 2, 2, 0]),
    inertia: 0,
    iterations: 1,
    restartInertias: [0],
  };
  // cluster 1 (3 points) first, then 2 (10 and 11 tie at 0.5 from 10.5: lower index first), then 0
  assert.deepEqual(centralMembers(x, 1, r, 2), { clusters: [1, 2, 0], images: [[1, 0], [3, 4], [5]] });
});

/** Images i of `ds` as PNG files `names[k]` in `dir`. */
function writeImages(dir: string, ds: Dataset, idx: number[], names: string[]) {
  mkdirSync(dir, { recursive: true });
  const per = ds.c * ds.h * ds.w;
  idx.forEach((i, k) => {
    writePng(
      join(dir, names[k]),
      imageGrid(ds.images.subarray(i * per, (i + 1) * per), 1, ds.c, ds.h, ds.w, { pad: 0 }),
    );
  });
}

Deno.test("compare benchmark: with views that change nothing, pixels tell every changed pair apart (AUROC 1)", async () => {
  const gpu = await getGpu();
  const ck = checkpointEncoder(await smallRun());
  ck.spec = structuredClone(ck.spec);
  for (const v of ck.spec.views) v.aug = {};
  const test = makeSynthetic({ train: 4, test: 24, size: IMG }).test;
  const b = await benchmark(gpu, ck, test, 0);
  assert.ok(b.spaces.pixels.unchangedMeanDistance < 1e-6);
  assert.equal(b.spaces.pixels.sameClass.auroc, 1);
  assert.equal(b.spaces.pixels.otherClass.auroc, 1);
  assert.equal(b.spaces.pixels.sameClass.pairs, 24);
  assert.equal(b.trained.distances.length, 72);
  assert.equal(b.trained.changed.filter((c) => c === 1).length, 48);
});

Deno.test("tools/compare.ts: folders matched by name, calibrated on a CSV; mismatches and empty folders exit 2", async () => {
  const run = await smallRun(), dir = tmp();
  const test = makeSynthetic({ train: 4, test: 8, size: IMG }).test;
  const names = ["x.png", "y.png", "z.png"];
  writeImages(join(dir, "A"), test, [0, 1, 2], names);
  // B: x is the same image, y and z other images
  writeImages(join(dir, "B"), test, [0, 5, 6], names);
  writeFileSync(
    join(dir, "pairs.csv"),
    "a,b,changed\nA/x.png,B/x.png,0\nA/y.png,A/y.png,0\nA/x.png,B/y.png,1\nA/z.png,B/z.png,1\n",
  );
  const report = join(dir, "out.json");
  const r = await tool("compare", [
    join(dir, "A"),
    join(dir, "B"),
    ...["--checkpoint", run, "--data", "synthetic", "--test-limit", "16"],
    ...["--calibrate", join(dir, "pairs.csv"), "--report", report],
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(report, "utf8"));
  assert.equal(rep.threshold.accuracy, 1, "identical pairs at distance 0 split from changed ones");
  assert.deepEqual(rep.pairs.map((p: { a: string }) => p.a.split("/").pop()), names);
  assert.ok(rep.pairs[0].distance < 1e-6);
  assert.equal(rep.pairs[0].changed, false);
  assert.deepEqual(Object.keys(rep.benchmark), ["trained", "random", "pixels"]);
  assert.match(r.out, /x\.png\t.*\t0\.0000\d\d\tunchanged/);

  writeImages(join(dir, "C"), test, [0], ["other.png"]);
  mkdirSync(join(dir, "empty"));
  writeFileSync(join(dir, "one.txt"), "A/x.png\n");
  writeFileSync(join(dir, "two.txt"), "A/x.png\nA/y.png\n");
  writeImages(join(dir, "D"), test, [0], ["x.png"]);
  writeFileSync(join(dir, "D", "y.png"), "not an image");
  writeImages(join(dir, "E"), test, [0, 1], ["x.png", "y.png"]);
  const cases: [string[], RegExp][] = [
    [
      [join(dir, "A"), join(dir, "C")],
      /do not match by file name: .*A alone has x\.png, y\.png, z\.png; .*C alone has other\.png/,
    ],
    [[join(dir, "A"), join(dir, "empty")], /empty: no images \(PNG or JPEG\) in the folder/],
    [[join(dir, "one.txt"), join(dir, "two.txt")], /the lists do not match: .*one\.txt names 1 images, .*two\.txt 2/],
    [[join(dir, "A")], /give two folders or lists A B to compare, or none/],
    [[join(dir, "D"), join(dir, "E")], /D\/y\.png: /],
    [
      [join(dir, "two.txt"), join(dir, "two.txt"), "--calibrate", join(dir, "D", "y.png")],
      /y\.png: line 1 "not an image" is not a,b,changed/,
    ],
  ];
  for (const [args, want] of cases) {
    const bad = join(dir, "bad.json");
    const e = await tool("compare", [...args, "--checkpoint", run, "--report", bad]);
    assert.equal(e.code, 2, `${args}: ${e.err}`);
    assert.match(e.err, want);
    assert.ok(!existsSync(bad));
  }
});

Deno.test("tools/neighbours.ts: a test class with no training image in the bank exits 2, naming --bank-limit", async () => {
  const run = await smallRun(), png = join(tmp(), "grid.png");
  // synthetic labels go round the classes: 2 training images hold classes 0 and 1 only
  const r = await tool("neighbours", [
    "--checkpoint",
    run,
    "--bank-limit",
    "2",
    "--k",
    "1",
    "--queries",
    "1",
    "--out",
    png,
  ]);
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /test images of class 2 have no training image of their class among the 2 loaded \(raise --bank-limit\)/,
  );
  assert.ok(!existsSync(png));
});

Deno.test("feature tools' flags: defaults, required flags, bad values named", () => {
  const flagError = (f: () => unknown, want: RegExp) =>
    assert.throws(f, (e: Error) => e instanceof FlagError && want.test(e.message));
  assert.deepEqual(parseNeighboursArgs(["--checkpoint", "r", "--out", "g.png"]), {
    checkpoint: "r",
    out: "g.png",
    data: undefined,
    k: 8,
    queries: 16,
    seed: undefined,
    bankLimit: undefined,
    testLimit: undefined,
    scale: 3,
  });
  flagError(
    () => parseNeighboursArgs(["--checkpoint", "r", "--out", "g.json"]),
    /--out: g\.json: the sheet is a PNG file/,
  );
  flagError(() => parseNeighboursArgs(["--out", "g.png"]), /--checkpoint: required \(usage: tools\/neighbours\.ts/);
  flagError(() => parseNeighboursArgs(["--checkpoint", "r", "--out", "g.png", "--k", "0"]), /--k/);
  const an = parseAnomalyArgs(["--checkpoint", "r", "--out", "d", "--classes", "0,3"]);
  assert.ok(an !== "help");
  assert.deepEqual([an.classes, an.k], [[0, 3], 2]);
  flagError(() => parseAnomalyArgs(["--checkpoint", "r", "--out", "d", "--classes", "0,x"]), /--classes/);
  flagError(() => parseAnomalyArgs(["--checkpoint", "r", "--out", "d", "--classes", "0,,1"]), /--classes/);
  assert.deepEqual(parseClusterArgs(["--checkpoint", "r", "--out", "d"]), {
    checkpoint: "r",
    out: "d",
    data: undefined,
    k: undefined,
    restarts: 5,
    seed: 0,
    iters: 300,
    tol: 0,
    split: "test",
    trainLimit: undefined,
    testLimit: undefined,
  });
  flagError(() => parseClusterArgs(["--checkpoint", "r"]), /--out: required \(usage: tools\/cluster\.ts/);
  flagError(() => parseClusterArgs(["--checkpoint", "r", "--out", "d", "--restarts", "0"]), /--restarts/);
  flagError(() => parseClusterArgs(["--checkpoint", "r", "--out", "d", "--seed", "4294967296"]), /--seed/);
  const cmp = parseCompareArgs(["A", "B", "--checkpoint", "r"]);
  assert.ok(cmp !== "help");
  assert.deepEqual([cmp.a, cmp.b, cmp.seed, cmp.calibrate], ["A", "B", 0, undefined]);
  flagError(() => parseCompareArgs(["A", "B", "C", "--checkpoint", "r"]), /give two folders or lists A B/);
  flagError(() => parseCompareArgs(["--checkpoint", "r", "--report", "x.txt"]), /--report: x\.txt: name it \*\.json/);
});

Deno.test("tools/compare.ts: without --calibrate the threshold comes from the built-in test-set pairs", async () => {
  const run = await smallRun(), dir = tmp();
  const test = makeSynthetic({ train: 4, test: 8, size: IMG }).test;
  writeImages(join(dir, "A"), test, [0, 1], ["p.png", "q.png"]);
  writeImages(join(dir, "B"), test, [0, 1], ["p.png", "q.png"]);
  writeFileSync(join(dir, "a.txt"), "A/p.png\nA/q.png\n");
  writeFileSync(join(dir, "b.txt"), "B/q.png\nB/p.png\n");
  const report = join(dir, "r.json");
  const r = await tool("compare", [
    join(dir, "a.txt"),
    join(dir, "b.txt"),
    ...["--checkpoint", run, "--data", "synthetic", "--test-limit", "16", "--report", report],
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(readFileSync(report, "utf8"));
  assert.equal(rep.threshold.from, "the built-in pairs of synthetic/test");
  // lists pair in order: p with q and q with p, the same distance both ways
  assert.equal(rep.pairs[0].b.split("/").pop(), "q.png");
  assert.ok(Math.abs(rep.pairs[0].distance - rep.pairs[1].distance) < 1e-6);
  assert.ok(rep.pairs[0].distance > 0);
  for (const kind of ["sameClass", "otherClass"]) assert.equal(rep.benchmark.pixels[kind].pairs, 16);
});

Deno.test("tools/anomaly.ts table: one row per feature space, the classes by number and name, then the mean", () => {
  const t = anomalyTable({
    data: "d",
    k: 2,
    classes: [0, 3],
    classNames: ["cat", "dog"],
    spaces: { trained: { perClass: [1, 0.5], mean: 0.75 }, pixels: { perClass: [0.25, 0.5], mean: 0.375 } },
  });
  const lines = t.trim().split("\n");
  assert.match(lines[0], /\| features \| 0 cat \| 3 dog \| mean \|/);
  assert.match(lines[2], /\| trained \| 1\.0000 \| 0\.5000 \| 0\.7500 \|/);
  assert.match(lines[3], /\| pixels \| 0\.2500 \| 0\.5000 \| 0\.3750 \|/);
});

Deno.test("feature spaces: trained weights, the seed's initialisation, and the pixels themselves", async () => {
  const gpu = await getGpu();
  const ck = checkpointEncoder(await smallRun());
  const ds = makeSynthetic({ train: 4, test: 6, size: IMG }).test;
  const [trained, random, pixels] = await Promise.all(SPACES.map((s) => spaceFeatures(gpu, ck, s, ds)));
  assert.deepEqual(SPACES, ["trained", "random", "pixels"]);
  assert.equal(pixels.data, ds.images);
  assert.equal(trained.dim, random.dim);
  const diff = trained.data.reduce((m, v, i) => Math.max(m, Math.abs(v - random.data[i])), 0);
  assert.ok(diff > 1e-3, `trained and random-init features differ (max |Δ| ${diff})`);
  // the same space twice gives the same features
  assert.deepEqual((await spaceFeatures(gpu, ck, "random", ds)).data, random.data);
});

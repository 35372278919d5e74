// One-class training (--one-class C, data/one_class.ts) and the per-class arm of the anomaly
// protocol (tools/anomaly.ts --per-class, tools/one_class_runs.ts): the filter keeps exactly the
// class's images, bad classes are refused before anything is written, a one-class run reports
// its AUROC instead of label accuracies, and each class is scored with its own encoder.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode as encodePng } from "fast-png";
import { DataError } from "../data/dataset.ts";
import { FASHION_MNIST_DIR, loadDatasetSync } from "../data/load.ts";
import { FlagError, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import { validateSpecStructure } from "../dsl/validate.ts";
import { CheckpointError, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { runCommand } from "../run/command.ts";
import { ExportError, torchPlan } from "../export/torch/plan.ts";
import { spec as simclr } from "../pipelines/simclr.ts";
import { anomaly, anomalyTable } from "../tools/anomaly.ts";
import { oneClassRuns, parseOneClassRunsArgs, planOneClassRuns } from "../tools/one_class_runs.ts";
import { captured } from "./util/captured.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "one_class_test_"));

/** Row indices of `labels` equal to c, counted on the host. */
const rowsOf = (labels: Int32Array, c: number) => Array.from(labels.keys()).filter((i) => labels[i] === c);

Deno.test("one class: the training split keeps exactly the images of C, by index or name; the test split is whole", () => {
  const opts = { trainLimit: 50, testLimit: 20 };
  const full = loadDatasetSync("synthetic", opts);
  const want = rowsOf(full.train.labels, 2);
  const per = full.train.c * full.train.h * full.train.w;
  for (const choice of [2, "2", "d-stripes"]) {
    const one = loadDatasetSync("synthetic", { ...opts, oneClass: choice });
    assert.equal(one.train.n, want.length);
    assert.ok(one.train.labels.every((l) => l === 2));
    want.forEach((i, r) =>
      assert.deepEqual(
        one.train.images.subarray(r * per, (r + 1) * per),
        full.train.images.subarray(i * per, (i + 1) * per),
      )
    );
    assert.deepEqual(one.oneClass, { index: 2, name: "d-stripes" });
    assert.deepEqual(one.test.labels, full.test.labels);
    assert.deepEqual(one.test.images, full.test.images);
  }
});

Deno.test("one class on Fashion-MNIST: 'trouser' (any case) keeps the class-1 images of the first N", () => {
  if (!existsSync(join(FASHION_MNIST_DIR, "train-labels-idx1-ubyte.gz"))) {
    return console.log(`SKIPPED: ${FASHION_MNIST_DIR} missing`);
  }
  const opts = { trainLimit: 3000, testLimit: 500 };
  const full = loadDatasetSync("fashion-mnist", opts);
  const one = loadDatasetSync("fashion-mnist", { ...opts, oneClass: "trouser" });
  assert.equal(one.train.n, rowsOf(full.train.labels, 1).length);
  assert.ok(one.train.n > 200 && one.train.labels.every((l) => l === 1));
  assert.deepEqual(one.oneClass, { index: 1, name: "Trouser" });
  assert.equal(one.test.n, 500);
});

Deno.test("one class: a class that does not exist, a set of one class, a test split without it are DataErrors", () => {
  const opts = { trainLimit: 50, testLimit: 20 };
  const valid = "its classes are 0 h-stripes, 1 v-stripes, 2 d-stripes, 3 checker";
  for (const bad of [4, "shoe", "-1"]) {
    assert.throws(() => loadDatasetSync("synthetic", { ...opts, oneClass: bad }), (e) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, new RegExp(`synthetic has no class '${bad}'; ${valid}$`));
      return true;
    });
  }
  // labels 0,1,2,3,0,…: the first 2 training images hold no class 3; 4 test images, none but one of class 0
  assert.throws(
    () => loadDatasetSync("synthetic", { trainLimit: 2, oneClass: 3 }),
    /synthetic\/train has no image of class 3 \('checker'\) among its first 2 \(raise --train-limit\)/,
  );
  assert.throws(
    () => loadDatasetSync("synthetic", { ...opts, testLimit: 1, oneClass: 0 }),
    /synthetic\/test has 1 of 1 images of class 0 \('h-stripes'\); the anomaly AUROC needs test images of the class and of others/,
  );
  // an image folder of one class: no other class to be an anomaly
  const dir = tmp();
  mkdirSync(join(dir, "cat"));
  for (let i = 0; i < 10; i++) {
    const data = new Uint8Array(8 * 8).fill(i * 20);
    writeFileSync(join(dir, "cat", `${i}.png`), encodePng({ width: 8, height: 8, data, channels: 1 }));
  }
  assert.throws(() => loadDatasetSync(dir, { oneClass: "cat" }), (e) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /has 1 class; a one-class run needs a labelled data set of two or more/);
    return true;
  });
  rmSync(dir, { recursive: true });
});

Deno.test("--one-class: an index becomes a number, a name stays text; empty and malformed values are refused", () => {
  assert.equal(parseFlags(["--one-class", "3"], simclr).spec.data.oneClass, 3);
  assert.equal(parseFlags(["--one-class", "trouser"], simclr).spec.data.oneClass, "trouser");
  assert.equal(parseFlags([], simclr).spec.data.oneClass, undefined);
  assert.throws(() => parseFlags(["--one-class="], simclr), FlagError);
  for (const oneClass of [-1, 1.5, "", true]) {
    const spec = structuredClone(simclr) as unknown as { data: Record<string, unknown> };
    spec.data.oneClass = oneClass;
    assert.throws(() => validateSpecStructure(spec), (e) => e instanceof SpecError && /data\.oneClass/.test(e.message));
  }
  // the kNN's neighbours do not bind a one-class run (it has no kNN), the batch still does
  assert.doesNotThrow(() => parseFlags(["--one-class", "1", "--train-limit", "100", "--batch", "64"], simclr));
  assert.throws(() => parseFlags(["--train-limit", "100", "--batch", "64"], simclr), /eval\.knnK/);
  // the PyTorch program has no one-class filter: refused, not trained on all classes
  assert.throws(() => torchPlan(parseFlags(["--one-class", "1"], simclr).spec), ExportError);
  assert.doesNotThrow(() => torchPlan(simclr));
});

Deno.test("a pipeline with a class that does not exist exits 2, naming the classes, and writes nothing", async () => {
  const out = join(tmp(), "run");
  const { value, err } = await captured(() =>
    runCommand(simclr, "t", ["--data", "synthetic", "--one-class", "shoe", "--steps", "1", "--out", out])
  );
  assert.equal(value.code, 2);
  assert.match(err, /synthetic has no class 'shoe'; its classes are 0 h-stripes, 1 v-stripes/);
  assert.equal(existsSync(out), false);
});

Deno.test("tools/one_class_runs.ts: flags, the plan, and a refused class before any run", () => {
  assert.throws(
    () => parseOneClassRunsArgs(["--method", "simclr", "--out", "x", "--one-class", "1"]),
    /--one-class: set by tools\/one_class_runs.ts for each class/,
  );
  assert.throws(() => parseOneClassRunsArgs(["--method", "nope", "--out", "x"]), /--method: expected one of barlow,/);
  const a = parseOneClassRunsArgs(["--method", "simclr", "--out", "R", "--data", "synthetic", "--batch", "16"]);
  assert.notEqual(a, "help");
  if (a === "help") return;
  assert.deepEqual(a.pipeline, ["--data", "synthetic", "--batch", "16"]);
  const plan = planOneClassRuns({ ...a, pipeline: [...a.pipeline, "--train-limit", "80", "--test-limit", "20"] });
  assert.deepEqual(
    plan.map((r) => [r.c, r.dir, r.action]),
    [0, 1, 2, 3].map((c) => [c, join("R", `class-${c}`), "train"]),
  );
  assert.deepEqual(plan[3].args.slice(-4), ["--one-class", "3", "--out", join("R", "class-3")]);
  assert.throws(() => planOneClassRuns({ ...a, classes: [1, 5] }), /--classes: class 5 does not exist/);
});

Deno.test("a one-class run reports its class's AUROC, not kNN/linear; tools/anomaly.ts --per-class scores each class with its own encoder", async () => {
  const d = tmp();
  const runs = join(d, "one-class");
  // 160 synthetic training images, 40 of each class; the run trains on the 40 of class 0
  const pipeline = ["--data", "synthetic", "--train-limit", "160", "--test-limit", "40", "--encoder", "mlp:32"];
  pipeline.push("--proj", "32,16", "--batch", "16", "--steps", "2", "--warmup", "0");
  const args = { method: "simclr", out: runs, classes: [0], pipeline };
  const { value: code, out } = await captured(() => oneClassRuns(args));
  assert.equal(code, 0, out);
  const report = JSON.parse(readFileSync(join(runs, "class-0", "report.json"), "utf8"));
  const labels = loadDatasetSync("synthetic", { trainLimit: 160, testLimit: 40 }).train.labels;
  assert.equal(report.train_images, rowsOf(labels, 0).length);
  assert.deepEqual(report.one_class, { index: 0, name: "h-stripes" });
  for (const k of ["knn_top1", "linear_top1", "random_init_knn_top1", "pixels_knn_top1"]) assert.equal(report[k], null);
  for (const k of ["one_class_auroc", "random_init_one_class_auroc", "pixels_one_class_auroc"]) {
    assert.ok(report[k] >= 0 && report[k] <= 1, `${k} = ${report[k]}`);
  }
  assert.match(report.label_evals, /^skipped: the training set is one class/);
  assert.match(out, /one-class AUROC of class 0 \(h-stripes\): trained \/ random init \/ pixels/);
  // run again: the finished class is skipped, not trained again
  const again = await captured(() => oneClassRuns(args));
  assert.equal(again.value, 0);
  assert.match(again.out, /class 0: .*report\.json is there, skipped/);

  // class 1's "run": an encoder whose features are the same for every image (zero weights, BN
  // bias 1), so every test image gets the same score and its AUROC is exactly 1/2
  const ck = loadCheckpoint(join(runs, "class-0"));
  const put = (name: string, fill: number) => ck.tensors[name].data.fill(fill);
  put("encoder.0.linear.weight", 0);
  put("encoder.0.bn.running_mean", 0);
  put("encoder.0.bn.running_var", 1);
  put("encoder.0.bn.bias", 1);
  const spec = ck.spec as { data: Record<string, unknown>; eval: { knnK: number } };
  spec.eval.knnK = 20; // valid for the run on all 160 images below too
  const saveFor = (oneClass: unknown) => {
    spec.data.oneClass = oneClass;
    saveCheckpoint(join(runs, "class-1"), ck);
  };
  saveFor("v-stripes");
  const tool = {
    checkpoint: join(runs, "class-0"),
    out: join(d, "anomaly"),
    perClass: runs,
    data: "synthetic",
    k: 2,
    classes: [0, 1],
    trainLimit: 160,
    testLimit: 40,
  };
  const r = await anomaly(tool);
  assert.deepEqual(Object.keys(r.spaces), ["trained", "one-class", "random", "pixels"]);
  // class 0's own run is the --checkpoint run: the same features, the same AUROC
  assert.equal(r.spaces["one-class"].perClass[0], r.spaces.trained.perClass[0]);
  assert.equal(r.spaces["one-class"].perClass[1], 0.5);
  assert.notEqual(r.spaces.trained.perClass[1], 0.5);
  assert.equal(r.spaces["one-class"].mean, (r.spaces["one-class"].perClass[0] + 0.5) / 2);
  assert.equal(r.perClassRuns, runs);
  assert.match(anomalyTable(r), /\| one-class \|/);

  // refusals name the folder, before any GPU work; nothing is written
  const refused = async (edit: Partial<typeof tool>, message: RegExp) => {
    await assert.rejects(() => anomaly({ ...tool, ...edit }), (e) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.match(e.message, message);
      return true;
    });
  };
  await refused(
    { classes: [0, 1, 2, 3] },
    /no run for classes 2, 3 \(expected .*class-2, .*class-3\); train them with tools\/one_class_runs\.ts/,
  );
  saveFor(0);
  await refused({}, /class-1: this run was trained on class 0 \('h-stripes'\), not class 1/);
  saveFor(undefined);
  await refused({}, /class-1: this run was trained on all classes, not with --one-class 1/);
  assert.equal(existsSync(tool.out), false);
  rmSync(d, { recursive: true });
});

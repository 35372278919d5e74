// The page's pure parts (web/ui/), without a browser or a GPU: plot geometry and ticks, the
// colour scale of the C heatmap, the spec editor's checks and where they point in the text,
// the classification of the user's files, failure messages, pace, throttling, the presets.
import assert from "node:assert/strict";
import { SpecError } from "../dsl/error.ts";
import { spec as barlowSpec } from "../pipelines/barlow.ts";
import { spec as barlowMeanSpec } from "../pipelines/barlow_mean.ts";
import { spec as byolSpec } from "../pipelines/byol.ts";
import { spec as mocoSpec } from "../pipelines/moco.ts";
import { spec as simclrSpec } from "../pipelines/simclr.ts";
import { spec as simsiamSpec } from "../pipelines/simsiam.ts";
import { spec as vicregSpec } from "../pipelines/vicreg.ts";
import { spec as contrastiveClusteringSpec } from "../pipelines/contrastive_clustering.ts";
import { classifyFiles } from "../web/ui/data_files.ts";
import { EXAMPLE_SPECS } from "../web/ui/example_specs_gen.ts";
import snapshot from "../web/ui/example_specs.json" with { type: "json" };
import { describeFailure } from "../web/ui/failure.ts";
import { colourBar, heatmapCells } from "../web/ui/heatmap.ts";
import { JsonSyntaxError, locatePath, parentPath, parseLocated } from "../web/ui/json_paths.ts";
import { decimate, plotLayout } from "../web/ui/loss_plot.ts";
import { Pace } from "../web/ui/pace.ts";
import { presetById, PRESETS } from "../web/ui/preset_list.ts";
import { resultRows } from "../web/ui/results_view.ts";
import { checkSpecText } from "../web/ui/spec_check.ts";
import { statsText } from "../web/ui/stats_view.ts";
import { throttled, type Timers } from "../web/ui/throttle.ts";
import { formatTick, linearScale, niceTicks, tickStep } from "../web/ui/ticks.ts";
import { validateSpec } from "../step/validate.ts";

// ---------------------------------------------------------------------------- ticks and scales

Deno.test("niceTicks widens a range to whole 1/2/5 steps without float noise", () => {
  assert.deepEqual(niceTicks(0.13, 0.87, 5), { domain: [0, 1], ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
  assert.deepEqual(niceTicks(0, 1234, 5).ticks, [0, 500, 1000, 1500]);
  assert.deepEqual(niceTicks(3.2, 3.2, 5).domain, [2.8, 3.6]); // one value: widened by 10%
  assert.deepEqual(niceTicks(-0.31, 0.02, 4).ticks, [-0.4, -0.3, -0.2, -0.1, 0, 0.1]);
  assert.equal(tickStep(7, 7), 1);
  assert.equal(tickStep(0.07, 5), 0.02);
});

Deno.test("linearScale maps a domain onto pixels, inverted axes included", () => {
  const y = linearScale([0, 10], [200, 0]);
  assert.equal(y(0), 200);
  assert.equal(y(10), 0);
  assert.equal(y(2.5), 150);
  assert.equal(linearScale([5, 5], [0, 100])(5), 50);
});

Deno.test("formatTick shows the digits its step needs", () => {
  assert.equal(formatTick(0.4, 0.2), "0.4");
  assert.equal(formatTick(0.05, 0.01), "0.05");
  assert.equal(formatTick(1500, 500), "1500");
  assert.equal(formatTick(20000, 5000), "20k");
  assert.equal(formatTick(0, 0.1), "0");
});

// ---------------------------------------------------------------------------------- loss plot

Deno.test("plotLayout puts the first and last points on the plot area's corners", () => {
  const l = plotLayout([[0, 2], [10, 1]], 300, 200, { left: 50, right: 10, top: 10, bottom: 30 });
  assert.deepEqual(l.area, { x: 50, y: 10, w: 240, h: 160 });
  assert.equal(l.lines.length, 1);
  // x domain [0, 10], y domain [1, 2]: (0, 2) at the top left, (10, 1) at the bottom right
  assert.deepEqual(l.lines[0], [[50, 10], [290, 170]]);
  // labels carry the digits of the step, so the axis reads evenly
  assert.deepEqual(l.yTicks.map((t) => t.label), ["1.0", "1.2", "1.4", "1.6", "1.8", "2.0"]);
  assert.equal(l.yTicks[0].at, 170);
  assert.equal(l.xTicks[l.xTicks.length - 1].at, 290);
});

Deno.test("a non-finite loss breaks the line instead of bending the axes", () => {
  const l = plotLayout([[0, 1], [1, NaN], [2, 3], [3, Infinity], [4, 2]], 200, 100);
  assert.equal(l.lines.length, 3);
  assert.deepEqual(l.lines.map((x) => x.length), [1, 1, 1]);
  assert.deepEqual([l.yTicks[0].value, l.yTicks[l.yTicks.length - 1].value], [1, 3]);
});

Deno.test("decimate keeps each column's min and max, so a spike survives", () => {
  const n = 10000;
  const steps = Array.from({ length: n }, (_, i) => i);
  const values = steps.map((i) => (i === 4321 ? 50 : 1 + (i % 7) / 100));
  const d = decimate(steps, values, 100);
  assert.ok(d.length <= 201, `${d.length} points for 100 columns`);
  assert.deepEqual(d[0], [0, 1]);
  assert.equal(d[d.length - 1][0], n - 1);
  assert.ok(d.some(([s, v]) => s === 4321 && v === 50), "the spike is kept");
  assert.equal(decimate([0, 1, 2], [3, 2, 1], 100).length, 3);
});

// ---------------------------------------------------------------------------------- heatmap

Deno.test("heatmapCells colours C with the report's RdBu map: +1 red, 0 white, −1 blue, NaN black", () => {
  const c = new Float32Array([1, 0, -1, NaN]);
  const { rgba, size, block } = heatmapCells(c, 2, 256);
  assert.deepEqual([size, block], [2, 1]);
  assert.deepEqual([...rgba.slice(0, 4)], [103, 0, 31, 255]);
  assert.deepEqual([...rgba.slice(4, 8)], [247, 247, 247, 255]);
  assert.deepEqual([...rgba.slice(8, 12)], [5, 48, 97, 255]);
  assert.deepEqual([...rgba.slice(12, 16)], [0, 0, 0, 255]);
});

Deno.test("heatmapCells averages blocks of a large C (clipped to ±1) and skips NaN", () => {
  // 4×4 → 2×2 cells: the top-left block holds 3, 1, 1, NaN → mean of the clipped 1, 1, 1 = 1 (red)
  const c = new Float32Array([3, 1, 0, 0, 1, NaN, 0, 0, 0, 0, -1, -1, 0, 0, -1, -1]);
  const { rgba, size, block } = heatmapCells(c, 4, 2);
  assert.deepEqual([size, block], [2, 2]);
  assert.deepEqual([...rgba.slice(0, 3)], [103, 0, 31]);
  assert.deepEqual([...rgba.slice(4, 7)], [247, 247, 247]);
  assert.deepEqual([...rgba.slice(12, 15)], [5, 48, 97]);
  assert.throws(() => heatmapCells(new Float32Array(5), 2), /not 2×2/);
});

Deno.test("the colour bar runs from +1 (red) at the top to −1 (blue) at the bottom", () => {
  const bar = colourBar(2, 11);
  assert.deepEqual([...bar.slice(0, 3)], [103, 0, 31]);
  assert.deepEqual([...bar.slice(5 * 8, 5 * 8 + 3)], [247, 247, 247]);
  assert.deepEqual([...bar.slice(10 * 8, 10 * 8 + 3)], [5, 48, 97]);
});

// ---------------------------------------------------------------------------- spec editor

const SPEC_TEXT = JSON.stringify(presetById("small")!.spec(), null, 2);

Deno.test("parseLocated records where each value starts, by the spec's own path spelling", () => {
  const doc = parseLocated('{\n  "a": [1,\n    {"b c": true}],\n  "d": {"e": null}\n}');
  assert.deepEqual(doc.value, { a: [1, { "b c": true }], d: { e: null } });
  assert.deepEqual(locatePath(doc, "a[1]"), { line: 3, column: 5 });
  assert.deepEqual(locatePath(doc, 'a[1]["b c"]'), { line: 3, column: 13 });
  assert.deepEqual(locatePath(doc, "d.e"), { line: 4, column: 14 });
  // a missing field is shown on the object that lacks it
  assert.deepEqual(locatePath(doc, "d.f.g"), { line: 4, column: 8 });
  assert.equal(parentPath("modules.projector.widths[1]"), "modules.projector.widths");
  assert.equal(parentPath('a["x y"]'), "a");
  assert.equal(parentPath("a"), "");
});

Deno.test("parseLocated reports a syntax error's line and column", () => {
  const bad = '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}';
  assert.throws(() => parseLocated(bad), (err: JsonSyntaxError) => {
    assert.deepEqual(err.position, { line: 4, column: 3 });
    assert.match(err.message, /expected ',' or '}' after the value of "b"/);
    return err instanceof JsonSyntaxError;
  });
  assert.throws(() => parseLocated('{"a": "x'), /never closed/);
  assert.throws(() => parseLocated("[1, 2] 3"), /after the end/);
  assert.throws(() => parseLocated("{'a': 1}"), /double quotes/);
});

Deno.test("checkSpecText: a valid preset passes and gives the spec with defaults", () => {
  const r = checkSpecText(SPEC_TEXT);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.spec.name, "barlow-small");
});

Deno.test("checkSpecText points a spec-layer problem at its path and line", () => {
  const spec = JSON.parse(SPEC_TEXT);
  spec.modules.projector.widths[1] = 0;
  const text = JSON.stringify(spec, null, 2);
  const r = checkSpecText(text);
  assert.ok(!r.ok);
  const issue = r.issues.find((i) => i.path === "modules.projector.widths[1]");
  assert.ok(issue, JSON.stringify(r.issues));
  const lines = text.split("\n");
  // the line of the bad width is the second item of the projector's widths array
  assert.equal(lines[issue.line - 1].trim(), "0");
  assert.equal(lines[issue.line - 3].trim(), '"widths": [');
});

Deno.test("checkSpecText reports the graph stage's checks too (a loss naming no branch)", () => {
  const spec = JSON.parse(SPEC_TEXT);
  spec.loss.a = "nope";
  const r = checkSpecText(JSON.stringify(spec, null, 2));
  assert.ok(!r.ok);
  assert.ok(r.issues.some((i) => i.path.startsWith("loss") && /nope/.test(i.message)), JSON.stringify(r.issues));
});

Deno.test("checkSpecText: JSON syntax errors and non-objects are issues, never exceptions", () => {
  const r = checkSpecText('{\n  "version": 1,\n  oops\n}');
  assert.ok(!r.ok);
  assert.equal(r.issues[0].line, 3);
  assert.match(r.issues[0].message, /not valid JSON/);
  const n = checkSpecText("42");
  assert.ok(!n.ok);
  assert.match(n.issues[0].message, /expected a pipeline spec object/);
});

// ---------------------------------------------------------------------------- the user's files

Deno.test("classifyFiles finds the four IDX files, gzipped or not", () => {
  const paths = [
    "mnist/t10k-labels-idx1-ubyte.gz",
    "mnist/train-images-idx3-ubyte",
    "mnist/README",
    "mnist/train-labels.idx1-ubyte",
    "mnist/t10k-images-idx3-ubyte.gz",
  ];
  assert.deepEqual(classifyFiles(paths), {
    kind: "idx",
    files: { trainImages: 1, trainLabels: 3, testImages: 4, testLabels: 0 },
  });
  const missing = classifyFiles(paths.slice(0, 3));
  assert.equal(missing.kind, "error");
  assert.match(
    (missing as { message: string }).message,
    /not train-labels-idx1-ubyte\[\.gz\], t10k-images-idx3-ubyte\[\.gz\]; give all four/,
  );
});

Deno.test("classifyFiles reads an image folder: classes from sub-folders, train/test when given", () => {
  const l = classifyFiles(["pets/dog/2.png", "pets/cat/1.jpg", "pets/dog/1.PNG", "pets/.DS_Store", "pets/cat/.x.png"]);
  assert.equal(l.kind, "images");
  if (l.kind !== "images") return;
  assert.deepEqual(l.classNames, ["cat", "dog"]);
  assert.deepEqual(l.images.map((i) => [i.file, i.name, i.label, i.split]), [
    [1, "cat/1.jpg", 0, "any"],
    [2, "dog/1.PNG", 1, "any"],
    [0, "dog/2.png", 1, "any"],
  ]);
  const s = classifyFiles(["d/train/a/1.png", "d/train/b/1.png", "d/test/b/2.png"]);
  assert.ok(s.kind === "images" && s.explicitSplit);
  if (s.kind !== "images") return;
  assert.deepEqual(s.images.map((i) => [i.name, i.label, i.split]), [
    ["test/b/2.png", 1, "test"],
    ["train/a/1.png", 0, "train"],
    ["train/b/1.png", 1, "train"],
  ]);
});

Deno.test("classifyFiles says what is wrong with files it cannot use", () => {
  const flat = classifyFiles(["shots/a.png", "shots/b.png"]);
  assert.equal(flat.kind, "error");
  assert.match((flat as { message: string }).message, /shots\/a\.png is not in a class folder/);
  const other = classifyFiles(["notes.txt", "data.csv"]);
  assert.match(
    (other as { message: string }).message,
    /none of the 2 file\(s\) is an IDX file .* \(e\.g\. notes\.txt\)/,
  );
  const extra = classifyFiles(["d/train/a/1.png", "d/test/z/1.png"]);
  assert.match((extra as { message: string }).message, /class 'z' has no folder in train/);
  assert.equal(classifyFiles([]).kind, "error");
});

// ------------------------------------------------------------------------------- failures

Deno.test("describeFailure: the core's errors by name, with the core's message kept", () => {
  const spec = describeFailure(new SpecError({ path: "batch", message: "must be ≥ 2" }));
  assert.equal(spec.title, "The spec has a problem");
  assert.equal(spec.message, "batch: must be ≥ 2");
  const mem = Object.assign(new Error("the step needs 9 GiB; this adapter's maxBufferSize is 256 MiB"), {
    name: "MemoryPlanError",
  });
  assert.equal(describeFailure(mem).title, "The run does not fit this GPU");
  assert.match(describeFailure(mem).message, /maxBufferSize/);
  const data = Object.assign(new Error("x: not an IDX file"), { name: "DataError" });
  assert.equal(describeFailure(data).title, "The data could not be read");
  assert.deepEqual(describeFailure("boom"), { title: "Something went wrong", message: "boom" });
});

// ------------------------------------------------------------------------- pace and repaints

Deno.test("Pace: images/s and time left from the recent window", () => {
  const p = new Pace(64, 3);
  assert.equal(p.imagesPerSecond(), undefined);
  p.add(0, 100); // compiling: excluded once the window moves on
  p.add(10, 110);
  p.add(30, 112);
  p.add(50, 114);
  assert.equal(p.stepsPerSecond(), 10); // (50 − 10) steps / 4 s
  assert.equal(p.imagesPerSecond(), 640);
  assert.equal(p.secondsLeft(150), 10);
  p.reset();
  assert.equal(p.secondsLeft(150), undefined);
});

Deno.test("throttled runs at most once per interval, with the latest state", () => {
  let t = 0, runs = 0;
  const queue: { at: number; fn: () => void }[] = [];
  const timers: Timers = {
    now: () => t,
    set: (fn, ms) => queue.push({ at: t + ms, fn }),
    clear: () => queue.splice(0),
  };
  const r = throttled(() => runs++, 250, timers);
  r.request(); // first call runs at once
  r.request();
  r.request(); // coalesced into one timer
  assert.equal(runs, 1);
  assert.equal(queue.length, 1);
  assert.equal(queue[0].at, 250);
  t = 250;
  queue.shift()!.fn();
  assert.equal(runs, 2);
  t = 1000;
  r.request();
  assert.equal(runs, 3);
});

Deno.test("statsText and resultRows format the figures the page shows", () => {
  const s = statsText({
    step: 120,
    totalSteps: 468,
    imagesPerSec: 1234.4,
    secondsLeft: 125,
    diag: { corr_diag_mean: 0.81234, corr_offdiag_abs_mean: 0.0123456, effective_rank: 41.26 },
  });
  assert.deepEqual(s, {
    "stat-step": "120 / 468",
    "stat-rate": "1,234",
    "stat-left": "2m05s",
    "stat-cii": "0.8123",
    "stat-cij": "0.01235",
    "stat-rank": "41.26",
  });
  assert.equal(statsText({})["stat-cii"], "–");
  assert.deepEqual(resultRows({ knn_top1: 0.79, linear_top1: 0.8417, random_init_knn_top1: 0.5 }), [
    ["trained encoder", "79.00%", "84.17%"],
    ["random-init encoder", "50.00%", "not measured"],
  ]);
});

// ------------------------------------------------------------------------------------ presets

Deno.test("the page's presets are the pipelines' own specs", () => {
  const files: Record<string, unknown> = {
    barlow: barlowSpec,
    barlow_mean: barlowMeanSpec,
    simclr: simclrSpec,
    moco: mocoSpec,
    byol: byolSpec,
    simsiam: simsiamSpec,
    vicreg: vicregSpec,
    contrastive_clustering: contrastiveClusteringSpec,
  };
  for (const [id, spec] of Object.entries(files)) assert.deepEqual(presetById(id)!.spec(), spec, id);
});

Deno.test("example_specs.json is the examples' specs (regenerate: deno run -A web/ui/example_specs_gen.ts)", () => {
  assert.deepEqual(snapshot, JSON.parse(JSON.stringify(EXAMPLE_SPECS)));
  for (const [file, spec] of Object.entries(EXAMPLE_SPECS)) {
    const p = PRESETS.find((x) => x.source === file);
    assert.ok(p, `${file} is offered`);
    assert.deepEqual(p.spec(), spec, file);
  }
});

Deno.test("every preset passes the spec gate and has a unique id", () => {
  assert.equal(new Set(PRESETS.map((p) => p.id)).size, PRESETS.length);
  for (const p of PRESETS) validateSpec(p.spec());
  const small = presetById("small")!.spec();
  assert.equal(small.data.name, "synthetic");
});

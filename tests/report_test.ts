// Report graphics and terminal output: the SVG is well-formed XML holding the data points,
// heatmap PNGs decode to the expected colours, the progress/table text for given inputs.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { linePlot, linePlots, niceTicks, tickLabel } from "../report/plot.ts";
import { diverging, RDBU } from "../report/colormap.ts";
import { blockAverage, LEGEND_TICKS, renderHeatmap, tickRow, writeHeatmap } from "../report/heatmap.ts";
import { glyph } from "../report/font.ts";
import { encodePng, imageGrid } from "../report/png.ts";
import { formatDuration, formatNumber } from "../report/format.ts";
import { formatSummary, formatTable } from "../report/summary.ts";
import { formatProgress, Progress } from "../report/progress.ts";
import { appendMetrics, metricSeries, readMetrics, truncateMetrics } from "../report/metrics.ts";
import process from "node:process";
import { collapseWarning } from "../run/run_report.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "report-test-"));

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** A strict little XML parser: throws on unbalanced tags, bad attributes, stray '<' or '&'. */
function parseXml(src: string): XmlNode {
  let i = 0;
  const ent = (s: string) => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) throw new Error(`bad entity near "${s.slice(0, 40)}"`);
    return s.replace(
      /&(amp|lt|gt|quot|apos);/g,
      (_, e) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[e as string]!,
    );
  };
  const skipProlog = () => {
    const m = /^\s*<\?xml[^?]*\?>\s*/.exec(src.slice(i));
    if (m) i += m[0].length;
  };
  const node = (): XmlNode => {
    const open = /^<([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/.exec(src.slice(i));
    if (!open) throw new Error(`malformed tag at ${i}: ${src.slice(i, i + 60)}`);
    i += open[0].length;
    const attrs: Record<string, string> = {};
    for (const m of open[2].matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (m[1] in attrs) throw new Error(`duplicate attribute ${m[1]}`);
      attrs[m[1]] = ent(m[2]);
    }
    const n: XmlNode = { tag: open[1], attrs, children: [], text: "" };
    if (open[3]) return n;
    for (;;) {
      const lt = src.indexOf("<", i);
      if (lt < 0) throw new Error(`unclosed <${n.tag}>`);
      n.text += ent(src.slice(i, lt));
      i = lt;
      if (src.startsWith("</", i)) {
        const close = /^<\/([\w:-]+)\s*>/.exec(src.slice(i));
        if (!close || close[1] !== n.tag) {
          throw new Error(`expected </${n.tag}> at ${i}, found ${src.slice(i, i + 20)}`);
        }
        i += close[0].length;
        return n;
      }
      n.children.push(node());
    }
  };
  skipProlog();
  const root = node();
  if (src.slice(i).trim()) throw new Error("content after the root element");
  return root;
}
const all = (
  n: XmlNode,
  tag: string,
): XmlNode[] => [...(n.tag === tag ? [n] : []), ...n.children.flatMap((c) => all(c, tag))];

Deno.test("XML checker itself rejects malformed documents", () => {
  assert.throws(() => parseXml("<a><b></a>"), /expected <\/b>/);
  assert.throws(() => parseXml('<a x="1" x="2"/>'), /duplicate attribute/);
  assert.throws(() => parseXml("<a>x & y</a>"), /bad entity/);
  assert.equal(parseXml('<a t="&lt;&amp;"><b/>hi</a>').attrs.t, "<&");
});

Deno.test("line plot SVG: well-formed, points land at the axis mapping, gaps for NaN, escaped text", () => {
  const svg = linePlot({
    title: "Barlow <Twins> & co",
    xLabel: "step",
    yLabel: "loss",
    series: [
      { name: "loss", x: [0, 10, 20, 30, 40], y: [5, 4, NaN, 2, 1] },
      { name: "kNN acc", x: [0, 40], y: [1, 3] },
    ],
  }, { width: 500, panelHeight: 300 });
  const doc = parseXml(svg);
  assert.equal(doc.tag, "svg");
  assert.equal(doc.attrs.width, "500");
  const lines = all(doc, "polyline");
  // Series 0 is split at the NaN into [0,10] and [30,40]; series 1 is one line.
  assert.deepEqual(lines.map((l) => l.attrs["data-series"]), ["0", "0", "1"]);
  const pts = lines.map((l) => l.attrs.points.split(" ").map((p) => p.split(",").map(Number)));
  assert.deepEqual(pts.map((p) => p.length), [2, 2, 2]);
  // Plot area from the frame rect; x range is exactly [0, 40]; y range [1, 5] padded by 4 %.
  const frame = all(doc, "rect").find((r) => r.attrs.stroke === "#333")!.attrs;
  const [fx, fy, fw, fh] = [frame.x, frame.y, frame.width, frame.height].map(Number);
  const lo = 1 - 0.16, hi = 5 + 0.16;
  const X = (x: number) => fx + (x / 40) * fw, Y = (y: number) => fy + (1 - (y - lo) / (hi - lo)) * fh;
  const want = [[[0, 5], [10, 4]], [[30, 2], [40, 1]], [[0, 1], [40, 3]]];
  want.forEach((seg, s) =>
    seg.forEach(([x, y], k) => {
      assert.ok(
        Math.abs(pts[s][k][0] - X(x)) < 0.01 && Math.abs(pts[s][k][1] - Y(y)) < 0.01,
        `series point ${s}/${k}: ${pts[s][k]} vs ${X(x)},${Y(y)}`,
      );
    })
  );
  const texts = all(doc, "text").map((t) => t.text);
  assert.ok(texts.includes("Barlow <Twins> & co"));
  for (const t of ["step", "loss", "kNN acc", "0", "10", "20", "40", "2", "4"]) {
    assert.ok(texts.includes(t), `missing text ${t}`);
  }
});

Deno.test("line plots: stacked panels, log axis, single point, empty and long series", () => {
  const n = 10000;
  const y = Array.from({ length: n }, (_, i) => 1 / (1 + i) + (i === 5000 ? 3 : 0));
  const svg = linePlots([
    { title: "loss", logY: true, series: [{ name: "loss", y }] },
    { title: "std", series: [{ name: "std(z)", y: [0.5] }] },
    { title: "empty", series: [{ name: "none", y: [] }] },
  ], { maxPoints: 500 });
  const doc = parseXml(svg);
  assert.equal(all(doc, "g").filter((g) => g.attrs.class === "panel").length, 3);
  assert.equal(doc.attrs.height, "900");
  const line = all(doc, "polyline")[0].attrs.points.split(" ");
  assert.ok(line.length <= 500 && line.length > 200, `decimated to ${line.length}`);
  // The spike at step 5000 survives decimation: the topmost point is near the top of panel 1.
  const ys = line.map((p) => Number(p.split(",")[1]));
  assert.ok(Math.min(...ys) < 40, `spike kept (min y ${Math.min(...ys)})`);
  const texts = all(doc, "text").map((t) => t.text);
  for (const t of ["1e-4", "0.001", "0.01", "0.1", "1"]) assert.ok(texts.includes(t), `log tick ${t}`);
  assert.equal(all(doc, "circle").length, 1); // the single point of panel 2
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-3, 47), [0, 10, 20, 30, 40]);
  assert.deepEqual([tickLabel(0.00001), tickLabel(25000), tickLabel(0.3)], ["1e-5", "25000", "0.3"]);
  assert.throws(
    () => linePlot({ series: [{ name: "a", x: [1, 2], y: [1] }] }),
    /series "a" has 2 x values and 1 y values/,
  );
});

Deno.test("diverging colormap: endpoints, centre, clipping, interpolation, NaN", () => {
  assert.deepEqual(diverging(-1), [5, 48, 97]);
  assert.deepEqual(diverging(0), [247, 247, 247]);
  assert.deepEqual(diverging(1), [103, 0, 31]);
  assert.deepEqual(diverging(7), diverging(1));
  assert.deepEqual(diverging(-2.5), diverging(-1));
  // Halfway between the stops at 0.8 and 1.0.
  assert.deepEqual(diverging(0.9), [Math.round((178 + 103) / 2), Math.round(12), Math.round((43 + 31) / 2)]);
  assert.deepEqual(diverging(NaN), [0, 0, 0]);
  assert.equal(RDBU.length, 11);
});

type Png = { width: number; height: number; data: ArrayLike<number> };
const pixel = (
  png: Png,
  x: number,
  y: number,
) => [...Array.from({ length: 3 }, (_, c) => png.data[(y * png.width + x) * 3 + c])];

/** Asserts that `text` is drawn black on white at (x, y), magnified `scale`×, glyph bit by glyph bit. */
function assertText(png: Png, x: number, y: number, text: string, scale: number) {
  [...text].forEach((ch, k) => {
    const rows = glyph(ch);
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 6; gx++) { // 5 glyph columns and the spacing column
        const on = gx < 5 && ((rows[gy] >> (4 - gx)) & 1) === 1;
        for (const [sx, sy] of [[0, 0], [scale - 1, scale - 1]]) {
          const px = x + (k * 6 + gx) * scale + sx, py = y + gy * scale + sy;
          if (gx === 5 && k === text.length - 1) continue;
          assert.deepEqual(
            pixel(png, px, py),
            on ? [0, 0, 0] : [255, 255, 255],
            `'${text}'[${k}] = '${ch}' at ${gx},${gy}`,
          );
        }
      }
    }
  });
}

Deno.test("heatmap PNG decodes to the expected cell colours and a colour bar with its values", () => {
  // 3×3 matrix: each cell enlarged to ⌊12/3⌋ = 4 px; values beyond ±1 are clipped. No title.
  const m = [1, -1, 0, 0.5, 2, -3, NaN, 0.25, -0.5];
  const dir = tmp();
  const lay = writeHeatmap(join(dir, "c.png"), m, 3, { maxPixels: 12, title: "" });
  const png = decode(readFileSync(join(dir, "c.png")));
  // matrix 12, gap 8, bar 16, ticks 5, 2 px, labels as wide as "+0.5" (23 px) and 3 px of margin;
  // the bar is tall enough for five 7-px labels 2 px apart (45 rows), the matrix keeps 12
  assert.deepEqual([png.width, png.height, png.channels, lay.cell, lay.size, lay.block, lay.top, lay.barH], [
    12 + 8 + 16 + 5 + 2 + 23 + 3,
    45,
    3,
    4,
    3,
    1,
    0,
    45,
  ]);
  m.forEach((v, k) => {
    const r = Math.floor(k / 3), c = k % 3;
    for (const [dx, dy] of [[0, 0], [3, 3], [1, 2]]) {
      assert.deepEqual(pixel(png, c * 4 + dx, r * 4 + dy), diverging(v), `cell ${r},${c} = ${v}`);
    }
  });
  // Gap is white; colour bar top is +1 red-ish, bottom −1 blue-ish, middle near white; ticks black.
  assert.deepEqual(pixel(png, 13, 5), [255, 255, 255]);
  assert.deepEqual(pixel(png, 5, 20), [255, 255, 255], "below the matrix");
  assert.deepEqual(pixel(png, lay.barX + 3, 0), diverging(1 - 2 * 0.5 / 45)); // row centres map to 1 − 2(y + ½)/H
  assert.deepEqual(pixel(png, lay.barX + 3, 44), diverging(1 - 2 * 44.5 / 45));
  assert.ok(
    pixel(png, lay.barX + 3, 0)[0] > 100 && pixel(png, lay.barX + 3, 0)[2] < 50 && pixel(png, lay.barX + 3, 44)[2] > 90,
  );
  for (const y of [0, 44, 22]) assert.deepEqual(pixel(png, lay.barX + lay.barW + 1, y), [0, 0, 0]); // 0 at round(22) = 22
  // each tick's value, centred on its row and kept inside the image
  const rows = { "+1": 0, "+0.5": 11, "0": 22, "-0.5": 33, "-1": 44 };
  for (const [v, label] of LEGEND_TICKS) {
    assert.equal(tickRow(v, 0, 45), rows[label as keyof typeof rows], label);
    assertText(png, lay.labelX, Math.max(0, Math.min(45 - 7, rows[label as keyof typeof rows] - 3)), label, 1);
  }
});

Deno.test("heatmap title: default names the matrix and D, drawn above it; doubled text for big images", () => {
  const D = 5, m = Array.from({ length: D * D }, (_, k) => (k % 6 === 0 ? 1 : -0.2));
  const r = renderHeatmap(m, D, { maxPixels: 300 });
  const lay = r.layout;
  assert.equal(lay.title, "cross-correlation C, D = 5");
  assert.deepEqual([lay.cell, lay.textScale, lay.top], [60, 2, 7 * 2 + 2 * 6]);
  assertText(r, 6, 6, "CROSS-CORRELATION C, D = 5", 2);
  assert.deepEqual(pixel(r, 0, lay.top - 1), [255, 255, 255]);
  assert.deepEqual(pixel(r, 0, lay.top), diverging(1));
  assert.deepEqual(pixel(r, 61, lay.top + 59), diverging(-0.2));
  assert.equal(r.height, lay.top + 300);
  // the top tick's label sits beside its tick, below the title
  assertText(r, lay.labelX, lay.top, "+1", 2);
  const own = renderHeatmap(m, D, { maxPixels: 300, title: "step 467" });
  assertText(own, 6, 6, "STEP 467", 2);
  // block means are said in the default title
  assert.equal(
    renderHeatmap(new Float32Array(1031 * 1031), 1031).layout.title,
    "cross-correlation C, D = 1031, 3×3 block means",
  );
});

Deno.test("heatmap block averaging for large D: ≤ 512 cells, clipped means, NaN skipped", () => {
  // D = 1031 → block 3 → 344 cells (the last block is 2 wide).
  const D = 1031;
  const m = new Float32Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      m[i * D + j] = i === j ? 1 : ((i * 7 + j * 13) % 5) * 0.6 - 1.2;
    }
  }
  const { cells, size, block } = blockAverage(m, D);
  assert.deepEqual([size, block], [344, 3]);
  const ref = (bi: number, bj: number) => {
    let s = 0, c = 0;
    for (let i = bi * 3; i < Math.min(D, bi * 3 + 3); i++) {
      for (let j = bj * 3; j < Math.min(D, bj * 3 + 3); j++) s += Math.max(-1, Math.min(1, m[i * D + j])), c++;
    }
    return s / c;
  };
  for (const [bi, bj] of [[0, 0], [5, 9], [343, 343], [343, 0], [100, 100]]) {
    assert.ok(Math.abs(cells[bi * size + bj] - ref(bi, bj)) < 1e-9);
  }
  const nan = Float32Array.of(NaN, 0.5, NaN, NaN);
  assert.deepEqual([...blockAverage(nan, 2, 1).cells], [0.5]);
  assert.ok(Number.isNaN(blockAverage(Float32Array.of(NaN), 1).cells[0]));
  const r = renderHeatmap(m, D, { legend: false, title: "" });
  assert.deepEqual([r.width, r.height], [344, 344]);
  assert.throws(() => blockAverage(new Float32Array(10), 3), /10 values is not D×D for D = 3/);
});

Deno.test("image grid PNG round trip", () => {
  // 3 RGB 2×2 images, 2 columns, pad 1, scale 2 → 11 × 11 px.
  const imgs = Float32Array.from({ length: 3 * 3 * 4 }, (_, i) => (i % 12) / 11);
  const r = imageGrid(imgs, 3, 3, 2, 2, { cols: 2, pad: 1, scale: 2 });
  assert.deepEqual([r.width, r.height], [2 * 4 + 3, 2 * 4 + 3]);
  const png = decode(encodePng(r));
  const at = (x: number, y: number) => [...png.data.subarray((y * 11 + x) * 3, (y * 11 + x) * 3 + 3)];
  // Image 1, pixel (x=1, y=0) → grid (1 + 4 + 1 + 2, 1): channels k·4 + 1.
  assert.deepEqual(at(8, 1), [1, 5, 9].map((v) => Math.round((v / 11) * 255)));
  assert.deepEqual(at(0, 0), [255, 255, 255]);
  assert.deepEqual(at(10, 10), [255, 255, 255]); // the empty 4th slot
});

Deno.test("progress line and Progress output for given inputs (TTY and plain)", () => {
  // 117/469 of 20 = 4.99 cells: the bar floors, so it is full only when the epoch is.
  assert.equal(
    formatProgress({
      epoch: 3,
      epochs: 100,
      step: 117,
      total: 469,
      loss: 0.123456,
      imagesPerSec: 1234.4,
      etaSeconds: 3725,
    }),
    "epoch   3/100 [####----------------] 117/469 loss 0.1235 1234 img/s ETA 1h02m",
  );
  assert.equal(formatProgress({ epoch: 1, epochs: 1, step: 7, total: 7 }, 4), "epoch 1/1 [####] 7/7");
  let t = 0;
  const out: string[] = [];
  const tty = new Progress({
    epochs: 2,
    total: 4,
    batchSize: 256,
    tty: true,
    write: (s) => out.push(s),
    now: () => t,
    intervalMs: 100,
  });
  tty.update(1, 1, 5); // t = 0: starts the clock
  t = 50, tty.update(1, 2, 4); // throttled
  t = 500, tty.update(1, 3, 3); // 2 steps in 0.5 s → 4 steps/s, 1024 img/s, 5 steps left → 1.25 s
  t = 600, tty.update(1, 4, 2.5); // 3 steps in 0.6 s → 1280 img/s; the epoch end always prints, then "\n"
  assert.deepEqual(out, [
    "\repoch 1/2 [#####---------------] 1/4 loss 5\x1b[K",
    "\repoch 1/2 [###############-----] 3/4 loss 3 1024 img/s ETA 1s\x1b[K",
    "\repoch 1/2 [####################] 4/4 loss 2.5 1280 img/s ETA 1s\x1b[K",
    "\n",
  ]);
  out.length = 0;
  t = 0;
  const plain = new Progress({
    epochs: 1,
    total: 10,
    batchSize: 8,
    tty: false,
    write: (s) => out.push(s),
    now: () => t,
    barWidth: 0,
  });
  for (let s = 1; s <= 10; s++) t = (s - 1) * 2000, plain.update(1, s, 1 / s);
  // Every 10 s (steps 1, 6) and the epoch end (step 10): 9 steps in 18 s → 4 img/s.
  assert.deepEqual(out, [
    "epoch 1/1  1/10 loss 1\n",
    "epoch 1/1  6/10 loss 0.1667 4 img/s ETA 8s\n",
    "epoch 1/1 10/10 loss 0.1 4 img/s ETA 0s\n",
  ]);
  assert.deepEqual([formatDuration(5), formatDuration(125), formatDuration(7384), formatDuration(NaN)], [
    "5s",
    "2m05s",
    "2h03m",
    "--",
  ]);
});

Deno.test("summary table: alignment, numbers right, text left, compact numbers", () => {
  const t = formatTable(["method", "kNN top-1", "img/s"], [["barlow", 0.8312, 1530], ["simclr λ", 0.79, 12]]);
  assert.equal(
    t,
    [
      "method    kNN top-1  img/s",
      "────────  ─────────  ─────",
      "barlow       0.8312   1530",
      "simclr λ       0.79     12",
    ].join("\n"),
  );
  assert.equal(
    formatSummary("run", { loss: 0.000123456, steps: 4690, data: "fashion-mnist" }),
    "run\n  loss   1.235e-4\n  steps  4690\n  data   fashion-mnist",
  );
  assert.deepEqual([formatNumber(NaN), formatNumber(-Infinity), formatNumber(1234567.8), formatNumber(2.5)], [
    "NaN",
    "-inf",
    "1.235e6",
    "2.5",
  ]);
});

Deno.test("metrics.jsonl: append, non-finite round trip, torn last line, series", () => {
  const p = join(tmp(), "run", "metrics.jsonl");
  appendMetrics(p, { step: 0, loss: 10.5 });
  appendMetrics(p, { step: 10, loss: NaN, knn: 0.5 });
  appendMetrics(p, { step: 20, loss: Infinity, note: "x" });
  assert.equal(readFileSync(p, "utf8").split("\n")[1], '{"step":10,"loss":"NaN","knn":0.5}');
  writeFileSync(p, readFileSync(p, "utf8") + '{"step":30,"lo'); // killed mid-append
  const r = readMetrics(p);
  assert.equal(r.length, 3);
  assert.ok(Number.isNaN(r[1].loss as number));
  assert.equal(r[2].loss, Infinity);
  assert.deepEqual(metricSeries(r, "knn"), { x: [10], y: [0.5] });
  assert.equal(metricSeries(r, "loss").x.length, 3);
  writeFileSync(p, '{"step":1}\n{bad\n{"step":2}\n');
  assert.throws(() => readMetrics(p), /metrics\.jsonl:2: not a JSON line/);
});

Deno.test("metrics.jsonl is created 0644 even under umask 0, and append errors name the file", () => {
  const p = join(tmp(), "run", "metrics.jsonl");
  const old = process.umask(0);
  try {
    appendMetrics(p, { step: 0, loss: 1 });
  } finally {
    process.umask(old);
  }
  assert.equal((statSync(p).mode & 0o777).toString(8), "644");
  if (existsSync("/dev/full")) {
    // /dev/full answers every write with ENOSPC, like a full disk
    assert.throws(
      () => appendMetrics("/dev/full", { step: 1 }),
      (e: Error) =>
        e.message.startsWith("cannot append to the metrics log /dev/full: ") && e.message.includes("ENOSPC"),
    );
  }
  assert.throws(() => readMetrics(join(tmp(), "none.jsonl")), /cannot read the metrics log .*none\.jsonl: .*ENOENT/);
});

Deno.test("truncateMetrics: a resumed run drops the records the earlier run logged after its checkpoint", () => {
  const p = join(tmp(), "metrics.jsonl");
  for (const step of [0, 10, 20, 29, 30, 40]) appendMetrics(p, { step, loss: 100 - step });
  appendMetrics(p, { kind: "eval", knn: 0.5 }); // no step: kept
  writeFileSync(p, readFileSync(p, "utf8") + '{"step":50,"lo'); // killed mid-append
  assert.equal(truncateMetrics(p, 30), 2); // steps 30 and 40 (the torn line held no record)
  assert.deepEqual(readMetrics(p).map((r) => r.step ?? r.kind), [0, 10, 20, 29, "eval"]);
  assert.ok(readFileSync(p, "utf8").endsWith("}\n"), "the torn line is gone");
  assert.equal((statSync(p).mode & 0o777).toString(8), "644");
  assert.deepEqual(readdirSync(join(p, "..")), ["metrics.jsonl"], "no temp file left");
  const before = readFileSync(p, "utf8");
  assert.equal(truncateMetrics(p, 1000), 0);
  assert.equal(readFileSync(p, "utf8"), before);
  assert.equal(truncateMetrics(join(tmp(), "absent.jsonl"), 5), 0);
  assert.throws(() => truncateMetrics(p, -1), /step -1 is not an integer ≥ 0/);
});

Deno.test("collapse warning: no spread, rank below 2, dimensional collapse against min(batch, D)", () => {
  const healthy = { std_min: 0.4, std_mean: 0.5, nstd_mean: 0.05, effective_rank: 90.5 };
  assert.equal(collapseWarning(healthy, { batch: 256, dim: 1024 }), null);
  assert.match(
    collapseWarning({ ...healthy, std_min: 2e-4 })!,
    /some embedding dimensions collapsed \(min std 2\.00e-4\)/,
  );
  assert.match(collapseWarning({ ...healthy, effective_rank: 1.3 })!, /collapsed to rank ~1\.30/);
  // the BYOL default run's end: rank 3.38 of at most 256 (batch 256, D 256) is below 256 / 50
  assert.equal(
    collapseWarning({ ...healthy, effective_rank: 3.38 }, { batch: 256, dim: 256 }),
    "dimensional collapse: effective rank 3.4 of at most 256 (batch 256, embedding width 256)",
  );
  // the bound is min(batch, D): rank 6 is fine for a batch of 256 at D = 8192 (256 / 50 = 5.12) …
  assert.equal(collapseWarning({ ...healthy, effective_rank: 6 }, { batch: 256, dim: 8192 }), null);
  // … and a warning for a batch of 1024 at D = 8192 (1024 / 50 = 20.48)
  assert.match(collapseWarning({ ...healthy, effective_rank: 6 }, { batch: 1024, dim: 8192 })!, /of at most 1024/);
  // without the sizes only the absolute checks apply
  assert.equal(collapseWarning({ ...healthy, effective_rank: 3.38 }), null);
});

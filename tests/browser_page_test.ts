// The training page (web/index.html) in headless Chromium on lavapipe through ANGLE in WebGPU
// compatibility mode: a small spec trains 20 steps on the synthetic set with the loss curve and
// the C heatmap drawn (their canvas pixels are read), the evaluation shown, and the run folder's
// files offered — the checkpoint is read back here by the core's own reader, as a terminal
// --resume reads it. A bad spec and a bad file show their message in the page, not only on the
// console; without WebGPU the page says what to enable; Pause and Continue change nothing in the
// run (its metrics.jsonl is the uninterrupted run's); once loaded, the page opens again with the
// server gone (its service worker, web/sw.js).
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { type AdapterConfig, CHROMIUM, launchChromium, serveWeb, watchPage, type WebSite } from "./util/browser.ts";

const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/**
 * The page open in a fresh browser on `config` (the harness's launch, watch and close, which
 * fails on any Chromium process left), once its state is `ready`; no uncaught error in the page.
 */
async function withPage(
  fn: (page: Page, site: WebSite) => Promise<void>,
  config: AdapterConfig = "compat-lavapipe",
  ready = "idle",
): Promise<void> {
  const site = await serveWeb();
  try {
    const chromium = await launchChromium(config);
    try {
      const page = await chromium.browser.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      const log = watchPage(page);
      await page.goto(site.url, { waitUntil: "load", timeout: 30_000 });
      // the adapter check at load ends in "no-webgpu" or leaves "idle" with its line in the header
      await page.waitForFunction(
        (ready: string) =>
          document.body.dataset.state === ready && !/Looking/.test(document.getElementById("adapter")!.textContent!),
        { timeout: 30_000 },
        ready,
      );
      await fn(page, site);
      assert.deepEqual(log.pageErrors, []);
    } finally {
      await chromium.close();
    }
  } finally {
    await site.close();
  }
}

/** Replaces the editor's text, as typing would. */
async function setSpec(page: Page, edit: (spec: Record<string, unknown>) => void): Promise<void> {
  const text = await page.$eval("#spec-text", (t) => (t as HTMLTextAreaElement).value);
  const spec = JSON.parse(text);
  edit(spec);
  await page.$eval("#spec-text", (t, v) => {
    (t as HTMLTextAreaElement).value = v;
    t.dispatchEvent(new Event("input"));
  }, JSON.stringify(spec, null, 2));
}

/** Pixels of a canvas: how many are (close to) `rgb`, and how many are neither blank nor white. */
function canvasPixels(page: Page, id: string, rgb: [number, number, number]) {
  return page.$eval(`#${id}`, (c, rgb) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let match = 0, coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      if (Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]) < 40) match++;
      const sat = Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]);
      if (sat > 12) coloured++;
    }
    return { match, coloured, total: canvas.width * canvas.height };
  }, rgb);
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);

Deno.test({
  name: "the page trains 20 steps on the synthetic set, draws the loss and C, evaluates, offers the run's files",
  ignore: !haveChromium,
  async fn() {
    await withPage(async (page) => {
      // the default preset is the small run on the synthetic set
      assert.equal(await page.$eval("#preset", (s) => (s as HTMLSelectElement).value), "small");
      assert.equal(await page.$eval('input[value="synthetic"]', (r) => (r as HTMLInputElement).checked), true);
      const blank = await canvasPixels(page, "loss-canvas", [31, 95, 191]);
      assert.equal(blank.match, 0, "no loss line before training");
      await setSpec(page, (s) => (s.steps = 20));
      // kernel tuning (timing every variant on the device) is for real runs; it would triple this one
      await page.$eval("#tune", (c) => ((c as HTMLInputElement).checked = false));
      await page.click("#start");
      await page.waitForFunction(() => ["done", "failed"].includes(document.body.dataset.state ?? ""), {
        timeout: 400_000,
        polling: 500,
      });
      assert.equal(await text(page, "#failure").catch(() => ""), "");
      assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
      assert.equal(await text(page, "#stat-step"), "20 / 20");
      assert.match(await text(page, "#stat-rank"), /^\d+(\.\d+)?$/);
      // the loss line (the page's accent colour) and the heatmap's coloured cells are drawn
      const loss = await canvasPixels(page, "loss-canvas", [31, 95, 191]);
      assert.ok(loss.match > 200, `loss line: ${loss.match} pixels`);
      const heat = await canvasPixels(page, "heatmap-canvas", [0, 0, 0]);
      assert.ok(heat.coloured > heat.total / 4, `heatmap: ${heat.coloured} of ${heat.total} pixels coloured`);
      const results = await text(page, "#results-body");
      assert.match(results, /trained encoder\s+\d+\.\d\d%\s+\d+\.\d\d%/);
      assert.match(results, /random-init encoder\s+\d+\.\d\d%\s+\d+\.\d\d%/);
      // the run folder's files, read back as the terminal would read them
      const files = await page.$$eval("#downloads-list a", async (links) =>
        await Promise.all(links.map(async (a) => {
          const bytes = new Uint8Array(await (await fetch((a as HTMLAnchorElement).href)).arrayBuffer());
          return { name: a.getAttribute("download")!, bytes: Array.from(bytes) };
        })));
      const names = files.map((f) => f.name);
      for (const n of ["checkpoint.safetensors", "metrics.jsonl", "report.json"]) assert.ok(names.includes(n), n);
      const dir = await Deno.makeTempDir({ prefix: "browser_page_test_" });
      try {
        for (const f of files) Deno.writeFileSync(`${dir}/${f.name}`, new Uint8Array(f.bytes));
        const ck = loadCheckpoint(dir);
        assert.equal(ck.step, 20);
        assert.equal((ck.spec as { name: string }).name, "barlow-small");
        const rows = Deno.readTextFileSync(`${dir}/metrics.jsonl`).trim().split("\n").map((l) => JSON.parse(l));
        assert.equal(rows[rows.length - 1].step, 19);
        assert.ok(rows.every((r) => Number.isFinite(r.loss)));
        const report = JSON.parse(Deno.readTextFileSync(`${dir}/report.json`));
        assert.equal(report.steps, 20);
        assert.equal(typeof report.knn_top1, "number");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name: "a bad spec and a bad file show their message in the page",
  ignore: !haveChromium,
  async fn() {
    await withPage(async (page) => {
      await setSpec(page, (s) => ((s.modules as { projector: { widths: number[] } }).projector.widths[1] = 0));
      await page.waitForFunction(() => document.querySelectorAll("#spec-issues li").length > 0, { timeout: 5_000 });
      assert.match(await text(page, "#spec-issues"), /line \d+ · modules\.projector\.widths\[1\]: /);
      await page.click("#start");
      assert.match(await text(page, "#failure"), /The spec has a problem[\s\S]*modules\.projector\.widths\[1\]/);
      await setSpec(page, (s) => ((s.modules as { projector: { widths: number[] } }).projector.widths[1] = 64));
      await page.waitForFunction(() => document.querySelectorAll("#spec-issues li").length === 0, { timeout: 5_000 });

      // files that are not a data set: said as soon as they are chosen, and again on Start
      const dir = await Deno.makeTempDir({ prefix: "browser_page_test_" });
      try {
        Deno.writeTextFileSync(`${dir}/notes.txt`, "not images");
        const input = (await page.$("#data-files-input"))!;
        await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(`${dir}/notes.txt`);
        await page.waitForFunction(() => /IDX file/.test(document.getElementById("data-status")!.textContent!), {
          timeout: 5_000,
        });
        assert.match(await text(page, "#data-status"), /none of the 1 file\(s\) is an IDX file .*notes\.txt/);
        await page.click("#start");
        assert.match(await text(page, "#failure"), /The data could not be read[\s\S]*none of the 1 file/);

        // four files named as IDX files but holding no IDX data: the core's reader says which and why
        for (
          const n of [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
          ]
        ) {
          Deno.writeTextFileSync(`${dir}/${n}`, "garbage");
        }
        const idx = [
          "train-images-idx3-ubyte",
          "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte",
          "t10k-labels-idx1-ubyte",
        ];
        await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(
          ...idx.map((n) => `${dir}/${n}`),
        );
        await page.waitForFunction(() => /Four IDX files/.test(document.getElementById("data-status")!.textContent!), {
          timeout: 5_000,
        });
        await page.click("#start");
        await page.waitForFunction(() => document.body.dataset.state === "failed", { timeout: 60_000 });
        const failure = await text(page, "#failure");
        assert.match(failure, /The data could not be read/);
        assert.match(failure, /train-images-idx3-ubyte/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name: "without WebGPU the page says what to enable and offers no Start",
  ignore: !haveChromium,
  async fn() {
    await withPage(
      async (page) => {
        assert.match(await text(page, "#failure"), /WebGPU is not available[\s\S]*enable-unsafe-webgpu/);
        assert.equal(await page.$eval("#start", (b) => (b as HTMLButtonElement).disabled), true);
      },
      "no-webgpu",
      "no-webgpu",
    );
  },
});

/** The page's metrics.jsonl rows, without their timings. */
async function metricsRows(page: Page): Promise<Record<string, unknown>[]> {
  const text = await page.$$eval("#downloads-list a", async (links) => {
    const a = links.find((l) => l.getAttribute("download") === "metrics.jsonl");
    return a ? await (await fetch((a as HTMLAnchorElement).href)).text() : "";
  });
  return text.trim().split("\n").map((l) => {
    const { seconds: _, ...row } = JSON.parse(l);
    return row;
  });
}

Deno.test({
  name: "Pause saves a checkpoint and Continue ends exactly where an uninterrupted run does",
  ignore: !haveChromium,
  async fn() {
    await withPage(async (page) => {
      await page.$eval("#tune", (c) => ((c as HTMLInputElement).checked = false));
      const finished = () =>
        page.waitForFunction(() => ["done", "failed"].includes(document.body.dataset.state ?? ""), {
          timeout: 400_000,
          polling: 200,
        });
      await page.click("#start");
      await finished();
      const whole = await metricsRows(page);
      assert.equal(whole.length, 200);

      await page.click("#start");
      await page.waitForFunction(
        () =>
          document.body.dataset.state === "training" &&
          parseInt(document.getElementById("stat-step")!.textContent!) >= 30,
        { timeout: 400_000, polling: 100 },
      );
      await page.click("#pause");
      await page.waitForFunction(() => ["paused", "failed"].includes(document.body.dataset.state ?? ""), {
        timeout: 60_000,
      });
      assert.equal(await page.evaluate(() => document.body.dataset.state), "paused");
      const at = parseInt(await text(page, "#stat-step"));
      assert.ok(at > 0 && at < 200, `paused at ${at}`);
      assert.match(await text(page, "#downloads-list"), /checkpoint\.safetensors/);
      assert.equal(await page.$eval("#pause", (b) => b.textContent), "Continue");
      await page.click("#pause");
      await finished();
      assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
      // every step's loss, lr and diagnostics as the uninterrupted run logged them
      assert.deepEqual(await metricsRows(page), whole);
    });
  },
});

Deno.test({
  name: "once loaded, the page opens again with the server gone (its service worker keeps the files)",
  ignore: !haveChromium,
  fn: () =>
    withPage(async (page) => {
      // the worker takes the page's files as they are fetched: wait until it controls the page,
      // then load once more through it, so every file is kept
      await page.waitForFunction(async () => (await navigator.serviceWorker.getRegistration())?.active != null, {
        timeout: 15_000,
      });
      await page.reload({ waitUntil: "load" });
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, { timeout: 15_000 });
      await page.setOfflineMode(true);
      await page.reload({ waitUntil: "load", timeout: 30_000 });
      await page.waitForFunction(() => document.body.dataset.state === "idle", { timeout: 30_000 });
      const presets = await page.$$eval("#preset option", (o) => o.length);
      assert.ok(presets > 5, `the page's script ran offline (${presets} presets listed)`);
      await page.setOfflineMode(false);
    }),
});

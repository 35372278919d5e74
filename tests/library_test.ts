// ssl-webgpu as a library: the README's example (docs/library_example.ts, shown verbatim in the
// README) builds, validates and trains a spec through mod.ts; here for a few steps. A library is
// safe to embed: nothing mod.ts reaches exits the process, and a run's dispose() gives back
// every buffer the run took on the device.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { trainMyMethod } from "../docs/library_example.ts";
import { readMetrics } from "../report/metrics.ts";
import { getGpu, runMethod } from "../mod.ts";
import { countLiveBuffers } from "./util/live_buffers.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const EXAMPLE = new URL("../docs/library_example.ts", import.meta.url);
const README = new URL("../README.md", import.meta.url);

Deno.test("the README shows the library example exactly as it is tested", () => {
  const file = readFileSync(EXAMPLE, "utf8").replaceAll('from "../mod.ts"', 'from "./ssl-webgpu/mod.ts"');
  const readme = readFileSync(README, "utf8");
  const block = /```ts\n(\/\/ Using ssl-webgpu from another project[\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has the library example block");
  assert.equal(block[1], file);
});

Deno.test("library example: a spec built and validated in user code trains through mod.ts (12 steps, synthetic)", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "library-")), "run");
  const losses = await trainMyMethod(out, 12);
  assert.ok(losses.length > 0 && losses.every(Number.isFinite), `losses ${losses}`);
  const steps = readMetrics(join(out, "metrics.jsonl")).filter((r) => typeof r.loss === "number").map((r) => r.step);
  assert.ok(steps.length > 0 && (steps.at(-1) as number) <= 11, `logged steps ${steps}`);
  assert.ok(existsSync(join(out, "checkpoint.safetensors")));
});

Deno.test("the package publishes: `deno publish --dry-run` checks every export for slow types and passes", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, text.slice(-3000));
  assert.match(text, /Success Dry run complete/);
  assert.doesNotMatch(text, /^error/m);
});

/** Every module reachable from `entry` through relative static and literal dynamic imports. */
function importGraph(entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    const code = withoutComments(readFileSync(file, "utf8"));
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
      const next = resolve(dirname(file), m[1]);
      if (!seen.has(next)) seen.add(next), queue.push(next);
    }
  }
  return [...seen];
}

/** Source without its comments (a comment may show `Deno.exit(0)` as usage). */
const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");

Deno.test("nothing reachable from mod.ts exits the process (only the command-line wrappers do)", () => {
  const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
  const files = importGraph(join(root, "mod.ts"));
  assert.ok(files.length > 100, `the walk found only ${files.length} modules: the import pattern no longer matches`);
  assert.ok(files.includes(join(root, "run/command.ts")) && files.includes(join(root, "train/trainer.ts")));
  // an exit is the process's own, or the platform's (host().exit), which platform/ only provides
  const exit = /\b(process|Deno)\.exit\s*\(|\bhost\(\)\.exit\s*\(/;
  const exits = files.filter((f) => !relative(root, f).startsWith("platform/"))
    .filter((f) => exit.test(withoutComments(readFileSync(f, "utf8"))));
  assert.deepEqual(exits.map((f) => relative(root, f)), []);
  // the pattern does find an exit: the wrapper the pipeline files call has one
  assert.match(withoutComments(readFileSync(join(root, "pipelines/run.ts"), "utf8")), exit);
});

Deno.test("train + evaluate + report, then dispose(): the live GPU buffer count returns to where it started", async () => {
  const spec = await smallPipeline("simclr", { img: 16, batch: 16, steps: 4, warmup: 0 }, [], (s) => {
    s.eval = { ...s.eval, knnK: 20, linearEpochs: 1 };
    s.data = { ...s.data, trainLimit: 160, testLimit: 32 };
  });
  const out = join(mkdtempSync(join(tmpdir(), "library-")), "run");
  const live = countLiveBuffers((await getGpu()).device);
  try {
    const run = await runMethod({ spec, out, log: () => {} });
    assert.equal(run.status, "done");
    assert.equal(typeof run.report?.knn_top1, "number");
    assert.ok(live.count() >= 3, `the run holds its step and data sets (${live.count()} buffers)`);
    run.dispose();
    assert.deepEqual(live.labels(), [], "buffers left after dispose()");
    run.dispose(); // twice is harmless
  } finally {
    live.stop();
    rmSync(dirname(out), { recursive: true, force: true });
  }
});

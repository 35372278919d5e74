// A run's life as the command line and run/ see it: the folder lock against two runs at once,
// --steps beyond the schedule, --resume of a finished run (nothing touched), a report that
// describes every segment of a resumed run, an evaluation cut short (a partial report that says
// what is missing), and refusals (bad evaluation settings, no adapter) that leave no folder.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { encode as encodePng } from "fast-png";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { saveSpec } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { EvalSettingsError } from "../eval/evaluate.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { runCommand } from "../run/command.ts";
import { runMethod } from "../run/method_run.ts";
import { MemoryPlanError } from "../step/memory_check.ts";
import { train } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";
import { captured } from "./util/captured.ts";

/** SimCLR at test size: 160 synthetic images, batch 16 (10 steps an epoch), a short evaluation. */
function smallSpec(extra: string[] = [], epochs = 1): Promise<PipelineSpec> {
  return smallPipeline("simclr", { img: 16, batch: 16, steps: 100, warmup: 0 }, extra, (s) => {
    s.epochs = epochs;
    s.eval = { ...s.eval, knnK: 20, linearEpochs: 1 };
    s.data = { ...s.data, trainLimit: 160, testLimit: 32 };
  });
}

const tmp = () => mkdtempSync(join(tmpdir(), "run_lifecycle_test_"));

Deno.test("two runs started at the same moment into one --out: the second is refused (exit 2) naming the holder", async () => {
  const d = tmp();
  const out = join(d, "run");
  try {
    const spec = await smallSpec(["--steps", "4"]);
    const { value: [a, b], err } = await captured(() =>
      Promise.all([runCommand(spec, "t", ["--out", out]), runCommand(spec, "t", ["--out", out])])
    );
    assert.deepEqual([a.code, b.code], [0, 2], err);
    assert.match(
      err,
      new RegExp(
        `error: ${out} is in use by another run: pid ${Deno.pid} on ${hostname()}, started \\d{4}-\\d\\d-\\d\\dT`,
      ),
    );
    // one run's metrics, each step once
    assert.deepEqual(readMetrics(join(out, "metrics.jsonl")).map((r) => r.step), [0, 1, 2, 3]);
    assert.ok(!existsSync(join(out, "run.lock")), "the lock is released at the end");
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("--steps beyond the schedule, --resume of a finished run, a resumed run's report, an interrupted evaluation", async () => {
  const d = tmp();
  const out = join(d, "run");
  try {
    // --steps 100 with one epoch of 10 steps: capped at 10, and said so
    const said: string[] = [];
    const first = await runMethod({ spec: await smallSpec(), out, log: (s) => said.push(s) });
    first.dispose();
    assert.equal(first.status, "done");
    assert.ok(
      said.includes(
        "steps (--steps) 100 is more than 1 epoch of 10 steps: training stops at step 10; for more steps raise --epochs",
      ),
      said.join("\n"),
    );
    assert.equal(first.report!.steps, 10);

    // resuming the finished run: nothing trained, nothing in the folder touched, exit 0
    const files = ["report.json", "correlation.png", "loss.svg", "metrics.jsonl", "checkpoint.safetensors"];
    const before = files.map((f) => readFileSync(join(out, f)));
    const same = await smallSpec();
    const again = await captured(() => runCommand(same, "t", ["--out", out, "--resume", out]));
    assert.equal(again.value.code, 0, again.err);
    assert.match(
      again.out,
      new RegExp(
        `${out} is complete: its checkpoint stands at step 10, at the end of the 10 steps asked for`,
      ),
    );
    assert.match(again.out, /To train it further, resume with more epochs \(--epochs 2 or more\)\.$/);
    assert.doesNotMatch(again.out, /WARNING|\b0 steps in/);
    files.forEach((f, i) => assert.ok(readFileSync(join(out, f)).equals(before[i]), `${f} was rewritten`));
    assert.deepEqual(again.value.report, first.report, "the earlier report is what the command returns");

    // a second epoch, evaluation stopped after the trained encoder's figures (as Ctrl-C stops it)
    let asked = 0;
    const log: string[] = [];
    const second = await runMethod({
      spec: await smallSpec([], 2),
      out,
      resume: out,
      log: (s) => log.push(s),
      stopEvaluation: () => ++asked > 1,
    });
    second.dispose();
    assert.equal(second.status, "partial");
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    // the whole run: 20 steps in two segments, the first loss from step 0, the time of both
    assert.equal(report.steps, 20);
    assert.equal(report.epochs, 2);
    assert.deepEqual(report.segments.map((g: { from_step: number; to_step: number }) => [g.from_step, g.to_step]), [[
      0,
      10,
    ], [10, 20]]);
    const [s1, s2] = report.segments.map((g: { seconds: number }) => g.seconds);
    assert.ok(s1 > 0 && s2 > 0 && Math.abs(report.seconds - (s1 + s2)) <= 0.11, `${report.seconds} s vs ${s1} + ${s2}`);
    const metrics = readMetrics(join(out, "metrics.jsonl"));
    assert.deepEqual(metrics.map((r) => r.step), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(report.loss_first, metrics[0].loss);
    assert.equal(report.loss_last, metrics[19].loss);
    assert.equal(report.loss_first, first.report!.loss_first);
    // what was evaluated is kept; what was not is named, in the report and to the user
    assert.equal(report.partial, true);
    assert.ok(report.knn_top1 > 0 && report.linear_top1 > 0, `${report.knn_top1}, ${report.linear_top1}`);
    assert.deepEqual([report.random_init_knn_top1, report.random_init_linear_top1, report.pixels_knn_top1], [
      null,
      null,
      null,
    ]);
    const missing = ["kNN and linear probe of the random-init encoder", "kNN on raw pixels"];
    assert.deepEqual(report.not_evaluated, missing);
    assert.ok(log.some((s) => s.includes(`not evaluated: ${missing.join(", ")}`)), log.join("\n"));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("a run refused before training (evaluation settings, a missing checkpoint, memory) leaves no run folder", async () => {
  const d = tmp();
  try {
    const out = join(d, "runs", "refused");
    const spec = await smallSpec();
    const tooMany = { ...spec, eval: { ...spec.eval, knnK: 500 } };
    await assert.rejects(() => runMethod({ spec: tooMany, out, log: () => {} }), EvalSettingsError);
    assert.ok(!existsSync(join(d, "runs")), "the folders made for the refused run are gone");
    await assert.rejects(() => train({ spec, out, resume: join(d, "nothing"), log: () => {} }), CheckpointError);
    assert.ok(!existsSync(join(d, "runs")));
    // a step the device cannot hold (a 40000² projector weight): refused after the step is built
    const huge = await smallSpec(["--proj", "40000,40000"]);
    await assert.rejects(() => runMethod({ spec: huge, out, log: () => {} }), MemoryPlanError);
    assert.ok(!existsSync(join(d, "runs")));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("no Vulkan driver: the install hint alone, exit 2, no run folder", async () => {
  const d = tmp();
  try {
    const specFile = join(d, "spec.json");
    saveSpec(specFile, await smallSpec(["--steps", "2"]));
    const out = join(d, "run");
    const env = {
      VK_ICD_FILENAMES: join(d, "none.json"),
      VK_DRIVER_FILES: join(d, "none.json"),
      XDG_RUNTIME_DIR: d,
      NO_COLOR: "1",
    };
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "pipelines/simclr.ts", "--spec", specFile, "--out", out],
      cwd: new URL("..", import.meta.url).pathname,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 2, err);
    assert.match(err, /error: No WebGPU adapter was found\.\nThis project runs WebGPU through Dawn/);
    assert.match(err, /bash \.ci\/setup\.sh/);
    // no stack of ours (Dawn's own driver warnings aside)
    assert.doesNotMatch(err, /^\s+at .*(file:|\.ts:)/m);
    assert.ok(!existsSync(out), "no run folder");
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("Ctrl-C during evaluation: the stage under way finishes, a partial report is written, the user is told (exit 130)", async () => {
  const d = tmp();
  try {
    const specFile = join(d, "spec.json");
    // a long linear probe, so the interrupt lands before the last stage
    const spec = await smallSpec(["--steps", "2"]);
    saveSpec(specFile, { ...spec, eval: { ...spec.eval, linearEpochs: 200 } });
    const out = join(d, "run");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "pipelines/simclr.ts", "--spec", specFile, "--out", out],
      cwd: new URL("..", import.meta.url).pathname,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!text.includes("evaluating: features of the trained encoder")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGINT");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    const { code } = await child.status;
    const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(code, 130, `${text}\n${err}`);
    assert.match(text, /interrupted: finishing the evaluation step under way, then writing a partial report/);
    assert.match(text, /not evaluated: .*kNN on raw pixels/);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    assert.equal(report.partial, true);
    assert.ok(report.not_evaluated.includes("kNN on raw pixels"), report.not_evaluated);
    assert.equal(report.pixels_knn_top1, null);
    assert.equal(report.steps, 2, "the training part of the report is whole");
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("two pipeline processes started together into one --out: one trains, the other exits 2 naming it", async () => {
  const d = tmp();
  try {
    const specFile = join(d, "spec.json");
    saveSpec(specFile, await smallSpec(["--steps", "4"]));
    const out = join(d, "run");
    const start = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "pipelines/simclr.ts", "--spec", specFile, "--out", out],
        cwd: new URL("..", import.meta.url).pathname,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    const children = [start(), start()];
    const results = await Promise.all(children.map((c) => c.output()));
    const codes = results.map((r) => r.code);
    const loser = codes.indexOf(2), winner = 1 - loser;
    const err = (i: number) => new TextDecoder().decode(results[i].stderr);
    assert.deepEqual([...codes].sort(), [0, 2], `${err(0)}\n${err(1)}`);
    assert.match(err(loser), new RegExp(`is in use by another run: pid ${children[winner].pid} on ${hostname()}`));
    assert.deepEqual(readMetrics(join(out, "metrics.jsonl")).map((r) => r.step), [0, 1, 2, 3]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

Deno.test("a run on an image folder of one class says, in report.json and the summary, that its accuracies mean nothing", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "cat"));
  // 50 gray 16×16 images of one class: 40 train, 10 test (the folder's default split)
  for (let i = 0; i < 50; i++) {
    const data = new Uint8Array(16 * 16).map((_, p) => (p * 7 + i * 13) & 255);
    writeFileSync(
      join(dir, "cat", `${String(i).padStart(2, "0")}.png`),
      encodePng({ width: 16, height: 16, data, channels: 1 }),
    );
  }
  const spec = await smallSpec(["--data", dir], 1);
  spec.data = { ...spec.data, trainLimit: undefined, testLimit: undefined };
  spec.batch = 8;
  const out = join(tmp(), "run");
  const { value: code, out: printed } = await captured(async () =>
    (await runCommand(spec, "test", ["--out", out])).code
  );
  assert.equal(code, 0, printed);
  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.match(report.label_warning ?? "", /has one class \('cat'\).*100% by construction/);
  assert.match(printed, /WARNING: .*has one class \('cat'\)/);
  rmSync(dir, { recursive: true });
});

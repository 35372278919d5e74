// Checkpoint and resume: a run stopped part-way (TrainOptions.stopAfter, which saves a
// checkpoint as an interrupt does) and resumed from its folder ends bitwise where the
// uninterrupted run ends — parameters, momentum, BN running stats, EMA weights, MoCo's queue —
// with the same per-step losses after the resume point. Bad checkpoints give CheckpointError
// messages naming the file.
import { readFileSync, writeFileSync } from "node:fs";
import { makeSynthetic } from "../data/synthetic.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { CHECKPOINT_FILE, CheckpointError, loadCheckpoint } from "../io/checkpoint.ts";
import { ResumeError } from "../dsl/resume.ts";
import { readMetrics } from "../report/metrics.ts";
import { train, type TrainResult } from "../train/trainer.ts";
import { smallPipeline } from "./util/small_pipeline.ts";

const IMG = 12, BATCH = 16, TOTAL = 16;
/** 10 steps per epoch: the runs cross an epoch boundary (new shuffle) after the resume point */
const data = makeSynthetic({ train: 10 * BATCH, test: 16, size: IMG, classes: 4, seed: 3 });
const quiet = () => {};

/** A pipeline at a small size with warmup + cosine lr (and cosine τ for BYOL), so a resumed run must pick the schedules up mid-way. */
function smallSpec(name: string, extra: string[] = []): Promise<PipelineSpec> {
  return smallPipeline(name, { img: IMG, batch: BATCH, steps: TOTAL, warmup: 0.5 }, extra);
}

const tmp = () => Deno.makeTempDirSync({ prefix: "resume_test_" });

async function persistent(run: TrainResult): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const name of run.exec.program.persistent.keys()) out.set(name, await run.exec.read(name));
  run.exec.destroy();
  return out;
}

async function checkResume(name: string, stopAt: number, extra: string[] = []) {
  const spec = await smallSpec(name, extra);
  const [a, b] = [tmp(), tmp()];
  try {
    const straight = await train({ spec, out: a, data, logEvery: 1, log: quiet });
    const want = await persistent(straight);

    const first = await train({ spec, out: b, data, logEvery: 1, log: quiet, stopAfter: stopAt });
    (await persistent(first)).clear();
    if (first.steps !== stopAt) throw new Error(`first part ran ${first.steps} steps, expected ${stopAt}`);
    const ck = loadCheckpoint(b);
    if (ck.step !== stopAt) throw new Error(`checkpoint of the first part is at step ${ck.step}, expected ${stopAt}`);

    const second = await train({ spec, out: b, data, logEvery: 1, log: quiet, resume: b });
    if (second.steps !== TOTAL - stopAt) {
      throw new Error(`resumed part ran ${second.steps} steps, expected ${TOTAL - stopAt}`);
    }
    // the losses after the resume point are the uninterrupted run's, bit for bit
    const straightLoss = new Map(straight.losses.map((l) => [l.step, l.loss]));
    for (const l of second.losses) {
      if (l.loss !== straightLoss.get(l.step)) {
        throw new Error(`step ${l.step}: resumed loss ${l.loss}, uninterrupted ${straightLoss.get(l.step)}`);
      }
    }
    const got = await persistent(second);
    if (got.size !== want.size || got.size < 10) throw new Error(`persistent tensors: ${got.size} vs ${want.size}`);
    for (const [k, w] of want) {
      const g = got.get(k)!;
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]));
      if (!(worst <= 1e-6)) throw new Error(`'${k}' after resume differs from the uninterrupted run by ${worst}`);
    }
    // one metrics record per step across both parts, and the final checkpoint at the end
    const steps = readMetrics(`${b}/metrics.jsonl`).map((r) => r.step);
    if (steps.join() !== Array.from({ length: TOTAL }, (_, i) => i).join()) throw new Error(`metrics steps ${steps}`);
    if (loadCheckpoint(b).step !== TOTAL) {
      throw new Error("the resumed run should end with a checkpoint at the last step");
    }
  } finally {
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
}

Deno.test("MoCo stopped mid-epoch (step 7) and resumed ends bitwise at the uninterrupted run (queue, EMA, momentum, BN)", async () => {
  await checkResume("moco", 7, ["--queue", "48"]);
});

Deno.test("BYOL stopped at the epoch boundary and resumed: LARS, cosine lr and cosine τ continue exactly", async () => {
  await checkResume("byol", 10);
});

Deno.test("corrupt, truncated, missing or foreign checkpoints give CheckpointError naming the file", async () => {
  const spec = await smallSpec("simclr", ["--steps", "2"]);
  const [out, elsewhere] = [tmp(), tmp()];
  const resume = async (s: PipelineSpec, from: string): Promise<string> => {
    try {
      const run = await train({ spec: s, out: elsewhere, data, logEvery: 1, log: quiet, resume: from });
      run.exec.destroy();
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`expected CheckpointError, got ${e}`);
      return e.message;
    }
    throw new Error("resume should have failed");
  };
  try {
    (await train({ spec, out, data, logEvery: 1, log: quiet })).exec.destroy();
    const file = `${out}/${CHECKPOINT_FILE}`;
    const good = readFileSync(file);

    writeFileSync(file, good.subarray(0, good.length - 100));
    let msg = await resume(spec, out);
    if (!msg.includes(file) || !/truncated/.test(msg)) throw new Error(`truncated: ${msg}`);

    const garbage = Uint8Array.from(good);
    garbage.fill(0x7b, 8, 40); // '{{{{…' in the JSON header
    writeFileSync(file, garbage);
    msg = await resume(spec, out);
    if (!msg.includes(file) || !/header is not JSON/.test(msg)) throw new Error(`corrupt header: ${msg}`);

    msg = await resume(spec, `${out}/nothing-here`);
    if (!msg.includes(`${out}/nothing-here/${CHECKPOINT_FILE}`) || !/file not found/.test(msg)) {
      throw new Error(`missing: ${msg}`);
    }

    writeFileSync(file, good);
  } finally {
    Deno.removeSync(out, { recursive: true });
    Deno.removeSync(elsewhere, { recursive: true });
  }
});

Deno.test("resume accepts a changed lr or schedule length (and says so) but names every other changed field", async () => {
  const spec = await smallSpec("simclr", ["--steps", "2"]);
  const out = tmp();
  try {
    (await train({ spec, out, data, logEvery: 1, log: quiet })).exec.destroy();
    const said: string[] = [];
    const longer = await smallSpec("simclr", ["--steps", "4", "--lr", "0.7"]);
    const run = await train({ spec: longer, out, data, logEvery: 1, log: (s) => said.push(s), resume: out });
    run.exec.destroy();
    if (run.steps !== 2 || run.endStep !== 4) throw new Error(`resumed run: ${run.steps} steps to step ${run.endStep}`);
    const text = said.join("\n");
    if (!/changed on resume:\n\s+optimizer\.lr: [\d.]+ → 0\.7\n\s+steps: 2 → 4/.test(text)) {
      throw new Error(`changes not reported:\n${text}`);
    }
    let err: unknown;
    try {
      await train({
        spec: await smallSpec("simclr", ["--steps", "4", "--seed", "5", "--temp", "0.3"]),
        out,
        data,
        log: quiet,
        resume: out,
      });
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ResumeError)) throw new Error(`expected ResumeError, got ${err}`);
    for (const want of [`${out}/${CHECKPOINT_FILE}`, "seed: 0 → 5", "temperature: 0.5 → 0.3", "optimizer.lr"]) {
      if (!err.message.includes(want)) throw new Error(`message lacks "${want}": ${err.message}`);
    }
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("a run killed after its last checkpoint and resumed logs every step once (metrics cut back to the checkpoint)", async () => {
  const spec = await smallSpec("simclr");
  const out = tmp();
  try {
    (await train({ spec, out, data, logEvery: 1, log: quiet, stopAfter: 10 })).exec.destroy();
    const atTen = readFileSync(`${out}/${CHECKPOINT_FILE}`);
    (await train({ spec, out, data, logEvery: 1, log: quiet, resume: out, stopAfter: 14 })).exec.destroy();
    // as if killed after logging steps 10–13 but before writing the step-14 checkpoint
    writeFileSync(`${out}/${CHECKPOINT_FILE}`, atTen);
    const said: string[] = [];
    (await train({ spec, out, data, logEvery: 1, log: (s) => said.push(s), resume: out })).exec.destroy();
    const steps = readMetrics(`${out}/metrics.jsonl`).map((r) => r.step);
    if (steps.join() !== Array.from({ length: TOTAL }, (_, i) => i).join()) throw new Error(`metrics steps ${steps}`);
    if (!said.some((s) => /dropped 4 record\(s\) from step 10 on/.test(s))) {
      throw new Error(`not reported:\n${said.join("\n")}`);
    }
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

// Every runnable pipeline (pipelines/*.ts exports its `spec`) trains end to end through
// train() on the synthetic set at a small size: the loss falls over 20 steps, stays finite,
// and the run leaves its metrics, checkpoint and result fields. A non-finite loss stops the
// run with NonFiniteLossError naming the step and keeps the last good checkpoint; bad flags
// give FlagError messages naming the flag.
import { join } from "node:path";
import { makeSynthetic } from "../data/synthetic.ts";
import { FlagError, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../step/validate.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { DIAG_KEYS } from "../train/diagnostics.ts";
import { shuffleOrder } from "../data/shuffle.ts";
import { smallPipeline } from "./util/small_pipeline.ts";
import { NonFiniteLossError, train } from "../train/trainer.ts";

const IMG = 12, BATCH = 16, STEPS = 20;
/** 10 steps per epoch: the run crosses an epoch boundary (new shuffle, mid-run checkpoint) */
const data = makeSynthetic({ train: 10 * BATCH, test: 16, size: IMG, classes: 4, seed: 1 });
const quiet = () => {};

/**
 * Per-pipeline flags on top of the common small size. The presets' lrs are tuned for batch 256
 * and long runs; at batch 16 they are scaled by 16/256, which moves the weights too little to
 * see an effect in 20 steps, so each method gets a larger base lr here. Per-batch losses on this
 * set vary more from batch to batch than 20 steps of training move them, so "the loss falls"
 * is judged against the same run with frozen weights (same batches, same augmentations).
 */
const SETTINGS: Record<string, { flags: string[] }> = {
  barlow: { flags: ["--lr", "2"] },
  barlow_mean: { flags: ["--lr", "2"] },
  simclr: { flags: ["--lr", "3"] },
  moco: { flags: ["--lr", "3", "--queue", String(BATCH)] },
  byol: { flags: ["--lr", "4"] },
  simsiam: { flags: ["--lr", "1"] },
  vicreg: { flags: ["--lr", "2"] },
  contrastive_clustering: { flags: ["--lr", "0.05"] },
};

function pipelineSpec(name: string, extra: string[] = []): Promise<PipelineSpec> {
  const size = { img: IMG, batch: BATCH, steps: STEPS, warmup: 0, flags: SETTINGS[name].flags };
  return smallPipeline(name, size, extra, (spec) => (spec.eval = { ...spec.eval, linearEpochs: 0 }));
}

const tmp = () => Deno.makeTempDirSync({ prefix: "pipelines_test_" });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const name of Object.keys(SETTINGS)) {
  Deno.test(`pipelines/${name}.ts: 20 steps on synthetic data lower the loss below the frozen run's on the same batches; run fields and files exist`, async () => {
    const spec = await pipelineSpec(name);
    const out = tmp();
    try {
      const run = await train({ spec, out, data, logEvery: 1, diagEvery: 1000, log: quiet });
      try {
        const losses = run.losses.map((l) => l.loss);
        if (losses.length !== STEPS || run.losses.some((l, i) => l.step !== i)) {
          throw new Error(`expected a loss per step, got steps ${run.losses.map((l) => l.step)}`);
        }
        if (losses.some((l) => !Number.isFinite(l))) throw new Error(`non-finite loss: ${losses}`);
        // the same run with the weights (nearly) frozen sees the same batches and augmentations,
        // so the paired difference over the last steps is the effect of training alone
        const frozenOut = tmp();
        const frozen = await train({
          spec: await pipelineSpec(name, ["--lr", "1e-9"]),
          out: frozenOut,
          data,
          logEvery: 1,
          diagEvery: 1000,
          log: quiet,
        });
        frozen.exec.destroy();
        Deno.removeSync(frozenOut, { recursive: true });
        const lastK = (xs: number[]) => mean(xs.slice(-5));
        const trained = lastK(losses), still = lastK(frozen.losses.map((l) => l.loss));
        console.log(
          `${name.padEnd(12)} last 5 steps: loss ${trained.toFixed(4)} trained vs ${still.toFixed(4)} frozen  (${
            run.imagesPerSec.toFixed(0)
          } img/s)`,
        );
        if (!(trained < still)) {
          throw new Error(
            `training did not lower the loss on the same batches: ${trained} vs ${still} frozen (${
              losses.map((l) => l.toFixed(4)).join(" ")
            })`,
          );
        }

        // result fields
        if (run.steps !== STEPS || run.epochs !== 2 || run.interrupted) {
          throw new Error(`steps ${run.steps}, epochs ${run.epochs}, interrupted ${run.interrupted}`);
        }
        if (!(run.seconds > 0 && run.imagesPerSec > 0)) {
          throw new Error(`timing fields ${run.seconds} s, ${run.imagesPerSec} img/s`);
        }
        for (const k of [...DIAG_KEYS, "effective_rank"]) {
          if (!Number.isFinite(run.diag[k])) throw new Error(`diagnostic ${k} = ${run.diag[k]}`);
        }
        if (!run.C || run.C.d !== 16 || run.C.data.length !== 16 * 16 || run.C.data.some((x) => !Number.isFinite(x))) {
          throw new Error("cross-correlation matrix missing or malformed");
        }
        if (run.lowered.encoder !== "encoder") throw new Error(`encoder module ${run.lowered.encoder}`);

        // files: one metrics record per step, the final checkpoint at step 20 with this spec's hash
        const metrics = readMetrics(join(out, "metrics.jsonl"));
        if (metrics.length !== STEPS || metrics[STEPS - 1].step !== STEPS - 1) {
          throw new Error(`metrics.jsonl has ${metrics.length} records`);
        }
        if (Math.abs((metrics[5].loss as number) - losses[5]) > 1e-6) {
          throw new Error("metrics and returned losses disagree");
        }
        const ck = loadCheckpoint(out, { specHash: specHash(spec) });
        if (ck.step !== STEPS || ck.epoch !== 2) throw new Error(`checkpoint at step ${ck.step}, epoch ${ck.epoch}`);
        const w = await run.exec.read("encoder.0.linear.weight");
        const saved = ck.tensors["encoder.0.linear.weight"].data;
        if (saved.length !== w.length || saved.some((x, i) => x !== w[i])) {
          throw new Error("checkpoint does not hold the final weights");
        }
      } finally {
        run.exec.destroy();
      }
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  });
}

/**
 * A dataset whose image `victim` is all NaN, chosen so that it is first drawn at step ≥ 11:
 * with 168 images and batch 16 an epoch is 10 steps and leaves 8 images out, so the victim
 * is one of the 8 that epoch 1 skips, placed by epoch 2's shuffle after its first batch.
 */
function poisoned(seed: number) {
  const bad = makeSynthetic({ train: 10 * BATCH + 8, test: 16, size: IMG, classes: 4, seed: 1 });
  const first = shuffleOrder(bad.train.n, seed, 0), second = shuffleOrder(bad.train.n, seed, 1);
  const pos = (order: Uint32Array, i: number) => order.indexOf(i);
  const skipped = Array.from(first.subarray(10 * BATCH));
  const victim = skipped.filter((i) => pos(second, i) >= BATCH && pos(second, i) < 10 * BATCH)
    .sort((a, b) => pos(second, a) - pos(second, b))[0];
  if (victim === undefined) throw new Error("no image is skipped by epoch 1 and drawn after step 10: change the seed");
  bad.train.images.fill(NaN, victim * IMG * IMG, (victim + 1) * IMG * IMG);
  return { data: bad, step: 10 + Math.floor(pos(second, victim) / BATCH) };
}

/** runs train() expecting a NonFiniteLossError; returns its message and checks the kept checkpoint */
async function expectNonFinite(spec: PipelineSpec, d: typeof data, checkpointStep: number): Promise<string> {
  const out = tmp();
  try {
    let err: unknown;
    try {
      const run = await train({ spec, out, data: d, logEvery: 1, log: quiet });
      run.exec.destroy();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof NonFiniteLossError)) throw new Error(`expected NonFiniteLossError, got ${err}`);
    const kept = `The last good checkpoint (step ${checkpointStep}, epoch 1) is kept in ${
      join(out, "checkpoint.safetensors")
    }`;
    if (!err.message.includes(kept)) throw new Error(`message should say which checkpoint is kept: ${err.message}`);
    const ck = loadCheckpoint(out, { specHash: specHash(spec) });
    if (ck.step !== checkpointStep) {
      throw new Error(`the kept checkpoint is at step ${ck.step}, expected ${checkpointStep} (${err.message})`);
    }
    for (const [k, t] of Object.entries(ck.tensors)) {
      if (t.data.some((x) => !Number.isFinite(x))) throw new Error(`checkpoint tensor ${k} is not finite`);
    }
    return err.message;
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
}

Deno.test("a NaN loss stops training with NonFiniteLossError naming the step; the epoch-1 checkpoint stays", async () => {
  // Without ReLU (and views of crop + flip only, which carry NaN through; colour jitter clamps)
  // one NaN image makes the batch statistics, and so the loss, NaN at the step that draws it.
  const spec = structuredClone(await pipelineSpec("simclr"));
  for (const v of spec.views) v.aug = { crop: v.aug.crop, flip: 0.5 };
  spec.modules.encoder = {
    kind: "mlp",
    widths: [32],
    bias: false,
    bn: true,
    relu: false,
    lastBn: true,
    lastBnAffine: true,
    lastRelu: false,
  };
  spec.modules.projector = {
    kind: "mlp",
    widths: [32, 16],
    bias: true,
    bn: true,
    relu: false,
    lastBn: false,
    lastBnAffine: true,
    lastRelu: false,
  };
  const { data: bad, step } = poisoned(spec.seed);
  const msg = await expectNonFinite(validateSpec(spec), bad, 10);
  if (!msg.includes(`loss became NaN at step ${step} (epoch 2)`)) {
    throw new Error(`message should name step ${step}: ${msg}`);
  }
});

Deno.test("NaN weights behind a finite loss (ReLU launders NaN on some adapters) are caught before the checkpoint", async () => {
  // With the pipeline's own ReLU encoder, WGSL's max(NaN, 0) may return 0 (it does on
  // lavapipe): the weights go NaN while the loss stays a finite constant. The trainer must
  // then refuse to overwrite the good epoch-1 checkpoint with the broken one.
  const spec = structuredClone(await pipelineSpec("simclr"));
  for (const v of spec.views) v.aug = { crop: v.aug.crop, flip: 0.5 };
  const { data: bad, step } = poisoned(spec.seed);
  const msg = await expectNonFinite(validateSpec(spec), bad, 10);
  const named = msg.includes(`loss became NaN at step ${step} (epoch 2)`) ||
    msg.includes(`became non-finite by step ${STEPS} (epoch 2)`);
  if (!named) throw new Error(`message should name the step: ${msg}`);
  console.log(`this adapter: ${msg.split(";")[0]}`);
});

Deno.test("a huge lr (1e6) diverges into NonFiniteLossError, not silent garbage", async () => {
  const spec = await pipelineSpec("vicreg", ["--lr", "1e6"]);
  const out = tmp();
  try {
    let err: unknown;
    try {
      const run = await train({ spec, out, data, logEvery: 1, log: quiet });
      run.exec.destroy();
      throw new Error(`lr 1e6 trained to the end with losses ${run.losses.map((l) => l.loss)}`);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof NonFiniteLossError)) throw err;
    if (!/(loss became (NaN|Infinity|-Infinity) at|became non-finite by) step \d+ \(epoch \d+\)/.test(err.message)) {
      throw new Error(`message should name the step: ${err.message}`);
    }
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("invalid flags give FlagError messages naming the flag", async () => {
  const moco = (await import("../pipelines/moco.ts")).spec;
  const simclr = (await import("../pipelines/simclr.ts")).spec;
  const cases: [PipelineSpec, string[], string, RegExp][] = [
    [moco, ["--lr", "fast"], "--lr", /expected a number > 0, got 'fast'/],
    [moco, ["--lr", "0"], "--lr", /a number > 0/],
    [moco, ["--lrr", "0.1"], "--lrr", /unknown flag; did you mean --lr\?/],
    [moco, ["--batch", "1"], "--batch", /an integer ≥ 2/],
    [moco, ["--steps", "2.5"], "--steps", /a positive integer/],
    [moco, ["--proj", "128,x"], "--proj", /comma-separated positive integers/],
    [moco, ["--encoder", "vit:3"], "--encoder", /mlp\[:widths\], cnn\[:channels\] or resnet18/],
    [moco, ["--seed"], "--seed", /expected a value/],
    [moco, ["--seed", "1", "--seed", "2"], "--seed", /given more than once/],
    [moco, ["--help=yes"], "--help", /takes no value/],
    [moco, ["--tau", "1.5"], "--tau", /in \[0, 1\]/],
    [moco, ["--lambda", "0.1"], "--lambda", /the loss has no barlowTwins term/],
    [simclr, ["--queue", "4096"], "--queue", /the spec has no queue/],
    [simclr, ["--tau", "0.99"], "--tau", /the spec has no ema branch/],
    [simclr, ["--pred", "64,128"], "--pred", /no module named 'predictor'/],
    [moco, ["fast"], "fast", /unexpected argument/],
    // an empty folder (an unset shell variable) used to mean runs/<name> without a word
    [moco, ["--out", ""], "--out", /expected a folder, got an empty string/],
    [moco, ["--out="], "--out", /expected a folder, got an empty string/],
    [moco, ["--resume", ""], "--resume", /expected a folder, got an empty string/],
  ];
  for (const [spec, args, flag, re] of cases) {
    let err: unknown;
    try {
      parseFlags(args, spec);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof FlagError)) throw new Error(`${args.join(" ")}: expected FlagError, got ${err}`);
    if (err.flag !== flag || !err.message.startsWith(`${flag}: `) || !re.test(err.message)) {
      throw new Error(`${args.join(" ")}: message '${err.message}' should name ${flag} and match ${re}`);
    }
  }
  // a value that parses but makes the spec invalid is a SpecError that names the flags applied
  let err: unknown;
  try {
    parseFlags(["--queue", "100", "--batch", "64"], moco);
  } catch (e) {
    err = e;
  }
  if (
    !(err instanceof SpecError) || !/multiple of the batch/.test(err.message) ||
    !/after applying --queue --batch/.test(err.message)
  ) {
    throw new Error(`queue not a multiple of the batch: ${err}`);
  }
  // and the good flags do what they say
  const ok = parseFlags(
    ["--lr", "0.5", "--batch", "32", "--queue", "96", "--out", "/tmp/x", "--resume", "/tmp/x"],
    moco,
  );
  if (
    ok.spec.optimizer.lr !== 0.5 || ok.spec.batch !== 32 || ok.spec.queues[0].size !== 96 || ok.out !== "/tmp/x" ||
    ok.resume !== "/tmp/x"
  ) {
    throw new Error(
      `flags not applied: ${JSON.stringify({ lr: ok.spec.optimizer.lr, batch: ok.spec.batch, out: ok.out })}`,
    );
  }
});

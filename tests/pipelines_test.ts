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
import { validateSpec } from "../dsl/validate.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { readMetrics } from "../report/metrics.ts";
import { DIAG_KEYS } from "../train/diagnostics.ts";
import { NonFiniteLossError, train } from "../train/trainer.ts";

const IMG = 12, BATCH = 16, STEPS = 20;
/** 10 steps per epoch: the run crosses an epoch boundary (new shuffle, mid-run checkpoint) */
const data = makeSynthetic({ train: 10 * BATCH, test: 16, size: IMG, classes: 4, seed: 1 });
const quiet = () => {};

/**
 * Per-pipeline flags on top of the common small size. The presets' lrs are tuned for batch 256
 * and long runs; at batch 16 they are scaled by 16/256, which moves the weights too little to
 * see a trend in 20 steps, so each method gets a larger base lr here (measured: with these the
 * first-3 vs last-3 mean falls for every method on this data).
 */
const SETTINGS: Record<string, string[]> = {
  barlow: ["--lr", "2"],
  "barlow-mean": ["--lr", "2"],
  simclr: ["--lr", "3"],
  moco: ["--lr", "3", "--queue", "64"],
  byol: ["--lr", "4"],
  simsiam: ["--lr", "1"],
  vicreg: ["--lr", "2"],
};

async function pipelineSpec(name: string, extra: string[] = []): Promise<PipelineSpec> {
  const mod = await import(`../pipelines/${name}.ts`) as { spec: PipelineSpec };
  const flags = ["--data", "synthetic", "--encoder", "mlp:32", "--proj", "32,16", "--batch", String(BATCH), "--epochs", "2", "--steps", String(STEPS), "--warmup", "0", ...SETTINGS[name], ...extra];
  const spec = structuredClone(parseFlags(flags, mod.spec).spec);
  // crop to the synthetic image size (there is no flag for the view size)
  for (const v of spec.views) if (v.aug.crop) v.aug.crop.size = IMG;
  spec.eval = { ...spec.eval, linearEpochs: 0 };
  return validateSpec(spec);
}

const tmp = () => Deno.makeTempDirSync({ prefix: "pipelines_test_" });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const name of Object.keys(SETTINGS)) {
  Deno.test(`pipelines/${name}.ts: 20 steps on synthetic data, loss falls, run fields and files exist`, async () => {
    const spec = await pipelineSpec(name);
    const out = tmp();
    try {
      const run = await train({ spec, out, data, logEvery: 1, diagEvery: 1000, log: quiet });
      try {
        const losses = run.losses.map((l) => l.loss);
        if (losses.length !== STEPS || run.losses.some((l, i) => l.step !== i)) throw new Error(`expected a loss per step, got steps ${run.losses.map((l) => l.step)}`);
        if (losses.some((l) => !Number.isFinite(l))) throw new Error(`non-finite loss: ${losses}`);
        const first = mean(losses.slice(0, 3)), last = mean(losses.slice(-3));
        console.log(`${name.padEnd(12)} loss ${first.toFixed(4)} → ${last.toFixed(4)}  (${run.imagesPerSec.toFixed(0)} img/s)`);
        if (!(last < first)) throw new Error(`loss did not fall: first 3 mean ${first}, last 3 mean ${last} (${losses.map((l) => l.toFixed(4)).join(" ")})`);

        // result fields
        if (run.steps !== STEPS || run.epochs !== 2 || run.interrupted) throw new Error(`steps ${run.steps}, epochs ${run.epochs}, interrupted ${run.interrupted}`);
        if (!(run.seconds > 0 && run.imagesPerSec > 0)) throw new Error(`timing fields ${run.seconds} s, ${run.imagesPerSec} img/s`);
        for (const k of [...DIAG_KEYS, "effective_rank"]) {
          if (!Number.isFinite(run.diag[k])) throw new Error(`diagnostic ${k} = ${run.diag[k]}`);
        }
        if (!run.C || run.C.d !== 16 || run.C.data.length !== 16 * 16 || run.C.data.some((x) => !Number.isFinite(x))) throw new Error("cross-correlation matrix missing or malformed");
        if (run.lowered.encoder !== "encoder") throw new Error(`encoder module ${run.lowered.encoder}`);

        // files: one metrics record per step, the final checkpoint at step 20 with this spec's hash
        const metrics = readMetrics(join(out, "metrics.jsonl"));
        if (metrics.length !== STEPS || metrics[STEPS - 1].step !== STEPS - 1) throw new Error(`metrics.jsonl has ${metrics.length} records`);
        if (Math.abs((metrics[5].loss as number) - losses[5]) > 1e-6) throw new Error("metrics and returned losses disagree");
        const ck = loadCheckpoint(out, { specHash: specHash(spec) });
        if (ck.step !== STEPS || ck.epoch !== 2) throw new Error(`checkpoint at step ${ck.step}, epoch ${ck.epoch}`);
        const w = await run.exec.read("encoder.0.linear.weight");
        const saved = ck.tensors["encoder.0.linear.weight"].data;
        if (saved.length !== w.length || saved.some((x, i) => x !== w[i])) throw new Error("checkpoint does not hold the final weights");
      } finally {
        run.exec.destroy();
      }
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  });
}

Deno.test("a non-finite loss stops training with NonFiniteLossError naming the step; the last good checkpoint stays", async () => {
  // Image 3 of the second epoch's first batch is NaN (views: crop + flip only, which carry it
  // through; colour jitter would clamp it away): epoch 1 (steps 0–9) trains and is
  // checkpointed, step 10 gives a NaN loss.
  const spec = await pipelineSpec("simclr");
  for (const v of spec.views) v.aug = { crop: v.aug.crop, flip: 0.5 };
  const bad = structuredClone(data);
  const { epochOrder } = await import("../train/trainer.ts");
  const img = IMG * IMG, victim = epochOrder(bad.train.n, spec.seed, 1)[3];
  bad.train.images.fill(NaN, victim * img, (victim + 1) * img);
  const out = tmp();
  try {
    let err: unknown;
    try {
      await train({ spec, out, data: bad, logEvery: 1, log: quiet });
    } catch (e) {
      err = e;
    }
    if (!(err instanceof NonFiniteLossError)) throw new Error(`expected NonFiniteLossError, got ${err}`);
    if (!/loss became NaN at step 10 \(epoch 2\)/.test(err.message)) throw new Error(`message should name the step: ${err.message}`);
    const ck = loadCheckpoint(out, { specHash: specHash(spec) });
    if (ck.step !== 10 || ck.epoch !== 1) throw new Error(`the kept checkpoint is at step ${ck.step}, expected the end of epoch 1 (10)`);
    for (const [k, t] of Object.entries(ck.tensors)) if (t.data.some((x) => !Number.isFinite(x))) throw new Error(`checkpoint tensor ${k} is not finite`);
    const metrics = readMetrics(join(out, "metrics.jsonl"));
    if (metrics.length !== 10 || metrics.some((m) => !Number.isFinite(m.loss as number))) throw new Error("metrics should hold the 10 good steps only");
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("a huge lr (1e6) diverges into NonFiniteLossError, not silent garbage", async () => {
  const spec = await pipelineSpec("moco", ["--lr", "1e6", "--wd", "0"]);
  spec.optimizer = { ...spec.optimizer, momentum: 0 } as PipelineSpec["optimizer"];
  const out = tmp();
  try {
    let err: unknown, run;
    try {
      run = await train({ spec, out, data, logEvery: 1, log: quiet });
    } catch (e) {
      err = e;
    }
    if (run) {
      run.exec.destroy();
      throw new Error(`lr 1e6 trained to the end with losses ${run.losses.map((l) => l.loss)}`);
    }
    if (!(err instanceof NonFiniteLossError)) throw new Error(`expected NonFiniteLossError, got ${err}`);
    if (!/at step \d+ \(epoch \d+\)/.test(err.message) || !err.message.includes(out)) throw new Error(`message should name the step and the run folder: ${err.message}`);
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
  if (!(err instanceof SpecError) || !/multiple of the batch/.test(err.message) || !/after applying --queue --batch/.test(err.message)) {
    throw new Error(`queue not a multiple of the batch: ${err}`);
  }
  // and the good flags do what they say
  const ok = parseFlags(["--lr", "0.5", "--batch", "32", "--queue", "96", "--out", "/tmp/x", "--resume", "/tmp/x"], moco);
  if (ok.spec.optimizer.lr !== 0.5 || ok.spec.batch !== 32 || ok.spec.queues[0].size !== 96 || ok.out !== "/tmp/x" || ok.resume !== "/tmp/x") {
    throw new Error(`flags not applied: ${JSON.stringify({ lr: ok.spec.optimizer.lr, batch: ok.spec.batch, out: ok.out })}`);
  }
});

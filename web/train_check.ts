// The training check page: no UI of its own, it offers the page's training to a harness that
// drives the browser (tests/browser_train_test.ts, bench/browser.ts) as `window.sslCheck`, called
// through page.evaluate with JSON in and out (a checkpoint as base64). body[data-state] is
// "ready" once it can be called, "failed" if it could not load.
//   train(req)       a spec trained in the page (web/page_run.ts): per-step losses, the checkpoint
//   benchStep(req)   the reference Barlow Twins step (bench/step.ts) timed on the page's GPU
//   fullRun(req)     a spec run end to end (train, evaluate, report) on a data set the server serves
import type { PipelineSpec } from "../dsl/schema.ts";
import { getGpu } from "../runtime/device.ts";
import { btStep } from "../bench/step.ts";
import { fetchDataset, runInPage } from "./page_run.ts";

export interface TrainRequest {
  spec: PipelineSpec;
  stopAfter?: number;
  /** base64 of a checkpoint.safetensors to continue from */
  resume?: string;
}

export interface TrainReply {
  adapter: string;
  /** the adapter's subgroups were used (the subgroup matmul kernels) */
  subgroups: boolean;
  losses: number[];
  /** the step of each loss */
  steps: number[];
  endStep: number;
  /** base64 of the run's checkpoint.safetensors */
  checkpoint: string;
}

export interface BenchRequest {
  batch?: number;
  encoder?: number[];
  proj?: number[];
  /** timed steps after the warm-up step */
  iterations: number;
}

export interface BenchReply {
  adapter: string;
  description: string;
  /** seconds of each timed step */
  seconds: number[];
}

export interface FullRunRequest {
  spec: PipelineSpec;
  /** where the server serves the data set's files, e.g. "/data/fashion-mnist/" */
  dataUrl: string;
  kind: string;
  trainLimit?: number;
  testLimit?: number;
}

export interface FullRunReply {
  adapter: string;
  seconds: number;
  endStep: number;
  lastLoss: number;
  report: Record<string, unknown>;
  log: string[];
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function trainCheck(req: TrainRequest): Promise<TrainReply> {
  const run = await runInPage({
    spec: req.spec,
    stopAfter: req.stopAfter,
    resume: req.resume === undefined ? undefined : fromBase64(req.resume),
    logEvery: 1,
  });
  return {
    adapter: run.adapter,
    subgroups: run.features.subgroups,
    losses: run.losses.map((l) => l.loss),
    steps: run.losses.map((l) => l.step),
    endStep: run.endStep,
    checkpoint: toBase64(run.checkpoint),
  };
}

async function benchStep(req: BenchRequest): Promise<BenchReply> {
  const gpu = await getGpu();
  const bt = await btStep(gpu, req);
  try {
    await bt.run(); // shader compilation and first-use costs stay out of the figure
    const seconds: number[] = [];
    for (let i = 0; i < req.iterations; i++) {
      const t = performance.now();
      await bt.run();
      seconds.push((performance.now() - t) / 1000);
    }
    return { adapter: gpu.description, description: bt.description, seconds };
  } finally {
    bt.destroy();
  }
}

async function fullRun(req: FullRunRequest): Promise<FullRunReply> {
  const log: string[] = [];
  const data = await fetchDataset(req.dataUrl, req.kind, { trainLimit: req.trainLimit, testLimit: req.testLimit });
  // console.info too: a harness can show a long run's progress as it goes
  const run = await runInPage({
    spec: req.spec,
    data,
    evaluate: true,
    log: (s) => {
      log.push(s);
      console.info(s);
    },
  });
  return {
    adapter: run.adapter,
    seconds: run.seconds,
    endStep: run.endStep,
    lastLoss: run.losses[run.losses.length - 1]?.loss ?? NaN,
    report: run.report!,
    log,
  };
}

const check = { train: trainCheck, benchStep, fullRun };
export type SslCheck = typeof check;
(globalThis as { sslCheck?: SslCheck }).sslCheck = check;
document.body.dataset.state = "ready";

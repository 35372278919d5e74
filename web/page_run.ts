// Training a spec in this page: the run folder is an in-memory file store (platform/files.ts), the
// GPU is the page's navigator.gpu (through getGpu(), as the platform gives it), and a checkpoint
// travels in and out as bytes (a download, an upload, a test harness). The same train() and
// runMethod() as under Deno, so a page run and a Deno run of one spec are one computation.
//
//   const data = await fetchDataset("/data/fashion-mnist/", "fashion-mnist");
//   const run = await runInPage({ spec, data, evaluate: true, log: show });
//   offerDownload("checkpoint.safetensors", run.checkpoint);
import { usePlatform } from "../platform/current.ts";
import { memoryFiles } from "../platform/files.ts";
import { join } from "../platform/path.ts";
import type { Split } from "../data/dataset.ts";
import { loadDatasetFromBytes } from "../data/from_bytes.ts";
import { FASHION_MNIST_FILES, fetchDataFile } from "./ui/fetch_cached.ts";
import type { LoadOptions } from "../data/load.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { CHECKPOINT_FILE } from "../io/checkpoint.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { runMethod } from "../run/method_run.ts";
import { train } from "../train/trainer.ts";

export interface PageRunOptions {
  spec: PipelineSpec;
  /** the data set (default: the spec's, which only "synthetic" can be without files) */
  data?: Split;
  /** a checkpoint's bytes (checkpoint.safetensors) to continue from */
  resume?: Uint8Array;
  /** stop after this many steps, counted from step 0 (TrainOptions.stopAfter) */
  stopAfter?: number;
  /** loss records every N steps (default: train()'s) */
  logEvery?: number;
  /** evaluate and report after training (runMethod), not train only */
  evaluate?: boolean;
  log?: (line: string) => void;
}

export interface PageRun {
  adapter: string;
  /** what the kernels could use: the compiler picks its variants from these */
  features: Gpu["features"];
  /** the loss of each logged step */
  losses: { step: number; loss: number }[];
  /** the step the run stands at (the checkpoint's) */
  endStep: number;
  seconds: number;
  /** the run folder's checkpoint.safetensors */
  checkpoint: Uint8Array;
  /** report.json as written (evaluate only) */
  report?: Record<string, unknown>;
  /** every file of the run folder, path relative to it */
  files: { path: string; bytes: Uint8Array }[];
}

/** Where the run folder lies in the run's file store. */
const OUT = "runs/page";
const RESUME = "resume/" + CHECKPOINT_FILE;

/** Trains (and with `evaluate`, evaluates and reports) `spec` in a fresh in-memory run folder. */
export async function runInPage(o: PageRunOptions): Promise<PageRun> {
  const store = memoryFiles();
  if (o.resume) store.addFile(RESUME, o.resume);
  const restore = usePlatform({ files: store });
  try {
    const gpu = await getGpu();
    const common = {
      spec: o.spec,
      out: OUT,
      data: o.data,
      resume: o.resume ? RESUME : undefined,
      stopAfter: o.stopAfter,
      logEvery: o.logEvery,
      log: o.log ?? (() => {}),
    };
    let report: Record<string, unknown> | undefined;
    const run = o.evaluate
      ? await runMethod(common).then((r) => {
        if (r.status !== "done") throw new Error(`the run ended ${r.status}, not done`);
        report = r.report;
        return r.train!;
      })
      : await train(common);
    try {
      return {
        adapter: gpu.description,
        features: { ...gpu.features },
        losses: run.losses,
        endStep: run.endStep,
        seconds: run.seconds,
        checkpoint: store.readFile(join(OUT, CHECKPOINT_FILE)),
        report,
        files: store.list(OUT).map((f) => ({ path: f.path.slice(OUT.length + 1), bytes: f.bytes })),
      };
    } finally {
      run.dispose();
    }
  } finally {
    restore();
  }
}

/**
 * A data set served by the page's server under `url` (e.g. "/data/fashion-mnist/"), its files
 * named in `names` (default: Fashion-MNIST's four IDX files), fetched as the page fetches them
 * (kept in the browser after the first time) and read by the same readers as a folder.
 */
export async function fetchDataset(
  url: string,
  kind: string,
  opts: LoadOptions = {},
  names = FASHION_MNIST_FILES,
): Promise<Split> {
  const base = new URL(url, location.href);
  const files = await Promise.all(
    names.map(async (name) => ({ name, bytes: await fetchDataFile(new URL(name, base).href) })),
  );
  return loadDatasetFromBytes(files, kind, opts);
}

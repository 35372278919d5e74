// The TrainerPort with the core: the same runMethod() a terminal run calls (train, then the kNN
// and linear probe of the trained and the random-init encoder, then report.json), on the page's
// GPU (navigator.gpu through runtime/device.ts), writing its run folder into an in-memory store
// whose files the page offers for download. Pause and Stop are the terminal's Ctrl-C: the loop
// stops after the groups in flight and saves a checkpoint; Continue is --resume from it.
import { loadDatasetFromBytes, type NamedBytes } from "../data/from_bytes.ts";
import type { Split } from "../data/dataset.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { pageProcess } from "../platform/browser.ts";
import { usePlatform } from "../platform/current.ts";
import { type MemoryFiles, memoryFiles } from "../platform/files.ts";
import { type MethodRun, runMethod } from "../run/method_run.ts";
import { getGpu } from "../runtime/device.ts";
import type { GroupProgress } from "../train/trainer.ts";
import { DeviceLostError } from "./ui/failure.ts";
import { namedFiles } from "./ui/data_bytes.ts";
import { FASHION_MNIST_FILES, fetchDataFile } from "./ui/fetch_cached.ts";
import type { DataChoice, EvalResult, RunFile, RunRequest, TrainerEvents, TrainerPort } from "./ui/trainer_port.ts";

/**
 * The device is the page's one (runtime/device.ts getGpu keeps it): its loss is watched once, and
 * told to the trainer that is using it now.
 */
const watched = new WeakSet<GPUDevice>();
let onDeviceLost: ((e: DeviceLostError) => void) | undefined;

function watchDevice(device: GPUDevice): void {
  if (watched.has(device)) return;
  watched.add(device);
  device.lost.then((info) => {
    if (info.reason !== "destroyed") onDeviceLost?.(new DeviceLostError(info.reason, info.message));
  });
}

/** Lets the page paint (a status line) before a long synchronous step such as decoding a data set. */
const yieldToPage = () => new Promise((r) => setTimeout(r, 0));

/** The page's trainer: one per page, each start() a new run in a new in-memory run folder. */
export function createTrainer(): TrainerPort {
  let store: MemoryFiles = memoryFiles();
  let restorePlatform: (() => void) | undefined;
  const interrupts = new Set<() => void>();
  let out = "";
  let spec: PipelineSpec | undefined;
  let data: Split | undefined;
  let events: TrainerEvents | undefined;
  let stopping = false, running = false;
  /** the device was lost: every later failure of this run is that */
  let lost: DeviceLostError | undefined;

  /** The run's files and its Ctrl-C live in this run's store and the page's buttons. */
  const useRunPlatform = (tune: boolean) => {
    restorePlatform?.();
    store = memoryFiles();
    restorePlatform = usePlatform({
      files: store,
      process: {
        ...pageProcess,
        // the terminal's SSL_TUNE=1: the autotuner times the variants, its picks go to the store
        env: (name) => (name === "SSL_TUNE" && tune ? "1" : pageProcess.env(name)),
        onInterrupt(handler) {
          interrupts.add(handler);
          return () => void interrupts.delete(handler);
        },
      },
    });
  };
  const interrupt = () => [...interrupts].forEach((h) => h());

  const onGroup = (g: GroupProgress) => {
    const withDiag = g.records.filter((r) => r.diag);
    const last = withDiag[withDiag.length - 1];
    events!.progress({
      step: g.records[g.records.length - 1].step + 1,
      totalSteps: g.totalSteps,
      losses: g.records.map((r) => [r.step, r.loss]),
      diag: last?.diag,
      C: last?.C && g.d ? { data: last.C, d: g.d } : undefined,
    });
    if (g.records[g.records.length - 1].step + 1 === g.end && g.end === g.totalSteps) events!.phase("evaluating");
  };

  /** One call of runMethod: from the start, or resuming the checkpoint in the store. */
  const run = async (resume: boolean) => {
    running = true;
    let result: MethodRun | undefined;
    try {
      events!.phase("compiling");
      await yieldToPage();
      let first = true;
      result = await runMethod({
        spec: spec!,
        out,
        data,
        resume: resume ? out : undefined,
        log: events!.log,
        onGroup: (g) => {
          if (first) events!.phase("training");
          first = false;
          onGroup(g);
        },
      });
      if (result.report && (result.status === "done" || result.status === "partial")) {
        events!.evaluated(evalFigures(result.report));
      }
      if (lost) events!.failed(lost);
      else if (result.status === "complete") events!.phase("done", "The checkpoint is already at the end of its run.");
      else if (stopping) events!.phase("stopped");
      else if (result.status === "interrupted") events!.phase("paused");
      else events!.phase("done");
    } catch (e) {
      events!.failed(lost ?? e);
    } finally {
      result?.dispose();
      running = false;
    }
  };

  return {
    async start(req: RunRequest, ev: TrainerEvents) {
      events = ev;
      spec = req.spec;
      out = `runs/${req.spec.name}`;
      stopping = false;
      lost = undefined;
      useRunPlatform(req.tune ?? false);
      try {
        ev.phase("loading");
        await yieldToPage();
        const gpu = await getGpu();
        ev.adapter(`${gpu.description}${gpu.compatibility ? " (WebGPU compatibility mode)" : ""}`);
        onDeviceLost = (e) => {
          lost = e;
          if (running) interrupt(); // the loop ends with the error its next wait meets
          else ev.failed(e);
        };
        watchDevice(gpu.device);
        data = await loadData(req.data, req.spec, ev);
        store.mkdir(out);
        if (req.resume) store.writeFile(`${out}/checkpoint.safetensors`, req.resume);
      } catch (e) {
        ev.failed(lost ?? e);
        return;
      }
      await run(!!req.resume);
    },
    pause() {
      if (running) interrupt();
    },
    async resume() {
      if (running || !events) return;
      await run(true);
    },
    stop() {
      stopping = true;
      if (running) interrupt();
      else events?.phase("stopped");
    },
    files(): RunFile[] {
      if (!out) return [];
      return store.list(out).map(({ path, bytes }) => ({ name: path.slice(path.lastIndexOf("/") + 1), bytes }));
    },
  };
}

/** report.json's top-1 figures (a figure not measured is null there). */
function evalFigures(report: Record<string, unknown>): EvalResult {
  return Object.fromEntries(Object.entries(report).filter(([k, v]) => k.endsWith("_top1") && typeof v === "number"));
}

/** The data set of the choice, limited as the spec says. */
async function loadData(choice: DataChoice, spec: PipelineSpec, ev: TrainerEvents): Promise<Split> {
  const limits = { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit, oneClass: spec.data.oneClass };
  if (choice.kind === "synthetic") return loadDatasetFromBytes([], "synthetic", limits);
  let files: NamedBytes[];
  let kind = "";
  if (choice.kind === "fashion-mnist") {
    kind = "fashion-mnist";
    files = [];
    for (const name of FASHION_MNIST_FILES) {
      ev.log(`fetching ${choice.baseUrl}${name} …`);
      files.push({ name, bytes: await fetchDataFile(new URL(name, choice.baseUrl).href) });
    }
  } else {
    files = await namedFiles(choice.files, choice.paths);
  }
  ev.log(`decoding ${files.length} data file(s) …`);
  await yieldToPage();
  return loadDatasetFromBytes(files, kind, limits);
}

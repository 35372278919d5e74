// The page (index.html): choose or write a spec, choose the data, train on this tab's GPU with
// the same spec, compiler and WGSL as the terminal run, watch the loss and C live, evaluate,
// download the run folder's files. The views are web/ui/*; the training is a TrainerPort
// (app_trainer.ts: the core on navigator.gpu). GPU work is queued by the core's loop; the
// page repaints at most a few times a second (throttled), so it never waits on the GPU.
import type { PipelineSpec } from "../dsl/schema.ts";
import { createTrainer } from "./app_trainer.ts";
import { DataView } from "./ui/data_view.ts";
import { byId } from "./ui/dom.ts";
import { showDownloads } from "./ui/downloads_view.ts";
import { clearFailure, showFailure } from "./ui/failure_view.ts";
import { HeatmapView } from "./ui/heatmap_view.ts";
import { LossView } from "./ui/loss_view.ts";
import { Pace } from "./ui/pace.ts";
import { presetById, PRESETS } from "./ui/preset_list.ts";
import { showResults } from "./ui/results_view.ts";
import { SpecEditor } from "./ui/spec_editor.ts";
import { formatIssue } from "./ui/spec_check.ts";
import { showStats, type Stats } from "./ui/stats_view.ts";
import { throttled } from "./ui/throttle.ts";
import type { Phase, ProgressUpdate, TrainerEvents, TrainerPort } from "./ui/trainer_port.ts";
import type { NoGpuReason } from "./browser_gpu.ts";
import { WEBGPU_HELP_TITLE, webGpuHelp } from "./webgpu_help.ts";

const REPAINT_MS = 250;

const editor = new SpecEditor(byId("spec-text"), byId("spec-issues"), byId("spec-status"));
const data = new DataView();
const loss = new LossView(byId("loss-canvas"));
const heatmap = new HeatmapView(byId("heatmap-canvas"));
const startButton = byId<HTMLButtonElement>("start");
const pauseButton = byId<HTMLButtonElement>("pause");
const stopButton = byId<HTMLButtonElement>("stop");
const logBox = byId("log");

const trainer: TrainerPort = createTrainer();
let started = false;
let phase: Phase = "idle";
let stats: Stats = {};
let pace = new Pace(1);

const repaint = throttled(() => {
  loss.render();
  heatmap.render();
  const training = phase === "training";
  showStats({
    ...stats,
    imagesPerSec: pace.imagesPerSecond(),
    secondsLeft: training ? pace.secondsLeft(stats.totalSteps ?? 0) : undefined,
  });
}, REPAINT_MS);

function setupPresets(): void {
  const select = byId<HTMLSelectElement>("preset");
  for (const p of PRESETS) {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = p.source ? `${p.label} — ${p.source}` : p.label;
    select.append(o);
  }
  const load = () => {
    const p = presetById(select.value);
    if (!p) return;
    try {
      const spec = p.spec();
      editor.load(spec);
      data.follow(spec.data.name);
    } catch (e) {
      showFailure(e);
    }
  };
  select.addEventListener("change", load);
  load();
}

function log(line: string): void {
  logBox.textContent += line + "\n";
  logBox.scrollTop = logBox.scrollHeight;
}

const PHASE_TEXT: Record<Phase, string> = {
  idle: "Ready.",
  loading: "Loading the data …",
  compiling: "Compiling the training step for this GPU …",
  training: "Training.",
  paused: "Paused: a checkpoint is saved; Continue resumes exactly where it stopped.",
  evaluating: "Evaluating: kNN and linear probe, trained and random-init encoders …",
  done: "Done.",
  stopped: "Stopped: the checkpoint and metrics so far are below.",
  failed: "Failed (see the message above).",
};

function setPhase(p: Phase, detail?: string): void {
  phase = p;
  // the state as an attribute, for tests and the browser harness (body[data-state])
  document.body.dataset.state = p;
  byId("phase").textContent = detail ? `${PHASE_TEXT[p]} ${detail}` : PHASE_TEXT[p];
  const running = ["loading", "compiling", "training", "evaluating"].includes(p);
  startButton.disabled = running || p === "paused";
  pauseButton.disabled = !(p === "training" || p === "paused");
  pauseButton.textContent = p === "paused" ? "Continue" : "Pause";
  stopButton.disabled = !(running || p === "paused");
  if (p === "paused") pace.reset();
  if (["paused", "done", "stopped", "failed"].includes(p) && started) showDownloads(trainer.files());
  repaint.request();
}

const events: TrainerEvents = {
  adapter: (d) => void (byId("adapter").textContent = `Adapter: ${d}`),
  phase: setPhase,
  progress(u: ProgressUpdate) {
    loss.add(u.losses);
    if (u.C) heatmap.set(u.C);
    stats = { ...stats, step: u.step, totalSteps: u.totalSteps, diag: u.diag ?? stats.diag };
    pace.add(u.step, performance.now() / 1000);
    repaint.request();
  },
  log,
  evaluated: (r) => showResults(r),
  failed(e) {
    showFailure(e);
    setPhase("failed");
  },
};

async function start(): Promise<void> {
  clearFailure();
  const check = editor.current();
  if (!check.ok) {
    showFailure({
      title: "The spec has a problem",
      message: check.issues.map(formatIssue).join("\n"),
      hint: "Fix it in the spec editor; click a problem to go to its line.",
    });
    return;
  }
  let spec: PipelineSpec = check.spec;
  try {
    const choice = data.choice();
    const name = data.specDataName();
    if (name) spec = { ...spec, data: { ...spec.data, name } };
    const resumeFile = byId<HTMLInputElement>("resume-input").files?.[0];
    const resume = resumeFile ? new Uint8Array(await resumeFile.arrayBuffer()) : undefined;
    loss.clear();
    heatmap.clear();
    showResults(undefined);
    showDownloads([]);
    stats = {};
    pace = new Pace(spec.batch);
    started = true;
    setPhase("loading");
    await trainer.start({ spec, data: choice, resume, tune: byId<HTMLInputElement>("tune").checked }, events);
  } catch (e) {
    events.failed(e);
  }
}

/**
 * Says at once, before any run, when the page cannot train: no WebGPU at all, or WebGPU with no
 * adapter (on Linux, Chrome without its flag), with what to enable per browser (webgpu_help.ts,
 * shared by the pages). The run itself opens its own device.
 */
async function checkWebGpu(): Promise<void> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const refuse = (reason: NoGpuReason, line: string) => {
    showFailure({ title: WEBGPU_HELP_TITLE, message: "", steps: webGpuHelp(reason) });
    byId("adapter").textContent = line;
    startButton.disabled = true;
    document.body.dataset.state = "no-webgpu";
  };
  if (!gpu) {
    return refuse(globalThis.isSecureContext ? "no-api" : "insecure-context", "No WebGPU in this browser.");
  }
  const adapter = await gpu.requestAdapter().catch(() => null) ??
    await gpu.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions).catch(() => null);
  if (!adapter) return refuse("no-adapter", "WebGPU found no adapter.");
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" ") ||
    "an adapter the browser does not name";
  const compat = adapter.features.has("core-features-and-limits") ? "" : " (compatibility mode)";
  byId("adapter").textContent = `WebGPU: ${name}${compat}`;
}

startButton.addEventListener("click", () => void start());
pauseButton.addEventListener("click", () => {
  if (phase === "paused") trainer.resume().catch(events.failed);
  else trainer.pause();
});
stopButton.addEventListener("click", () => trainer.stop());
globalThis.addEventListener("resize", () => repaint.request());
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && repaint.flush());

setupPresets();
setPhase("idle");
void checkWebGpu();
// the page's files kept by a service worker (web/sw.js): once loaded, it opens without the server
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn(`no offline copy of the page: ${e}`));
}

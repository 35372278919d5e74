// What the page asks of a training run, as an interface the views are written against: start a
// run of a spec on a data set (optionally from a checkpoint), pause it (the loop stops after the
// groups in flight and saves a checkpoint, as Ctrl-C does), continue, stop, and hear its
// progress. app_trainer.ts implements it with the core (train/evaluate on navigator.gpu); the
// views and their tests need no GPU.
import type { PipelineSpec } from "../../dsl/schema.ts";

/** Where the images come from. */
export type DataChoice =
  | { kind: "fashion-mnist"; baseUrl: string }
  | { kind: "synthetic" }
  | { kind: "files"; files: File[]; paths: string[] };

export interface RunRequest {
  spec: PipelineSpec;
  data: DataChoice;
  /** checkpoint.safetensors bytes to resume from */
  resume?: Uint8Array;
  /**
   * time the kernel variants on this adapter; the picks are kept in localStorage keyed by adapter
   * (runtime/autotune.ts through the platform's store), so a later visit compiles without timing
   */
  tune?: boolean;
}

export type Phase =
  | "idle"
  | "loading"
  | "compiling"
  | "training"
  | "paused"
  | "evaluating"
  | "done"
  | "stopped"
  | "failed";

/** The steps of a finished group of steps (each step's loss), and diagnostics when measured. */
export interface ProgressUpdate {
  /** the last step done + 1 */
  step: number;
  totalSteps: number;
  /** every step of the group: [step, loss] */
  losses: [number, number][];
  /** at diagnostics steps: mean C_ii, mean |C_ij|, effective rank, … (train/diagnostics.ts keys) */
  diag?: Record<string, number>;
  /** the cross-correlation matrix, when measured */
  C?: { data: Float32Array; d: number };
}

export interface EvalResult {
  knn_top1?: number;
  linear_top1?: number;
  random_init_knn_top1?: number;
  random_init_linear_top1?: number;
  pixels_knn_top1?: number;
}

/** A file of the run folder, ready to download. */
export interface RunFile {
  name: string;
  bytes: Uint8Array;
}

export interface TrainerEvents {
  /** the adapter the run opened, in words */
  adapter(description: string): void;
  phase(p: Phase, detail?: string): void;
  progress(u: ProgressUpdate): void;
  log(line: string): void;
  evaluated(r: EvalResult): void;
  failed(e: unknown): void;
}

export interface TrainerPort {
  /** Runs to the end (training, then evaluation) unless paused or stopped; failures go to events.failed. */
  start(req: RunRequest, events: TrainerEvents): Promise<void>;
  /** Stops the loop after the groups in flight, with a checkpoint; resume() continues from it. */
  pause(): void;
  resume(): Promise<void>;
  /** Ends the run: training stops with a checkpoint, no evaluation. */
  stop(): void;
  /** The run folder's files as they stand (checkpoint.safetensors, metrics.jsonl, report.json …). */
  files(): RunFile[];
}

// A run of a method, from the top: open the run folder (checked and locked), load the data,
// refuse evaluation settings the data cannot satisfy, train (train/), evaluate (eval/, through
// run/evaluation.ts), write the report (run/run_report.ts). train/ knows nothing of evaluation;
// this is the one place that puts the three together. Safe to embed: it never exits the
// process; user errors are thrown as typed errors (exitCode 2), and an interrupt is a result.
import { files } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { loadSpecData } from "../data/load.ts";
import { checkKnnK } from "../eval/evaluate.ts";
import { DataError, type Split } from "../data/dataset.ts";
import { describeClass } from "../data/one_class.ts";
import { openRunFolder } from "../io/run_folder.ts";
import { RunCompleteError, train, type TrainOptions, type TrainResult } from "../train/trainer.ts";
import { evaluateRun } from "./evaluation.ts";
import { onlineProbeAtCheckpoint } from "./online_probe.ts";
import { writeReport } from "./run_report.ts";

export interface MethodRunOptions extends Omit<TrainOptions, "folder"> {
  /** asked between evaluation stages: true stops the evaluation as an interrupt does (tests, hosts) */
  stopEvaluation?: () => boolean;
}

export interface MethodRun {
  /**
   * done: trained, evaluated, reported; partial: the evaluation was interrupted and the report
   * holds what was measured; interrupted: training was interrupted (checkpoint saved, no
   * evaluation, no report); complete: a resumed run had nothing left to train (nothing written)
   */
  status: "done" | "partial" | "interrupted" | "complete";
  interrupted: boolean;
  /** the training result (absent when complete) */
  train?: TrainResult;
  /** report.json as written; when complete, the earlier report as it stands on disk (if any) */
  report?: Record<string, unknown>;
  /** Frees everything the run holds on the device (idempotent). */
  dispose(): void;
}

export async function runMethod(o: MethodRunOptions): Promise<MethodRun> {
  const log = o.log ?? ((s: string) => console.log(s));
  const folder = openRunFolder(o.out, { resume: !!o.resume, overwrite: o.overwrite, log });
  let run: TrainResult | undefined;
  try {
    const { spec } = o;
    const data = o.data ??
      loadSpecData(spec.data);
    // an evaluation the data cannot satisfy is refused now, not after the training
    if (data.oneClass) checkOneClassRun(spec, data);
    else checkKnnK(spec, data.train.n);
    try {
      const atCheckpoint = o.atCheckpoint ?? (spec.eval.onlineProbe ? onlineProbeAtCheckpoint(spec) : undefined);
      run = await train({ ...o, data, folder, log, atCheckpoint });
    } catch (e) {
      if (!(e instanceof RunCompleteError)) throw e;
      log(e.message);
      return { status: "complete", interrupted: false, report: readReport(o.out), dispose() {} };
    }
    if (run.interrupted) return { status: "interrupted", interrupted: true, train: run, dispose: run.dispose };
    const evaluation = await evaluateRun(spec, run, { log, stopRequested: o.stopEvaluation });
    const report = writeReport({ spec, out: o.out, run, evaluation });
    if (evaluation.interrupted) {
      log(
        `evaluation interrupted: ${join(o.out, "report.json")} holds what was evaluated, marked partial; ` +
          `not evaluated: ${evaluation.notEvaluated.join(", ")}`,
      );
    }
    const status = evaluation.interrupted ? "partial" : "done";
    return { status, interrupted: evaluation.interrupted, train: run, report, dispose: run.dispose };
  } catch (e) {
    run?.dispose();
    throw e;
  } finally {
    folder.close();
  }
}

/** A one-class training set (a tenth of a balanced set) must still fill one batch. */
function checkOneClassRun(spec: MethodRunOptions["spec"], data: Split): void {
  const { train } = data;
  if (train.n < spec.batch) {
    throw new DataError(
      `one class: ${train.name} has ${train.n} images of ${
        describeClass(data.oneClass!)
      }, fewer than one batch of ${spec.batch}; ` +
        "raise --train-limit or lower --batch",
    );
  }
}

function readReport(out: string): Record<string, unknown> | undefined {
  const path = join(out, "report.json");
  if (!files().exists(path)) return undefined;
  try {
    return JSON.parse(files().readText(path));
  } catch {
    return undefined;
  }
}

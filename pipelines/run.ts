// What every pipeline file does after defining its method: parse flags over the method's
// preset, train, evaluate (trained, random init, pixels), write the report, print a summary.
import process from "node:process";
import { pathToFileURL } from "node:url";
import { FlagError, helpText, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { encoderFeatures, evaluateFeatures, pixelsKnn } from "../eval/evaluate.ts";
import { summary, writeReport } from "../train/report.ts";
import { NonFiniteLossError, train } from "../train/trainer.ts";
import { DataError } from "../data/dataset.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { MemoryPlanError } from "../step/memory_check.ts";
import { printGraph, printProgram } from "../compiler/print.ts";
import { loadDatasetSync } from "../data/load.ts";
import { getGpu } from "../runtime/device.ts";
import { deviceStep } from "../runtime/device_step.ts";
import { graphIssues } from "../step/validate.ts";

/** Is this module the program being run? (Deno and Bun set import.meta.main; Node 20 does not.) */
export function isMain(meta: ImportMeta): boolean {
  const m = (meta as { main?: boolean }).main;
  if (typeof m === "boolean") return m;
  return !!process.argv[1] && pathToFileURL(process.argv[1]).href === meta.url;
}

export async function runPipeline(preset: PipelineSpec, program: string, args: string[] = process.argv.slice(2)): Promise<Record<string, unknown> | undefined> {
  let cli;
  try {
    cli = parseFlags(args, preset, { graphIssues });
  } catch (e) {
    return fail(e);
  }
  if (cli.help) {
    console.log(helpText(preset, program));
    return undefined;
  }
  try {
    const { spec, out } = cli;
    if (cli.printStep) {
      console.log(await printStep(spec));
      return undefined;
    }
    const run = await train({ spec, out, resume: cli.resume, overwrite: cli.overwrite, willEvaluate: true });
    if (run.interrupted) process.exit(130);
    console.log("evaluating: features of the trained encoder …");
    const weights = (name: string) => run.exec.read(name);
    const trained = await evaluateFeatures(run.gpu, spec, await encoderFeatures(run.gpu, spec, run.lowered.encoder, run.images, weights));
    console.log(`  kNN ${(trained.knn_top1 * 100).toFixed(2)}%, linear ${(trained.linear_top1 * 100).toFixed(2)}%; random-init baseline …`);
    const random = await evaluateFeatures(run.gpu, spec, await encoderFeatures(run.gpu, spec, run.lowered.encoder, run.images, undefined));
    const pixels = await pixelsKnn(run.gpu, spec, run.data);
    const report = writeReport({ spec, out, run, trained, random, pixelsKnn: pixels });
    console.log(summary(report, out));
    run.exec.destroy();
    run.images.train.destroy();
    run.images.test.destroy();
    return report;
  } catch (e) {
    return fail(e);
  }
}

/**
 * The compiled training step of `spec`, op by op (--print-step): the training graph, then the
 * program with its storages, dispatches and fused groups, exactly as the trainer builds it on this
 * adapter (runtime/device_step.ts: its variants and limits, the data's layout); nothing runs.
 */
async function printStep(spec: PipelineSpec): Promise<string> {
  const { train: tr } = loadDatasetSync(spec.data.name, { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const { step } = await deviceStep(await getGpu(), spec, tr);
  return `${printGraph(step.graph)}\n\n${printProgram(step.program, step.graph)}`;
}

function fail(e: unknown): never {
  // user errors (flags, specs, data, checkpoints, folders, plans the device cannot hold) exit 2
  const known = e instanceof FlagError || e instanceof SpecError || e instanceof DataError || e instanceof CheckpointError ||
    e instanceof NonFiniteLossError || e instanceof MemoryPlanError || (e as { exitCode?: number }).exitCode === 2;
  console.error(`error: ${(e as Error).message}`);
  // for an unexpected error, where it came from: the stack's frames only (its first lines repeat the message)
  if (!known) console.error(((e as Error).stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 5).join("\n"));
  process.exit(known ? 2 : 1);
}

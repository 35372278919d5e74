// The command line of every pipeline file, as a function that returns its exit status instead
// of exiting (pipelines/run.ts exits with it): flags over the method's preset, then --help,
// --print-step, the run (run/method_run.ts) and its terminal summary, or with --seeds one run
// per seed and their summary (run/seeds.ts). Errors are printed as one line; a user error
// (flags, spec, data, checkpoint, folder, a plan the device cannot hold, no adapter) gives 2,
// an unexpected one 1 with where it came from, an interrupt 130.
import { host } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import { FlagError, helpText, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { DataError } from "../data/dataset.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { MemoryPlanError } from "../step/memory_check.ts";
import { printGraph, printProgram } from "../compiler/print.ts";
import { loadSpecData } from "../data/load.ts";
import { getGpu } from "../runtime/device.ts";
import { deviceStep } from "../runtime/device_step.ts";
import { graphIssues } from "../step/validate.ts";
import { NonFiniteLossError } from "../train/trainer.ts";
import { runMethod } from "./method_run.ts";
import { planSeeds, runSeeds } from "./seeds.ts";
import { summary } from "./run_report.ts";

export interface CommandResult {
  /** the exit status the command line gives: 0, 1 (unexpected error), 2 (user error), 130 (interrupted) */
  code: number;
  /** report.json as written (or, for a finished run resumed, as it stands; with --seeds, the summary's) */
  report?: Record<string, unknown>;
  /** the message of the error that ended the command */
  error?: string;
}

export async function runCommand(
  preset: PipelineSpec,
  program: string,
  args: string[] = host().args,
): Promise<CommandResult> {
  try {
    const cli = parseFlags(args, preset, { graphIssues });
    if (cli.help) {
      console.log(helpText(preset, program));
      return { code: 0 };
    }
    const { spec, out } = cli;
    if (cli.printStep) {
      console.log(await printStep(spec));
      return { code: 0 };
    }
    if (cli.seeds) {
      const runs = planSeeds(spec, out, cli.seeds, cli.overwrite);
      const { code, report, table } = await runSeeds(
        runs,
        out,
        (r) => runOnce(r.spec, r.out, { overwrite: cli.overwrite }),
      );
      console.log(`\n${table}\nwritten: ${join(out, "report.json")}, ${join(out, "table.md")}`);
      return { code, report };
    }
    return await runOnce(spec, out, { resume: cli.resume, overwrite: cli.overwrite });
  } catch (e) {
    return failed(e);
  }
}

/** One run: train, evaluate, report, print the summary; a failure is printed and gives its status. */
async function runOnce(
  spec: PipelineSpec,
  out: string,
  o: { resume?: string; overwrite: boolean },
): Promise<CommandResult> {
  try {
    const run = await runMethod({ spec, out, resume: o.resume, overwrite: o.overwrite });
    run.dispose();
    if (run.status === "interrupted") return { code: 130 };
    if (run.status === "complete") return { code: 0, report: run.report };
    console.log(summary(run.report!, out));
    return { code: run.status === "partial" ? 130 : 0, report: run.report };
  } catch (e) {
    return failed(e);
  }
}

/**
 * The compiled training step of `spec`, op by op (--print-step): the training graph, then the
 * program with its storages, dispatches and fused groups, exactly as the trainer builds it on this
 * adapter (runtime/device_step.ts: its variants and limits, the data's layout); nothing runs.
 */
async function printStep(spec: PipelineSpec): Promise<string> {
  const { train: tr } = loadSpecData(spec.data);
  const { step } = await deviceStep(await getGpu(), spec, tr);
  return `${printGraph(step.graph)}

${printProgram(step.program, step.graph)}`;
}

const failed = (e: unknown): CommandResult => ({ code: failure(e), error: (e as Error).message });

/** Prints the error as the user should see it; returns the exit status. */
function failure(e: unknown): number {
  // user errors (flags, specs, data, checkpoints, folders, plans the device cannot hold) exit 2
  const known = e instanceof FlagError || e instanceof SpecError || e instanceof DataError ||
    e instanceof CheckpointError ||
    e instanceof NonFiniteLossError || e instanceof MemoryPlanError || (e as { exitCode?: number }).exitCode === 2;
  console.error(`error: ${(e as Error).message}`);
  // for an unexpected error, where it came from: the stack's frames only (its first lines repeat the message)
  if (!known) {
    console.error(((e as Error).stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 5).join("\n"));
  }
  return known ? 2 : 1;
}

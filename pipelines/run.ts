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

/** Is this module the program being run? (Deno and Bun set import.meta.main; Node 20 does not.) */
export function isMain(meta: ImportMeta): boolean {
  const m = (meta as { main?: boolean }).main;
  if (typeof m === "boolean") return m;
  return !!process.argv[1] && pathToFileURL(process.argv[1]).href === meta.url;
}

export async function runPipeline(preset: PipelineSpec, program: string, args: string[] = process.argv.slice(2)): Promise<Record<string, unknown> | undefined> {
  let cli;
  try {
    cli = parseFlags(args, preset);
  } catch (e) {
    return fail(e);
  }
  if (cli.help) {
    console.log(helpText(preset, program));
    return undefined;
  }
  try {
    const { spec, out } = cli;
    console.log(`${spec.method} '${spec.name}': batch ${spec.batch}, ${spec.epochs} epochs${spec.steps ? `, at most ${spec.steps} steps` : ""}, seed ${spec.seed} → ${out}`);
    const run = await train({ spec, out, resume: cli.resume });
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
    return report;
  } catch (e) {
    return fail(e);
  }
}

function fail(e: unknown): never {
  const known = e instanceof FlagError || e instanceof SpecError || e instanceof DataError || e instanceof CheckpointError ||
    e instanceof NonFiniteLossError || e instanceof MemoryPlanError;
  console.error(`error: ${(e as Error).message}`);
  if (!known) console.error((e as Error).stack?.split("\n").slice(1, 6).join("\n"));
  process.exit(known ? 2 : 1);
}

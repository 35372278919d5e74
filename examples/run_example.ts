// Running an example whose loss has constants that depend on the final sizes of the run: an
// identity eye(D) (feature_mse.ts) or weights from D and the batch (infonce_barlow.ts). The
// command line can change those sizes (--proj, --batch), so the example's `finish` step must
// see the spec AFTER the flags: parse the flags once over the preset, finish the spec, then
// hand it to runPipeline, which applies the same flags again. That second application is a
// no-op for the sizes (--proj D → D, --batch N → N), so the finished constants stay valid.
import process from "node:process";
import { parseFlags } from "../dsl/cli.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { runPipeline } from "../pipelines/run.ts";
import { graphIssues } from "../step/validate.ts";

/**
 * `base` must validate under any flags (its loss must not bake D or N in); `finish` derives
 * the real loss from a spec's sizes. --spec FILE replaces the preset entirely (the file says
 * exactly what to run), and a bad flag is left to runPipeline to report.
 */
export async function runFinished(
  base: PipelineSpec,
  finish: (spec: PipelineSpec) => PipelineSpec,
  program: string,
  args: string[] = process.argv.slice(2),
): Promise<Record<string, unknown> | undefined> {
  let preset = finish(base);
  if (!args.includes("--help") && !args.includes("-h")) {
    try {
      preset = finish(parseFlags(args, base, { graphIssues }).spec);
    } catch {
      // runPipeline parses the same flags and prints the error with the usual exit code
    }
  }
  return await runPipeline(preset, program, args);
}

/** Embedding width D of the module `name` (an mlp: the last of its widths). */
export function outWidth(spec: PipelineSpec, name = "projector"): number {
  const m = spec.modules[name];
  if (m?.kind !== "mlp") throw new Error(`module '${name}' must be an mlp to read its output width`);
  return m.widths[m.widths.length - 1];
}

// What every pipeline file does after defining its method, as a program: run/command.ts (flags
// over the method's preset, train, evaluate, report, summary), then exit with its status. The
// only place on this path that exits the process: run/ and everything mod.ts exports return
// or throw instead, so a host program that embeds the library keeps running.
import { host } from "../platform/current.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { runCommand } from "../run/command.ts";

/** Is this module the program being run? (Deno and Bun set import.meta.main; Node 20 does not.) */
export function isMain(meta: ImportMeta): boolean {
  const m = (meta as { main?: boolean }).main;
  if (typeof m === "boolean") return m;
  return !!host().programUrl && host().programUrl === meta.url;
}

/** The pipeline's command line: exits with a non-zero status on failure or interrupt; else returns the report. */
export async function runPipeline(
  preset: PipelineSpec,
  program: string,
  args: string[] = host().args,
): Promise<Record<string, unknown> | undefined> {
  const { code, report } = await runCommand(preset, program, args);
  if (code !== 0) host().exit(code);
  return report;
}

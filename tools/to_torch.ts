// Writes a spec's PyTorch program (export/torch/): the same modules, views, loss, optimizer,
// schedules, EMA, queues and checkpoint files as the project, and DDP under torchrun.
//
//   deno run -A tools/to_torch.ts pipelines/barlow.ts [pipeline flags] --out DIR
//   deno run -A tools/to_torch.ts --spec file.json [pipeline flags] --out DIR
//   python3 DIR/train.py --help
//
// The first form takes the spec a pipeline or example file exports (`spec`, and its `finish`
// when the loss depends on the sizes the flags set); the flags are the pipelines' own
// (dsl/cli.ts), so `--batch 64 --proj 512,512` changes the exported spec exactly as it would
// change a WebGPU run. --out defaults to torch/<spec name>.
import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { FlagError, helpText, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { presets } from "../dsl/presets.ts";
import { ExportError, writeTorchProgram } from "../export/torch/mod.ts";
import { graphIssues } from "../step/validate.ts";

const USAGE = "usage: tools/to_torch.ts <pipelines/NAME.ts | examples/NAME.ts> [pipeline flags] [--out DIR]\n" +
  "       tools/to_torch.ts --spec FILE.json [pipeline flags] [--out DIR]";

interface SpecModule {
  spec: PipelineSpec;
  /** the loss rebuilt for the sizes the flags set (examples/run_example.ts) */
  finish?: (spec: PipelineSpec) => PipelineSpec;
  /** the example's spec whose loss does not bake in sizes, for the flags to apply to */
  makeLibrary?: () => PipelineSpec;
}

/** The spec `args` describe, and where to write its program. */
export async function exportArgs(args: string[]): Promise<{ spec: PipelineSpec; out: string } | "help"> {
  let base: SpecModule = { spec: presets.barlowTwins() };
  let rest = args;
  if (args[0] && !args[0].startsWith("-")) {
    const file = args[0];
    try {
      base = await import(pathToFileURL(resolve(file)).href) as SpecModule;
    } catch (e) {
      throw new FlagError(file, `cannot load the pipeline or example file (${(e as Error).message.split("\n")[0]})`);
    }
    if (!base.spec) {
      throw new FlagError(file, "exports no `spec` (give a pipelines/*.ts or examples/*.ts file, or --spec FILE.json)");
    }
    rest = args.slice(1);
  } else if (!args.includes("--spec") && !args.includes("--help") && !args.includes("-h")) {
    throw new FlagError("arguments", `name a pipeline or example file, or give --spec FILE.json\n${USAGE}`);
  }
  const cli = parseFlags(rest, base.finish && base.makeLibrary ? base.makeLibrary() : base.spec, { graphIssues });
  if (cli.help) return "help";
  const fromFile = rest.includes("--spec") || rest.some((a) => a.startsWith("--spec="));
  const spec = base.finish && !fromFile ? base.finish(cli.spec) : cli.spec;
  const out = rest.some((a) => a === "--out" || a.startsWith("--out=")) ? cli.out : `torch/${spec.name}`;
  return { spec, out };
}

if (import.meta.main) {
  try {
    const r = await exportArgs(process.argv.slice(2));
    if (r === "help") {
      // the pipelines' flags; their defaults are those of the file named, so none is shown here
      const flags = helpText(presets.barlowTwins(), "tools/to_torch.ts").split("\n").slice(3)
        .filter((l) => !/^\s+--(resume|overwrite|out|print-step)\b/.test(l))
        .map((l) => l.replace(/ \(default: .*\)$/, ""));
      flags.push(`  --out DIR${" ".repeat(16)}folder to write the PyTorch program to (default torch/<spec name>)`);
      console.log(`${USAGE}\n\nflags (as the pipelines take them):\n${flags.join("\n")}`);
    } else {
      const files = writeTorchProgram(r.spec, r.out);
      console.log(`wrote ${files.length} files to ${r.out}: python3 ${r.out}/train.py --help`);
    }
  } catch (e) {
    const known = e instanceof FlagError || e instanceof SpecError || e instanceof ExportError;
    console.error(`error: ${(e as Error).message}`);
    process.exit(known ? 2 : 1);
  }
}

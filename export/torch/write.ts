// Writes a spec's PyTorch program into a folder:
//   train.py      the entry point (one process, or each rank of torchrun)
//   program.py    the spec-specific code (program_py.ts)
//   spec.json     the validated spec, for reading
//   README.md     how to run it
//   sslport/      the spec-independent runtime, copied from export/torch/py/sslport/
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJSON, specHash } from "../../dsl/io.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { torchPlan } from "./plan.ts";
import { programPy } from "./program_py.ts";

/** The folder of the runtime package this generator copies. */
const RUNTIME_DIR = fileURLToPath(new URL("./py/sslport/", import.meta.url));

const TRAIN_PY = `#!/usr/bin/env python3
"""Train this folder's spec with PyTorch: \`python3 train.py --help\`, or under
\`torchrun --nproc_per_node=N train.py …\` for DDP over N processes (see README.md)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import program  # noqa: E402
from sslport.main import main  # noqa: E402

if __name__ == "__main__":
    main(program)
`;

function readme(spec: PipelineSpec): string {
  return `# ${spec.name} (${spec.method}) in PyTorch

Written by \`tools/to_torch.ts\` from the spec in \`spec.json\` (hash ${specHash(spec)}). Needs Python 3
with torch (1.13 or later) and numpy; nothing else.

    python3 train.py [--steps N] [--batch GLOBAL_BATCH] [--out RUN] [--resume RUN] [--overwrite]
                     [--device cpu|cuda] [--log-every K] [--data NAME] [--encoder-only FILE.pt] [--threads T]
    torchrun --standalone --nproc_per_node=N train.py …     # DDP, gloo on CPU, nccl with --device cuda

(Debian 12's torch 1.13 under Python 3.11: add \`--redirects 1 --tee 1\` to torchrun, whose default
"0" for these two flags no longer parses there.) \`--batch\` is the GLOBAL batch: each of the N
ranks takes a contiguous shard of every batch, batch norm and the loss see the whole batch, and
the lr scales with the global batch as on one device.

\`--steps N\` stops once N steps (counted from step 0) are done without shortening the lr/τ
schedules, so a run can be continued by either engine. \`--resume\` takes a run folder or a
checkpoint written by the project (\`pipelines/*.ts --resume\` reads this program's checkpoints too).
A run writes \`RUN/metrics.jsonl\` and \`RUN/checkpoint.safetensors\` (every epoch and at the end); a
folder that already holds a run is refused unless \`--resume\` (continue it) or \`--overwrite\`.
\`--encoder-only FILE.pt\` writes the encoder's weights (from \`--resume\`) as a state dict.
${spec.eval.onlineProbe ? ONLINE_PROBE_NOTE : ""}`;
}

/**
 * The online probe (spec eval.onlineProbe) is a monitor, not part of the method: the PyTorch
 * program leaves it out, and says so.
 */
const ONLINE_PROBE_NOTE = `
The spec asks for the online linear probe (\`eval.onlineProbe\`); this program does not export it
and trains without it (the SSL training is the same: the probe never changes it). Its checkpoints
have no probe tensors, so the project resumes them with \`--online-probe off\`; the probe's tensors
in a checkpoint of the project are ignored here.
`;

/** Writes the program for a validated spec into `dir`; returns the paths written. */
export function writeTorchProgram(spec: PipelineSpec, dir: string): string[] {
  const plan = torchPlan(spec);
  const files: string[] = [];
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  };
  mkdirSync(join(dir, "sslport"), { recursive: true });
  put("program.py", programPy(spec, plan));
  put("train.py", TRAIN_PY);
  put("spec.json", canonicalJSON(spec, 2) + "\n");
  put("README.md", readme(spec));
  for (const f of readdirSync(RUNTIME_DIR).filter((f) => f.endsWith(".py")).sort()) {
    copyFileSync(join(RUNTIME_DIR, f), join(dir, "sslport", f));
    files.push(join(dir, "sslport", f));
  }
  return files;
}

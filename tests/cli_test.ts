// A pipeline as a user runs it, in a process of its own: what it prints and the exit status for a
// machine without a driver, a run folder that already holds a run, a run that diverges before its
// first checkpoint, and the opening line that states how long the run is.
import { join } from "node:path";
import { printProgram } from "../compiler/print.ts";
import { loadDatasetSync } from "../data/load.ts";
import { parseFlags } from "../dsl/cli.ts";
import { presets } from "../dsl/presets.ts";
import { train } from "../train/trainer.ts";

const deno = Deno.execPath();
const COMMON = ["--data", "synthetic", "--encoder", "mlp:16", "--proj", "16,8", "--batch", "16", "--epochs", "2"];
const SMALL = [...COMMON, "--steps", "3"];

async function pipeline(args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(deno, {
    args: ["run", "-A", "pipelines/simclr.ts", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

const tmp = () => Deno.makeTempDirSync({ prefix: "cli_test_" });

Deno.test("without a Vulkan driver the set-up hint is printed once, with no stack of the hint's own lines", async () => {
  const out = tmp();
  try {
    const r = await pipeline([...SMALL, "--out", out], {
      VK_ICD_FILENAMES: "/nonexistent/icd.json",
      VK_DRIVER_FILES: "/nonexistent/icd.json",
    });
    const times = r.err.split("This project runs WebGPU through Dawn").length - 1;
    if (r.code === 0 || times !== 1) throw new Error(`exit ${r.code}, hint printed ${times} times:\n${r.err}`);
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("a run folder that holds a run is refused (exit 2, naming the ways out); --overwrite replaces it, --resume continues it", async () => {
  const out = tmp();
  try {
    const first = await pipeline([...SMALL, "--out", out]);
    if (first.code !== 0) throw new Error(`first run: exit ${first.code}\n${first.err}`);
    if (!/simclr 'simclr': 3 steps \(1 epoch of \d+\), batch 16, seed 0/.test(first.out)) {
      throw new Error(`opening line:\n${first.out}`);
    }
    const metrics = Deno.readTextFileSync(join(out, "metrics.jsonl"));
    const again = await pipeline([...SMALL, "--out", out]);
    if (
      again.code !== 2 || !again.err.includes(`${out} already holds a run`) ||
      !/--resume .*--out .*--overwrite/s.test(again.err)
    ) {
      throw new Error(`second run into the same folder: exit ${again.code}\n${again.err}`);
    }
    if (Deno.readTextFileSync(join(out, "metrics.jsonl")) !== metrics) {
      throw new Error("the refused run touched metrics.jsonl");
    }
    const replaced = await pipeline([...SMALL, "--out", out, "--overwrite"]);
    if (replaced.code !== 0) throw new Error(`--overwrite: exit ${replaced.code}\n${replaced.err}`);
    const resumed = await pipeline([...COMMON, "--steps", "5", "--out", out, "--resume", out]);
    if (resumed.code !== 0 || !resumed.out.includes("changed on resume") || !resumed.out.includes("steps: 3 → 5")) {
      throw new Error(`--resume with more steps: exit ${resumed.code}\n${resumed.out}\n${resumed.err}`);
    }
    const steps = Deno.readTextFileSync(join(out, "metrics.jsonl")).trim().split("\n").map((l) => JSON.parse(l).step);
    // the first run's record (step 2, the last of its 3 steps) stays, the resumed run adds step 4
    if (steps.join() !== "2,4") throw new Error(`metrics after resume: steps ${steps}`);
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("a run that diverges before its first checkpoint says that no checkpoint was written (exit 2)", async () => {
  const out = tmp();
  try {
    const r = await pipeline([...SMALL, "--lr", "1e30", "--warmup", "0", "--out", out]);
    if (
      r.code !== 2 || !/loss became (NaN|-?Infinity) at step \d+/.test(r.err) ||
      !r.err.includes("No checkpoint was written yet")
    ) {
      throw new Error(`exit ${r.code}:\n${r.err}`);
    }
    if (r.err.includes("last good checkpoint")) throw new Error(`claims a kept checkpoint:\n${r.err}`);
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("--print-step prints the compiled step and exits without training or writing the run folder", async () => {
  const dir = tmp();
  try {
    const out = join(dir, "run");
    const r = await pipeline([...SMALL, "--out", out, "--print-step"]);
    if (r.code !== 0 || !/^program: \d+ dispatches from \d+ nodes/m.test(r.out) || !/\bloss\b/.test(r.out)) {
      throw new Error(`exit ${r.code}:\n${r.out.slice(-2000)}\n${r.err}`);
    }
    if (Deno.readDirSync(dir).next().done !== true) throw new Error(`--print-step created ${out}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--print-step prints the very program the trainer compiles on this adapter (its dispatches, variants, limits)", async () => {
  const dispatches = (text: string) => text.split("\n").filter((l) => /^\s*#\d+ /.test(l));
  const printed = await pipeline([...SMALL, "--print-step"]);
  if (printed.code !== 0) throw new Error(`--print-step: exit ${printed.code}\n${printed.err}`);
  const { spec } = parseFlags(SMALL, presets.simclr());
  const data = loadDatasetSync(spec.data.name, { trainLimit: spec.data.trainLimit, testLimit: spec.data.testLimit });
  const out = tmp();
  try {
    const run = await train({ spec, out, data, stopAfter: 1, log: () => {} });
    const trained = dispatches(printProgram(run.exec.program, run.lowered.graph));
    run.exec.destroy();
    run.images.train.destroy();
    run.images.test.destroy();
    if (trained.length === 0) throw new Error("the trainer's program has no dispatch lines");
    const shown = dispatches(printed.out);
    const diff = trained.findIndex((l, i) => l !== shown[i]);
    if (shown.length !== trained.length || diff >= 0) {
      throw new Error(
        `printed ${shown.length} dispatches, the trainer compiled ${trained.length}; first difference:\n  printed: ${
          shown[diff]
        }\n  trainer: ${trained[diff]}`,
      );
    }
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

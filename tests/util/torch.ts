// Test helpers for the PyTorch export (tests/torch_*_test.ts): find Debian's python3-torch (its
// absence is a failure with the install command, never a skip), write a spec's program, run
// Python and torchrun, and move tensors both ways through safetensors files.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { writeTorchProgram } from "../../export/torch/mod.ts";
import { readSafetensors, type Tensors, writeSafetensors } from "../../io/safetensors.ts";

export const PYTHON = "/usr/bin/python3";
export const TORCHRUN = "/usr/bin/torchrun";
/** The Python side of these tests (cases.json in → safetensors out). */
export const CASES_PY = fileURLToPath(new URL("./torch_cases.py", import.meta.url));

let checked: string | undefined;

/** Throws (a test failure) with the install command when torch is missing; returns its version. */
export function requireTorch(): string {
  if (checked) return checked;
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy; print(torch.__version__)"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(
      `the PyTorch export tests need Debian's python3-torch as ${PYTHON} (${
        (r.stderr || r.error?.message || "").trim().split("\n").pop()
      }); ` +
        "install it with `apt-get install -y python3-torch python3-torchvision libopenblas0-pthread` (or run .ci/setup.sh)",
    );
  }
  return (checked = r.stdout.trim());
}

/** A fresh temporary folder. */
export const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `ssl-torch-${tag}-`));

/** Environment of every Python process: one thread each (the suite shares two cores). */
const env = () => ({ ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1" });

/** Runs a command; throws with its output when it fails. Returns stdout. */
export function run(cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: opts.cwd, env: env(), timeout: opts.timeout ?? 300_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
  return r.stdout;
}

export const python = (args: string[], opts: { cwd?: string; timeout?: number } = {}) => run(PYTHON, args, opts);

/** Writes the spec's program into a fresh folder under `root`. */
export function exportSpec(spec: PipelineSpec, root: string, name = spec.name): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeTorchProgram(spec, dir);
  return dir;
}

/** Float32 tensors by name into a safetensors file. */
export function writeTensors(
  path: string,
  tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>,
): void {
  const t: Tensors = {};
  for (const [k, v] of Object.entries(tensors)) t[k] = { shape: [...v.shape], data: Float32Array.from(v.data) };
  writeSafetensors(path, t);
}

export const readTensors = (path: string): Tensors => readSafetensors(path).tensors;

/** Runs tests/util/torch_cases.py over a list of cases (see that file for their kinds). */
export function runCases(dir: string, cases: Record<string, unknown>[], timeout = 300_000): string {
  const file = join(dir, "cases.json");
  writeFileSync(file, JSON.stringify(cases));
  return python([CASES_PY, file], { timeout });
}

/** max |a − b| / max |b| over one tensor (0 when both are zero). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export const RUNS_PY = fileURLToPath(new URL("./torch_runs.py", import.meta.url));

/**
 * Runs generated programs' training (train.py arguments per run) in one process, or as one
 * torchrun job of `procs` processes. torchrun's `--redirects 1 --tee 1`: Debian's torch 1.13
 * under Python 3.11 cannot parse the default "0" of these two flags (an IntFlag change).
 */
export function trainRuns(
  dir: string,
  runs: { program: string; args: string[] }[],
  procs = 1,
  timeout = 300_000,
): string {
  const file = join(dir, `runs-${procs}.json`);
  writeFileSync(file, JSON.stringify(runs));
  if (procs === 1) return python([RUNS_PY, file], { timeout });
  return run(TORCHRUN, ["--standalone", `--nproc_per_node=${procs}`, "--redirects", "1", "--tee", "1", RUNS_PY, file], {
    timeout,
  });
}

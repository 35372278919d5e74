// The project's side of bench/gpu.sh, and the merge of both sides into bench/results_gpu.json.
//
//   deno run -A bench/gpu.ts workloads [--small]        the workload list as JSON (for PyTorch)
//   deno run -A bench/gpu.ts project --out F [--small] [--budget-s S] [--data D] [--no-tune]
//       checks every discrete-GPU kernel variant against float64 on this adapter, then times
//       each workload (bench/gpu_workloads.ts); workloads that would start after the budget
//       are marked skipped
//   deno run -A bench/gpu.ts merge --project F --torch F [--machine F] --out F [--small]
//       one JSON file: adapter, subgroup-matrix configs, checks, and per workload the project's
//       time, PyTorch's time and their ratio (project / PyTorch: 1 = parity, 2 = twice as slow)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { FlagError, realValue, splitArgs } from "../dsl/flags.ts";
import { candidateVariants } from "../kernels/matmul/variants.ts";
import { adapterKey, deviceFeatures } from "../runtime/autotune.ts";
import { getGpu } from "../runtime/device.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { type CheckResult, checkVariants, passedVariants } from "./gpu_checks.ts";
import {
  projectMatmul,
  projectPipeline,
  type ProjectResult,
  projectStep,
  standInFashionMnist,
  stepSpec,
  type Workload,
  workloads,
} from "./gpu_workloads.ts";

const log = (s: string) => console.log(s);

async function project(a: { out: string; small: boolean; budgetS: number; data?: string; tune: boolean }) {
  const start = performance.now();
  const left = () => a.budgetS - (performance.now() - start) / 1000;
  const gpu = await getGpu();
  const info = gpu.adapter.info;
  const f = deviceFeatures(gpu.device);
  log(
    `adapter: ${gpu.description}; subgroups ${gpu.subgroupSize?.min}–${gpu.subgroupSize?.max}; subgroup-matrix configs ${
      JSON.stringify(gpu.subgroupMatrixConfigs)
    }`,
  );
  const checks: CheckResult[] = await checkVariants(gpu.device, f, log, a.small);
  const passed = passedVariants(checks);
  // a tensor-core variant counts under the builtin form that ran here
  const usable = (names: string[]) =>
    names.map((n) => (passed.has(n) ? n : passed.has(`${n}-argsyntax`) ? `${n}-argsyntax` : "")).filter(Boolean);
  const results: Record<string, ProjectResult> = {};
  let data = a.data;
  for (const w of workloads(a.small)) {
    // the pipeline's whole run needs the most time; each other workload well under a minute
    const need = w.kind === "pipeline" ? (a.small ? 60 : 90) : a.small ? 5 : 20;
    if (left() < need) {
      results[w.id] = { skipped: `time budget (${left().toFixed(0)} s of ${a.budgetS} s left)` };
      log(`${w.id}: skipped, ${left().toFixed(0)} s left`);
      continue;
    }
    const t0 = performance.now();
    try {
      if (w.kind === "matmul") {
        const list = w.dtype === "f32" ? usable(candidateVariants(f, { precision: "f32" })) : usable([
          ...candidateVariants(f, { precision: "f16", storage: "f16" }),
          ...candidateVariants(f, { precision: "f16" }),
        ]);
        results[w.id] = await awaitGpu(projectMatmul(gpu, w, list));
      } else if (w.kind === "pipeline") {
        if (!data && !existsSync("/usr/share/datasets/fashion-mnist")) {
          const dir = "/tmp/ssl-gpu-bench-fmnist";
          standInFashionMnist(dir);
          data = `fashion-mnist:${dir}`;
          log(
            `Fashion-MNIST is not installed here: random pixels of its shapes in ${dir} (images/s do not depend on pixel values)`,
          );
        }
        results[w.id] = await projectPipeline(w, { data, timeoutS: Math.max(30, left() - 5), log, tune: a.tune });
      } else if (w.precision === "f16" && !gpu.features.f16) {
        results[w.id] = { skipped: "not yet available: this adapter has no shader-f16" };
      } else {
        const r = await projectStep(gpu, stepSpec(w), w, { tune: a.tune });
        if (w.precision === "f16") {
          r.note = `the compiler's f16-mixed step: matmul/conv operands rounded to f16 outside the loss, activations ` +
            `stored and summed in f32, dynamic loss scaling; f16-input kernels where the tuner finds them faster. ` +
            `PyTorch's row is autocast (f16 activations). ${r.note ?? ""}`;
        }
        results[w.id] = r;
      }
    } catch (e) {
      results[w.id] = { error: (e as Error).message.split("\n").slice(0, 3).join(" ").slice(0, 600) };
    }
    log(`${w.id}: ${JSON.stringify(results[w.id])} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const out = {
    adapter: {
      key: adapterKey(info),
      description: gpu.description,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      features: gpu.features,
      subgroupSize: gpu.subgroupSize,
    },
    subgroupMatrixConfigs: gpu.subgroupMatrixConfigs ?? [],
    checks,
    workloads: results,
    wall_seconds: Math.round((performance.now() - start) / 100) / 10,
  };
  writeFileSync(a.out, JSON.stringify(out, null, 1) + "\n");
  log(`wrote ${a.out}`);
}

interface TorchSide {
  torch: string;
  cuda: string | null;
  device: string;
  workloads: Record<string, { seconds?: number; tflops?: number; images_per_sec?: number; error?: string }>;
}

/** A row of the merged results: both sides' seconds per run and project / PyTorch. */
export function mergeRow(w: Workload, p: ProjectResult | undefined, t: TorchSide["workloads"][string] | undefined) {
  const ratio = p?.seconds && t?.seconds ? Math.round((p.seconds / t.seconds) * 1000) / 1000 : null;
  return {
    id: w.id,
    title: w.title,
    project_seconds: p?.seconds ?? null,
    torch_seconds: t?.seconds ?? null,
    ratio,
    project: p ?? { skipped: "not run" },
    torch: t ?? { error: "not run" },
  };
}

function merge(a: { project: string; torch: string; machine?: string; out: string; small: boolean }) {
  const p = JSON.parse(readFileSync(a.project, "utf8"));
  const t: TorchSide = existsSync(a.torch)
    ? JSON.parse(readFileSync(a.torch, "utf8"))
    : { torch: "", cuda: null, device: "", workloads: {} };
  const machine = a.machine && existsSync(a.machine) ? JSON.parse(readFileSync(a.machine, "utf8")) : {};
  const rows = workloads(a.small).map((w) => mergeRow(w, p.workloads[w.id], t.workloads[w.id]));
  const failed = (p.checks as CheckResult[]).filter((c) => !c.ok);
  const out = {
    date: new Date().toISOString(),
    small: a.small,
    machine,
    adapter: p.adapter,
    subgroup_matrix_configs: p.subgroupMatrixConfigs,
    ratio_means: "project seconds / PyTorch seconds for the same workload (1 = parity, > 1 = the project is slower); " +
      "for the pipeline row, seconds per training image",
    torch: { version: t.torch, cuda: t.cuda, device: t.device },
    workloads: rows,
    checks: { total: p.checks.length, failed: failed.length, failures: failed, all: p.checks },
    project_wall_seconds: p.wall_seconds,
  };
  writeFileSync(a.out, JSON.stringify(out, null, 1) + "\n");
  const fmt = (
    s: number | null,
  ) => (s === null
    ? "—"
    : s < 1e-3
    ? `${(s * 1e6).toFixed(1)} µs`
    : s < 1
    ? `${(s * 1e3).toFixed(2)} ms`
    : `${s.toFixed(2)} s`);
  log(
    `\nadapter: ${p.adapter.description}; PyTorch ${t.torch} on ${t.device}; variant checks: ${
      p.checks.length - failed.length
    }/${p.checks.length} passed`,
  );
  log(`${"workload".padEnd(62)} ${"project".padStart(10)} ${"PyTorch".padStart(10)} ${"ratio".padStart(7)}`);
  for (const r of rows) {
    const why = r.project.skipped ?? r.project.error ?? "";
    log(
      `${r.title.slice(0, 62).padEnd(62)} ${fmt(r.project_seconds).padStart(10)} ${fmt(r.torch_seconds).padStart(10)} ${
        (r.ratio?.toFixed(2) ?? "—").padStart(7)
      }${why ? `  (${why.slice(0, 80)})` : ""}`,
    );
  }
  log(`wrote ${a.out}`);
}

const USAGE = "usage: bench/gpu.ts workloads|project|merge … (see the header of bench/gpu.ts)";
const FLAGS = [
  { name: "small" },
  { name: "out", arg: "F" },
  { name: "budget-s", arg: "S" },
  { name: "data", arg: "D" },
  { name: "no-tune" },
  { name: "project", arg: "F" },
  { name: "torch", arg: "F" },
  { name: "machine", arg: "F" },
  { name: "help" },
];

export type GpuBenchArgs =
  | { mode: "help" }
  | { mode: "workloads"; small: boolean }
  | { mode: "project"; out: string; small: boolean; budgetS: number; data?: string; tune: boolean }
  | { mode: "merge"; project: string; torch: string; machine?: string; out: string; small: boolean };

/** The mode and its flags (the project's flag parser, dsl/flags.ts); a usage error is a FlagError. */
export function parseGpuBenchArgs(args: string[]): GpuBenchArgs {
  const { values: v, positionals } = splitArgs(args, FLAGS, { positionals: true });
  if (v.has("help")) return { mode: "help" };
  const mode = positionals[0];
  if (positionals.length > 1) throw new FlagError(positionals[1], `unexpected argument (${USAGE})`);
  const need = (flag: string) => {
    const x = v.get(flag);
    if (!x) throw new FlagError(`--${flag}`, `required by bench/gpu.ts ${mode}`);
    return x;
  };
  const small = v.has("small");
  if (mode === "workloads") return { mode, small };
  if (mode === "project") {
    const budgetS = v.has("budget-s") ? realValue("--budget-s", v.get("budget-s")!, true) : 270;
    return { mode, out: need("out"), small, budgetS, data: v.get("data"), tune: !v.has("no-tune") };
  }
  if (mode === "merge") {
    return { mode, project: need("project"), torch: need("torch"), machine: v.get("machine"), out: need("out"), small };
  }
  throw new FlagError(mode ?? "<mode>", `expected workloads, project or merge (${USAGE})`);
}

if (import.meta.main) {
  let a: GpuBenchArgs;
  try {
    a = parseGpuBenchArgs(Deno.args);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`bench/gpu.ts: ${e.message}`);
    process.exit(2);
  }
  if (a.mode === "help") console.log(USAGE);
  else if (a.mode === "workloads") console.log(JSON.stringify(workloads(a.small)));
  else if (a.mode === "project") await project(a);
  else merge(a);
  Deno.exit(0);
}

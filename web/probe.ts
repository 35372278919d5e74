// The probe page: this browser's WebGPU adapter, and one small graph through the project's own
// compiler and runtime, checked against the float64 CPU reference. The page ends in a state
// (body[data-state]: "done", "no-webgpu" or "failed") and writes its result as JSON into #result,
// which the browser tests read.
import { compile } from "../compiler/compile.ts";
import { evaluate } from "../cpu/reference.ts";
import { Graph } from "../ir/graph.ts";
import { Executable } from "../runtime/executable.ts";
import { NoWebGpuError, openBrowserGpu } from "./browser_gpu.ts";
import { showWebGpuHelp } from "./webgpu_help.ts";

// ?n=SIZE makes the matmul SIZE×SIZE×SIZE (default: sizes off the kernels' tile multiples, so edge
// handling is exercised); ?runs=R times R more runs after the checked one (default 0).
function options(search: string): { B: number; K: number; N: number; runs: number } {
  const params = new URLSearchParams(search);
  const n = positive(params.get("n"), "n");
  return { B: n ?? 37, K: n ?? 91, N: n ?? 53, runs: positive(params.get("runs"), "runs") ?? 0 };
}

function positive(v: string | null, name: string): number | undefined {
  if (v === null) return undefined;
  if (!/^[1-9]\d{0,4}$/.test(v)) throw new Error(`?${name}=${v}: expected a whole number from 1 to 99999`);
  return Number(v);
}

/** Per output: how far the GPU's float32 result is from the float64 reference. */
export interface OutputCheck {
  n: number;
  /** max |gpu − reference| */
  maxAbsError: number;
  /** max |reference|, the scale the error is measured against */
  maxAbs: number;
}

/** Uniform values in [-1, 1) exactly representable in float32, from a fixed seed. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** h = relu(x·w + b); its rows' sums of squares, logsumexp, and overall mean. */
function probeGraph(B: number, K: number, N: number): Graph {
  const g = new Graph();
  const x = g.input("x", [B, K]), w = g.input("w", [K, N]), b = g.input("b", [N]);
  const h = x.matmul(w).add(b).relu();
  g.output("h", h);
  g.output("rowSquares", h.mul(h).sum([1]));
  g.output("logsumexp", h.logsumexp(1));
  g.output("mean", h.mean());
  return g;
}

async function probe(): Promise<Record<string, unknown>> {
  const { B, K, N, runs: RUNS } = options(location.search);
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    ms[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  const gpu = await openBrowserGpu();
  lap("openGpu");
  const g = probeGraph(B, K, N);
  const program = compile(g, {
    features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 },
    maxStorageBuffers: gpu.device.limits.maxStorageBuffersPerShaderStage,
  });
  lap("compile");
  const leaves = new Map([["x", values(B * K, 1)], ["w", values(K * N, 2)], ["b", values(N, 3)]]);
  const errors: string[] = [];
  gpu.device.addEventListener("uncapturederror", (ev) => errors.push((ev as GPUUncapturedErrorEvent).error.message));
  const ex = await Executable.create(gpu, program);
  lap("pipelines");
  const got = new Map<string, Float32Array>();
  try {
    for (const [name, v] of leaves) ex.write(name, v);
    ex.run();
    for (const name of g.outputs.keys()) got.set(name, await ex.read(name));
    lap("run");
    for (let i = 0; i < RUNS; i++) ex.run();
    await gpu.device.queue.onSubmittedWorkDone();
    if (RUNS) lap(`${RUNS} runs`);
  } finally {
    ex.destroy();
  }
  const ref = evaluate(g, {
    leaves: new Map([...leaves].map(([k, v]) => [k, Float64Array.from(v)])),
    scalars: {},
  });
  const outputs: Record<string, OutputCheck> = {};
  for (const [name, id] of g.outputs) outputs[name] = check(got.get(name)!, ref[id]);
  lap("reference");
  const info = gpu.adapter.info;
  const limits: Record<string, number> = {};
  for (const k in gpu.device.limits) limits[k] = (gpu.device.limits as unknown as Record<string, number>)[k];
  return {
    adapter: {
      description: gpu.description,
      vendor: info.vendor,
      architecture: info.architecture,
      isFallbackAdapter: gpu.isFallbackAdapter,
      featureLevel: gpu.featureLevel,
      subgroupSize: gpu.subgroupSize ?? null,
    },
    adapterFeatures: [...gpu.adapter.features].sort(),
    deviceFeatures: [...gpu.device.features].sort(),
    features: gpu.features,
    limits,
    graph: { shape: { B, K, N }, dispatches: program.steps.filter((s) => s.kind === "dispatch").length },
    ...(RUNS
      ? { msPerRun: ms[`${RUNS} runs`] / RUNS, matmulGflops: (2 * B * K * N * RUNS) / ms[`${RUNS} runs`] / 1e6 }
      : {}),
    outputs,
    maxAbsError: Math.max(...Object.values(outputs).map((o) => o.maxAbsError)),
    gpuErrors: errors,
    ms,
  };
}

function check(gpu: Float32Array, ref: Float64Array): OutputCheck {
  if (gpu.length !== ref.length) throw new Error(`GPU gave ${gpu.length} values, the reference ${ref.length}`);
  let maxAbsError = 0, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    // NaN must not compare its way past the check
    const e = Number.isFinite(gpu[i]) ? Math.abs(gpu[i] - ref[i]) : Infinity;
    maxAbsError = Math.max(maxAbsError, e);
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
  }
  return { n: ref.length, maxAbsError, maxAbs };
}

const el = (id: string) => document.getElementById(id)!;

function finish(state: string, status: string, result: Record<string, unknown>): void {
  el("status").textContent = status;
  el("result").textContent = JSON.stringify({ state, ...result }, null, 2);
  document.body.dataset.state = state;
}

try {
  document.body.dataset.state = "running";
  el("status").textContent = "Running…";
  const r = await probe();
  finish("done", `Done: max |GPU − float64 reference| = ${(r.maxAbsError as number).toExponential(2)}`, r);
} catch (e) {
  if (e instanceof NoWebGpuError) {
    showWebGpuHelp(el("message"), e.reason);
    finish("no-webgpu", e.message, { reason: e.reason, error: e.message });
  } else {
    console.error(e);
    finish("failed", `Failed: ${(e as Error).message}`, { error: String((e as Error).stack ?? e) });
  }
}

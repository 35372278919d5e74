// Kernel passes made ready to dispatch: the one place that creates pipelines, bind-group layouts
// and bind groups, for the compiled program (executable.ts) and the standalone runners
// (matmul_runner.ts, op_runner.ts). Pipelines are cached per device by layout + WGSL text, so a
// kernel compiled once (by a program, a test or the autotuner) is never compiled again. The step
// uniform is always bound with a dynamic offset, so one layout serves a ring of slots and a
// single slot alike.
import { type Pass, SLOT_BYTES, UNIFORM_BINDING } from "../kernels/op.ts";
import { awaitGpu } from "./wait.ts";

/** What a pass declares: its WGSL, storage bindings (read or written) and whether it reads the step uniform. */
export type PassCode = Pick<Pass, "wgsl" | "uniform" | "label"> & { bindings: readonly { write: boolean }[] };

/** One pass bound to its buffers, ready to record. */
export interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** bound to the step uniform (a dynamic offset picks the slot) */
  uniform: boolean;
  workgroups: [number, number, number];
  label: string;
}

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** rejects with the compiler's messages and the numbered WGSL when the shader does not compile */
  ready: Promise<void>;
}

const layoutCache = new WeakMap<GPUDevice, Map<string, GPUBindGroupLayout>>();
const pipelineCache = new WeakMap<GPUDevice, Map<string, Compiled>>();

const perDevice = <V>(cache: WeakMap<GPUDevice, Map<string, V>>, device: GPUDevice): Map<string, V> => {
  let m = cache.get(device);
  if (!m) cache.set(device, m = new Map());
  return m;
};

/** e.g. "rrwu": two read-only storages, one written, the step uniform */
const layoutKey = (p: PassCode) => p.bindings.map((b) => (b.write ? "w" : "r")).join("") + (p.uniform ? "u" : "");

function bindGroupLayout(device: GPUDevice, p: PassCode): GPUBindGroupLayout {
  const layouts = perDevice(layoutCache, device), key = layoutKey(p);
  let layout = layouts.get(key);
  if (!layout) {
    const entries: GPUBindGroupLayoutEntry[] = p.bindings.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.write ? "storage" : "read-only-storage" },
    }));
    if (p.uniform) {
      entries.push({
        binding: UNIFORM_BINDING,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true },
      });
    }
    layout = device.createBindGroupLayout({ entries });
    layouts.set(key, layout);
  }
  return layout;
}

/**
 * The pipeline of a pass, from the cache or compiled now. Creation does not wait for the
 * compiler's verdict: `ready` carries it, so a program's kernels compile side by side.
 */
function pipelineFor(device: GPUDevice, p: PassCode): Compiled {
  const pipes = perDevice(pipelineCache, device);
  const key = layoutKey(p) + "\n" + p.wgsl;
  const hit = pipes.get(key);
  if (hit) return hit;
  const layout = bindGroupLayout(device, p), label = p.label ?? "kernel";
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: p.wgsl, label });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: "main" },
    label,
  });
  const ready = awaitGpu(device.popErrorScope()).then(async (err) => {
    if (!err) return;
    pipes.delete(key);
    const info = await awaitGpu(module.getCompilationInfo());
    const msgs = info.messages.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join("\n");
    throw new Error(`kernel '${label}' failed to compile: ${err.message}\n${msgs}\n--- WGSL ---\n${numbered(p.wgsl)}`);
  });
  const compiled = { pipeline, layout, ready };
  pipes.set(key, compiled);
  return compiled;
}

/**
 * Pass `p` bound to `buffers` (in the order of its bindings) and, when it reads the step
 * uniform, to `uniform`. `ready` settles once both the pipeline and the bind group are known
 * valid; await it (or a Promise.all of several) before the first submit.
 */
export function dispatchFor(
  device: GPUDevice,
  p: PassCode & { workgroups: [number, number, number] },
  buffers: GPUBuffer[],
  uniform?: GPUBuffer,
): { dispatch: Dispatch; ready: Promise<void> } {
  const { pipeline, layout, ready: compiled } = pipelineFor(device, p);
  const label = p.label ?? "kernel";
  const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
  if (p.uniform) {
    if (!uniform) throw new Error(`kernel '${label}' reads the step uniform, but no uniform buffer was given`);
    entries.push({ binding: UNIFORM_BINDING, resource: { buffer: uniform, size: SLOT_BYTES } });
  }
  device.pushErrorScope("validation");
  const bindGroup = device.createBindGroup({ layout, entries, label });
  const bound = awaitGpu(device.popErrorScope()).then((err) => {
    if (err) throw new Error(`bind group of kernel '${label}': ${err.message}`);
  });
  return {
    dispatch: { pipeline, bindGroup, uniform: !!p.uniform, workgroups: p.workgroups, label },
    ready: Promise.all([compiled, bound]).then(() => {}),
  };
}

/** Records `d` into a compute pass `reps` times, its uniform (if any) read from slot `slot`. */
export function recordDispatch(pass: GPUComputePassEncoder, d: Dispatch, slot = 0, reps = 1): void {
  pass.setPipeline(d.pipeline);
  if (d.uniform) pass.setBindGroup(0, d.bindGroup, [slot * SLOT_BYTES]);
  else pass.setBindGroup(0, d.bindGroup);
  for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...d.workgroups);
}

function numbered(code: string): string {
  return code.split("\n").map((l, i) => `${String(i + 1).padStart(4)}| ${l}`).join("\n");
}

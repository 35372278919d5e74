// One kernel op run on its own, straight from its lowering (kernels/<op>.ts), outside any
// compiled program: its passes compiled with one kernel variant, its inputs, temporaries and
// output allocated. The autotuner times conv and reduction variants with it, so tuning needs
// no compiler.
import { OPS } from "../kernels/registry.ts";
import { type Attrs, MAX_SCALARS, type Shape, size, UNIFORM_BINDING } from "../kernels/op.ts";
import { readBuffer } from "./matmul_runner.ts";
import { timePass } from "./timestamps.ts";
import { awaitGpu } from "./wait.ts";

export interface PreparedOp {
  op: string;
  variant: string | undefined;
  outSize: number;
  /** record every pass of the op into `pass`, `reps` times */
  record(pass: GPUComputePassEncoder, reps?: number): void;
  inputs: GPUBuffer[];
  output: GPUBuffer;
  destroy(): void;
}

const bytesOf = (n: number) => Math.ceil(Math.max(n, 1) / 4) * 16;

/** Lower `op` with `variant` and build its pipelines and buffers (inputs filled from `data`). */
export async function prepareOp(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  variant: string | undefined,
  features: { subgroups: boolean; f16: boolean },
  data?: Float32Array[],
): Promise<PreparedOp> {
  const def = OPS[op];
  if (!def?.kernel) throw new Error(`prepareOp: '${op}' is not a kernel op`);
  const outShape = def.shape(inShapes, attrs);
  const lowering = def.kernel({
    inShapes,
    outShape,
    attrs,
    features,
    variant,
    scalar: () => "0.0",
    scalarU32: () => "0u",
  });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const inputs = inShapes.map((s, i) => {
    const buf = device.createBuffer({ size: bytesOf(size(s)), usage });
    const d = data?.[i];
    if (d) device.queue.writeBuffer(buf, 0, d.buffer, d.byteOffset, d.byteLength);
    return buf;
  });
  const output = device.createBuffer({ size: bytesOf(size(outShape)), usage });
  const temps = (lowering.temps ?? []).map((n) => device.createBuffer({ size: bytesOf(n), usage }));
  const uniform = device.createBuffer({
    size: MAX_SCALARS * 4,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const all = [...inputs, output, ...temps, uniform];
  device.pushErrorScope("validation");
  const steps: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number] }[] = [];
  for (const p of lowering.passes) {
    const entries: GPUBindGroupLayoutEntry[] = p.bindings.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.write ? "storage" : "read-only-storage" },
    }));
    if (p.uniform) {
      entries.push({ binding: UNIFORM_BINDING, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } });
    }
    const layout = device.createBindGroupLayout({ entries });
    const module = device.createShaderModule({ code: p.wgsl, label: p.label });
    const info = await awaitGpu(module.getCompilationInfo());
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length) {
      await awaitGpu(device.popErrorScope());
      all.forEach((b) => b.destroy());
      throw new Error(
        `${p.label}: WGSL errors:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("\n")}`,
      );
    }
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: p.label,
    });
    const buf = (r: (typeof p.bindings)[number]["buf"]) =>
      r.kind === "in" ? inputs[r.i] : r.kind === "out" ? output : temps[r.i];
    const bgEntries: GPUBindGroupEntry[] = p.bindings.map((b, i) => ({ binding: i, resource: { buffer: buf(b.buf) } }));
    if (p.uniform) bgEntries.push({ binding: UNIFORM_BINDING, resource: { buffer: uniform } });
    steps.push({
      pipeline,
      bindGroup: device.createBindGroup({ layout, entries: bgEntries }),
      workgroups: p.workgroups,
    });
  }
  const err = await awaitGpu(device.popErrorScope());
  if (err) {
    all.forEach((b) => b.destroy());
    throw new Error(`${op} variant '${variant ?? "default"}': ${err.message}`);
  }
  return {
    op,
    variant,
    outSize: size(outShape),
    record(pass, reps = 1) {
      for (let r = 0; r < reps; r++) {
        for (const s of steps) {
          pass.setPipeline(s.pipeline);
          pass.setBindGroup(0, s.bindGroup);
          pass.dispatchWorkgroups(...s.workgroups);
        }
      }
    },
    inputs,
    output,
    destroy: () => all.forEach((b) => b.destroy()),
  };
}

/** Seconds per run of the op (runtime/timestamps.ts's timePass). */
export function timeOp(
  device: GPUDevice,
  m: PreparedOp,
  opts: { reps?: number; rounds?: number; expectS?: number } = {},
): Promise<{ seconds: number; source: "gpu" | "wall" }> {
  return timePass(device, (pass, reps) => m.record(pass, reps), opts);
}

/** Run the op once and read its output. */
export function runOp(device: GPUDevice, m: PreparedOp): Promise<Float32Array> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  m.record(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  return readBuffer(device, m.output, m.outSize);
}

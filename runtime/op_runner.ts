// One kernel op run on its own, straight from its lowering (kernels/<op>.ts), outside any
// compiled program: its passes compiled with one kernel variant, its inputs, temporaries and
// output allocated. The autotuner times every tuned op's variants with it (opTrial), so tuning
// needs no compiler.
import { OPS } from "../kernels/registry.ts";
import { type Attrs, type BufRef, type Shape, size, SLOT_BYTES } from "../kernels/op.ts";
import { readBuffer } from "./matmul_runner.ts";
import { dispatchFor, recordDispatch } from "./pipelines.ts";
import { spotCheckOp } from "./spot_check.ts";
import type { Trial } from "./trials.ts";
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
    size: SLOT_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const all = [...inputs, output, ...temps, uniform];
  const destroy = () => all.forEach((b) => b.destroy());
  const buf = (r: BufRef) => (r.kind === "in" ? inputs[r.i] : r.kind === "out" ? output : temps[r.i]);
  try {
    const bound = lowering.passes.map((p) => dispatchFor(device, p, p.bindings.map((b) => buf(b.buf)), uniform));
    await awaitGpu(Promise.all(bound.map((b) => b.ready)));
    const steps = bound.map((b) => b.dispatch);
    return {
      op,
      variant,
      outSize: size(outShape),
      record(pass, reps = 1) {
        for (let r = 0; r < reps; r++) for (const s of steps) recordDispatch(pass, s);
      },
      inputs,
      output,
      destroy,
    };
  } catch (e) {
    destroy();
    throw new Error(`${op} variant '${variant ?? "default"}': ${(e as Error).message}`);
  }
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

/**
 * `op` lowered with `variant` as a candidate for the tuner, on `data`, checked against float64
 * under its own contract: a variant that rounds its inputs to f16 (`roundsToF16`) is checked on
 * rounded inputs.
 */
export async function opTrial(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  variant: string | undefined,
  o: { features: { subgroups: boolean; f16: boolean }; data: Float32Array[]; roundsToF16: boolean },
): Promise<Trial> {
  const m = await prepareOp(device, op, inShapes, attrs, variant, o.features, o.data);
  return {
    run: async () => (await timeOp(device, m, { rounds: 1 })).seconds,
    time: (reps, rounds, expectS) => timeOp(device, m, { reps, rounds, expectS }),
    check: async () => spotCheckOp(op, inShapes, attrs, o.data, await runOp(device, m), o.roundsToF16 ? "f16" : "f32"),
    destroy: () => m.destroy(),
  };
}

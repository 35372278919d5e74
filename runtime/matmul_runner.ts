// A matmul kernel variant run on its own, outside any compiled program: compiled for one
// problem (its passes in order, with their temporaries) with its three buffers bound (f16 A and
// B for variants that read f16 storage), ready to dispatch, time and read back. The matmul tests,
// the matmul benchmarks and the GPU bench's f16-storage timings use it (the autotuner runs
// matmuls through their op lowering, op_runner.ts).
import { asLowering, batchCount, type MatmulProblem } from "../kernels/matmul/common.ts";
import { matmulVariant } from "../kernels/matmul/variants.ts";
import { type BufRef, size } from "../kernels/op.ts";
import { deviceFeatures } from "./device.ts";
import { type Dispatch, dispatchFor, recordDispatch } from "./pipelines.ts";
import { spotCheckMatmul } from "./spot_check.ts";
import type { Trial } from "./trials.ts";
import { timePass } from "./timestamps.ts";
import { awaitGpu } from "./wait.ts";

/** A variant compiled for one problem with its buffers bound, ready to dispatch. */
export interface PreparedMatmul {
  problem: MatmulProblem;
  variant: string;
  /** the variant's passes in order (a transpose into a temporary, then the product) */
  dispatches: Dispatch[];
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  destroy(): void;
}

/** Element counts of A, B and C (all batch entries that exist in storage). */
export function operandSizes(p: MatmulProblem): [number, number, number] {
  return [size(p.aBatch) * p.M * p.K, size(p.bBatch) * p.K * p.N, batchCount(p) * p.M * p.N];
}

/** Bytes of a buffer of `n` elements of `bytes` each, padded to whole vec4s as the runtime allocates. */
const paddedBytes = (n: number, bytes = 4) => Math.ceil(Math.max(n, 1) / 4) * 4 * bytes;

/**
 * `x` as IEEE half-precision bits (round to nearest even, as the GPU's conversion does), padded
 * to whole vec4s: writeBuffer takes multiples of 4 bytes.
 */
function toF16Bits(x: Float32Array): Uint16Array {
  const h = new Float16Array(Math.ceil(x.length / 4) * 4);
  h.set(x);
  return new Uint16Array(h.buffer);
}

/** Compile `variant` for problem `p` and allocate its buffers, optionally filled with `data`. */
export async function prepareMatmul(
  device: GPUDevice,
  p: MatmulProblem,
  variant: string,
  data?: { a: Float32Array; b: Float32Array },
): Promise<PreparedMatmul> {
  const v = matmulVariant(variant);
  if (!v) throw new Error(`matmul: unknown variant '${variant}'`);
  const low = asLowering(v.lower(p, deviceFeatures(device)));
  const half = v.storageType === "f16";
  const [na, nb, nc] = operandSizes(p);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mk = (n: number, bytes: number, init?: ArrayBufferView) => {
    const buf = device.createBuffer({ size: paddedBytes(n, bytes), usage });
    if (init) device.queue.writeBuffer(buf, 0, init.buffer, init.byteOffset, init.byteLength);
    return buf;
  };
  const inBytes = half ? 2 : 4;
  const conv = (x?: Float32Array) => (x && half ? toF16Bits(x) : x);
  const a = mk(na, inBytes, conv(data?.a)), b = mk(nb, inBytes, conv(data?.b)), c = mk(nc, 4);
  const temps = (low.temps ?? []).map((n) => mk(n, 4));
  const destroy = () => [a, b, c, ...temps].forEach((x) => x.destroy());
  const buf = (r: BufRef) => (r.kind === "in" ? [a, b][r.i] : r.kind === "out" ? c : temps[r.i]);
  try {
    const bound = low.passes.map((pass) => dispatchFor(device, pass, pass.bindings.map((x) => buf(x.buf))));
    await awaitGpu(Promise.all(bound.map((x) => x.ready)));
    return { problem: p, variant, dispatches: bound.map((x) => x.dispatch), a, b, c, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** `reps` back-to-back dispatches of the matmul in `pass` */
function recordMatmul(pass: GPUComputePassEncoder, m: PreparedMatmul, reps = 1) {
  for (let r = 0; r < reps; r++) for (const d of m.dispatches) recordDispatch(pass, d);
}

/** One compute pass of `reps` dispatches, optionally bracketed by timestamps. */
export function encodeMatmul(
  enc: GPUCommandEncoder,
  m: PreparedMatmul,
  reps: number,
  timestampWrites?: GPUComputePassTimestampWrites,
) {
  const pass = enc.beginComputePass(timestampWrites ? { timestampWrites } : {});
  recordMatmul(pass, m, reps);
  pass.end();
}

/** Copy `n` f32 values out of a storage buffer. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, n: number): Promise<Float32Array> {
  const rb = device.createBuffer({ size: paddedBytes(n), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, rb, 0, rb.size);
  device.queue.submit([enc.finish()]);
  await awaitGpu(rb.mapAsync(GPUMapMode.READ));
  const out = new Float32Array(rb.getMappedRange().slice(0, n * 4));
  rb.unmap();
  rb.destroy();
  return out;
}

/** Run one variant once on host data and read C back (tests, spot checks). */
export async function runMatmul(
  device: GPUDevice,
  p: MatmulProblem,
  variant: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
) {
  const m = await prepareMatmul(device, p, variant, { a: Float32Array.from(a), b: Float32Array.from(b) });
  try {
    const enc = device.createCommandEncoder();
    encodeMatmul(enc, m, 1);
    device.queue.submit([enc.finish()]);
    return await readBuffer(device, m.c, operandSizes(p)[2]);
  } finally {
    m.destroy();
  }
}

/** Seconds per dispatch of the matmul (runtime/timestamps.ts's timePass). */
export function timeMatmul(
  device: GPUDevice,
  m: PreparedMatmul,
  opts: { reps?: number; rounds?: number; expectS?: number } = {},
): Promise<{ seconds: number; source: "gpu" | "wall" }> {
  return timePass(device, (pass, reps) => recordMatmul(pass, m, reps), opts);
}

/**
 * Variant `variant` as a candidate for runtime/trials.ts's timeCandidates, on A and B as given:
 * for timing f16-storage variants, which no compiled step (and so no op lowering) uses.
 */
export async function matmulTrial(
  device: GPUDevice,
  p: MatmulProblem,
  variant: string,
  data: { a: Float32Array; b: Float32Array },
): Promise<Trial> {
  const m = await prepareMatmul(device, p, variant, data);
  const precision = matmulVariant(variant)?.inputType ?? "f32";
  return {
    run: async () => (await timeMatmul(device, m, { rounds: 1 })).seconds,
    time: (reps, rounds, expectS) => timeMatmul(device, m, { reps, rounds, expectS }),
    check: async () => spotCheckMatmul(p, data.a, data.b, await readBuffer(device, m.c, operandSizes(p)[2]), precision),
    destroy: () => m.destroy(),
  };
}

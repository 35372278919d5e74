// What bounds the lavapipe tile (kernels/conv/lavapipe_tile.ts, as a matmul in
// kernels/matmul/convtile.ts): the loads or the arithmetic? The tile as built runs beside copies
// of it that each remove one cost — A or B read at an address that is the same for every lane
// (llvmpipe then loads one scalar and broadcasts it instead of one load per lane), A used without
// subgroupBroadcast, both operands read from a few rows that stay in L1 — and beside other tile
// shapes. The copies compute wrong products (they exist only to be timed); the tile as built is
// checked against a float64 product. Rounds alternate the kernels, so a host that slows down
// moves all of them alike; each figure is the median over rounds of (tile as built / kernel).
//
//   deno run -A bench/tile_probe.ts [--shape MxNxK] [--rounds N]
//
// Measured figures and what they say: docs/results.md, "What bounds the tile on an AVX2 host".
import { parseArgs } from "node:util";
import { convtileVariant } from "../kernels/matmul/convtile.ts";
import type { MatmulProblem } from "../kernels/matmul/common.ts";
import type { Pass } from "../kernels/op.ts";
import { getGpu } from "../runtime/device.ts";
import { readBuffer } from "../runtime/matmul_runner.ts";
import { dispatchFor, recordDispatch } from "../runtime/pipelines.ts";
import { median } from "../runtime/timestamps.ts";
import { awaitGpu } from "../runtime/wait.ts";

/** one kernel of the probe: its name, WGSL and workgroup grid */
export interface ProbeKernel {
  name: string;
  wgsl: string;
  workgroups: [number, number, number];
  /** A, B read; C written */
  bindings: Pass["bindings"];
}

/** The probe's kernels bound to A [K, M], B [K, N] and C [M, N] on `device`, compiled. */
export async function bindProbe(
  device: GPUDevice,
  kernels: ProbeKernel[],
  a: Float32Array,
  b: Float32Array,
  c: number,
) {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const [bufA, bufB, out] = [a.length, b.length, c].map((n) => device.createBuffer({ size: 4 * n, usage }));
  device.queue.writeBuffer(bufA, 0, a);
  device.queue.writeBuffer(bufB, 0, b);
  const bound = kernels.map((k) => dispatchFor(device, { ...k, label: k.name }, [bufA, bufB, out]));
  await awaitGpu(Promise.all(bound.map((x) => x.ready)));
  return {
    /** `reps` dispatches of kernel `i`, waited for */
    run: async (i: number, reps: number) => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      recordDispatch(pass, bound[i].dispatch, 0, reps);
      pass.end();
      device.queue.submit([enc.finish()]);
      await awaitGpu(device.queue.onSubmittedWorkDone());
    },
    /** C as the last kernel run left it */
    read: () => readBuffer(device, out, c),
    destroy: () => [bufA, bufB, out].forEach((x) => x.destroy()),
  };
}

/**
 * The tile as built for C[M, N] = A[K, M]ᵀ·B[K, N] (A stored K-major, N a whole number of tiles: one pass that reads both
 * operands in place), then its edited copies and other tile shapes, in that order.
 */
export function probeKernels(M: number, N: number, K: number): ProbeKernel[] {
  const problem: MatmulProblem = { M, N, K, transA: true, transB: false, batch: [], aBatch: [], bBatch: [] };
  const onePass = (name: string, variant: string): ProbeKernel => {
    const low = convtileVariant(variant)!.lower(problem, { subgroups: true } as never);
    if (!("passes" in low) || low.passes.length !== 1) {
      throw new Error(`${variant}: ${M}x${N}x${K} needs a transposed operand; pick N a multiple of 128`);
    }
    const pass = low.passes[0];
    return { name, wgsl: pass.wgsl, workgroups: pass.workgroups, bindings: pass.bindings };
  };
  const built = onePass("as built", "convtile");
  /** a copy of the built kernel with each rule applied; a rule that no longer matches is an error, not a no-op */
  const edit = (name: string, ...rules: [RegExp, string][]): ProbeKernel => {
    let wgsl = built.wgsl;
    for (const [from, to] of rules) {
      if (wgsl.search(from) < 0) throw new Error(`tile_probe: '${name}' no longer matches the kernel (${from})`);
      wgsl = wgsl.replace(from, to);
    }
    return { ...built, name, wgsl };
  };
  const laneA: [RegExp, string] = [/(let r\d+ = min\(rt \* \d+u \+ \d+u) \+ lane/g, "$1"];
  const laneB: [RegExp, string] = [/(let bcol = bOff \+ ct \* \d+u) \+ lane;/, "$1;"];
  return [
    built,
    edit("A at one address per subgroup", laneA),
    edit("B at one address per subgroup", laneB),
    edit("A and B at one address", laneA, laneB),
    edit("A without subgroupBroadcast", [/subgroupBroadcast\((\w+), \d+u\)/g, "$1"]),
    edit(
      "A and B from 8 rows (in L1)",
      [/\bk \* (\d+u)/g, "(k & 7u) * $1"],
      [/\(k \+ 1u\) \* (\d+u)/g, "((k + 1u) & 7u) * $1"],
    ),
    ...["sg32x1", "sg16x4", "sg64x1"].map((t) => onePass(`tile ${t}`, `convtile-${t}`)),
  ];
}

if (import.meta.main) await main();

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: { shape: { type: "string", default: "512x1024x1024" }, rounds: { type: "string", default: "9" } },
  });
  const [M, N, K] = values.shape!.split("x").map(Number);
  const rounds = Number(values.rounds);
  if (![M, N, K].every((d) => Number.isInteger(d) && d > 0) || !(rounds >= 1)) {
    console.error(
      `tile_probe: --shape wants MxNxK of positive integers and --rounds a count ≥ 1, got ` +
        `--shape ${values.shape} --rounds ${values.rounds}`,
    );
    Deno.exit(2);
  }
  let kernels: ProbeKernel[];
  try {
    kernels = probeKernels(M, N, K);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const gpu = await getGpu();
  const dev = gpu.device;
  const a = new Float32Array(K * M).map((_, i) => Math.sin(i * 0.37));
  const b = new Float32Array(K * N).map((_, i) => Math.cos(i * 0.11));
  const probe = await bindProbe(dev, kernels, a, b, M * N);

  // the tile as built, against float64 on sampled entries
  await probe.run(0, 1);
  const y = await probe.read();
  let worst = 0;
  for (let s = 0; s < 97; s++) {
    const m = (s * 131) % M, n = (s * 389 + 7) % N;
    let ref = 0, mag = 0;
    for (let k = 0; k < K; k++) (ref += a[k * M + m] * b[k * N + n]), (mag += Math.abs(a[k * M + m] * b[k * N + n]));
    worst = Math.max(worst, Math.abs(y[m * N + n] - ref) / mag);
  }
  if (!(worst < 1e-5)) throw new Error(`the tile as built is wrong: relative error ${worst} against float64`);

  for (const i of kernels.keys()) await probe.run(i, 1); // warm every pipeline before timing
  const ms = kernels.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const i of kernels.keys()) {
      const t = performance.now();
      await probe.run(i, 2);
      ms[i].push((performance.now() - t) / 2);
    }
  }
  const gflop = (2 * M * N * K) / 1e9;
  console.log(`tile probe ${M}x${N}x${K} (A K-major), ${rounds} alternating rounds on ${gpu.description}`);
  console.log(`the tile as built matches float64 (worst relative error ${worst.toExponential(1)})`);
  for (const [i, { name }] of kernels.entries()) {
    const speedup = median(ms[0].map((t, r) => t / ms[i][r]));
    const t = median(ms[i]);
    console.log(
      `  ${name.padEnd(32)} ${t.toFixed(1).padStart(7)} ms  ${(gflop / t * 1e3).toFixed(1).padStart(5)} GFLOP/s  ` +
        `×${speedup.toFixed(2)}`,
    );
  }
}

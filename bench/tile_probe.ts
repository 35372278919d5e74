// What bounds the lavapipe tile (kernels/conv/lavapipe_tile.ts, as a matmul in
// kernels/matmul/convtile.ts): the loads or the arithmetic? The tile as built runs beside copies
// of it that each change one cost — its loads moved before the reduction loop (what is left is
// the loop's arithmetic), A read as one vec4 per lane instead of four scalars, A used without
// subgroupBroadcast, both operands read from a few rows that stay in L1 — and beside other tile
// shapes. Copies that compute wrong products exist only to be timed; the tile as built (and the
// vec4 copy, a real candidate) is checked against a float64 product. Rounds alternate the
// kernels, so a host that slows down moves all of them alike; each figure is the median over
// rounds of (tile as built / kernel).
//
// A copy that reads A or B at a lane-uniform address measures nothing on Mesa 25.0: inside a
// loop llvmpipe loads storage lane by lane whatever the address (an exec-mask branch per lane
// and a bounds check per component), which is why the loads are moved out of the loop instead.
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
      if (wgsl.search(from) < 0) throw stale(name, String(from));
      wgsl = wgsl.replace(from, to);
    }
    return { ...built, name, wgsl };
  };
  return [
    built,
    { ...built, name: "loads before the loop", wgsl: hoistLoads(built.wgsl) },
    { ...built, name: "A as one vec4 per lane", wgsl: aAsVec4(built.wgsl, M) },
    edit("A without subgroupBroadcast", [/subgroupBroadcast\((\w+), \d+u\)/g, "$1"]),
    edit(
      "A and B from 8 rows (in L1)",
      [/\bk \* (\d+u)/g, "(k & 7u) * $1"],
      [/\(k \+ 1u\) \* (\d+u)/g, "((k + 1u) & 7u) * $1"],
    ),
    ...["sg32x1", "sg16x4", "sg64x1"].map((t) => onePass(`tile ${t}`, `convtile-${t}`)),
  ];
}

const stale = (name: string, what: string) => new Error(`tile_probe: '${name}' no longer matches the kernel (${what})`);

/**
 * The reduction loop's loads moved before it, at k = 0, and each value nudged inside the loop by
 * a k-dependent term so that no product becomes loop-invariant (LLVM would hoist it): what is
 * left in the loop is the arithmetic, a few adds per step more than the tile's.
 */
function hoistLoads(wgsl: string): string {
  const lines = wgsl.split("\n");
  const head = lines.findIndex((l) => l.trimStart().startsWith("for (var k"));
  let end = head + 1;
  while (end < lines.length && /^ {4}let \w+ = (A\[|B\[|\(?k\b)/.test(lines[end])) end++;
  if (head < 0 || end === head + 1) throw stale("loads before the loop", "no loads open the reduction loop");
  const loads = lines.slice(head + 1, end);
  const names = loads.map((l) => /let (\w+) =/.exec(l)![1]);
  const renamed = (l: string) => names.reduce((x, n) => x.replace(new RegExp(`\\b${n}\\b`, "g"), `h${n}`), l);
  const before = loads.map((l) => renamed(l.replace(/\bk\b/g, "0u")));
  const nudged = loads.flatMap((l, i) =>
    l.includes("A[")
      ? [`    let ${names[i]} = h${names[i]} + kk;`]
      : l.includes("B[")
      ? [`    let ${names[i]} = h${names[i]} + vec4<f32>(kk);`]
      : []
  );
  return [
    ...lines.slice(0, head),
    ...before,
    lines[head],
    "    let kk = f32(k) * 1e-30;",
    ...nudged,
    ...lines.slice(end),
  ].join("\n");
}

/**
 * A (K-major) read as one vec4 per lane — rows 4·lane … 4·lane + 3 of the tile — instead of the
 * four scalars each lane gathers at rows lane, lane + 8, …: one load sequence where there were
 * four. Needs 32-row tiles and M a multiple of 4; rows past M read the next k's rows, which the
 * tile computes but never stores, so the copy still equals the product.
 */
function aAsVec4(wgsl: string, M: number): string {
  const rows = [...wgsl.matchAll(/ {2}let r(\d+) = min\(rt \* 32u \+ \d+u \+ lane, \d+u\);\n/g)];
  if (rows.length !== 4 || M % 4 !== 0) throw stale("A as one vec4 per lane", "a 32-row tile and M a multiple of 4");
  let w = wgsl.replace("var<storage, read> A: array<f32>;", "var<storage, read> A: array<vec4<f32>>;");
  w = w.replace(rows[0][0], "  let r4 = rt * 8u + lane;\n");
  for (const r of rows.slice(1)) w = w.replace(r[0], "");
  // the four scalar loads of a step become one; the step's k expression and A's row stride carry over
  w = w.replace(
    new RegExp(`let (\\w*)a0 = A\\[aOff \\+ (.+?) \\* ${M}u \\+ r0\\];\\n(?: {4}let \\1a[123] = A\\[.*\\n){3}`, "g"),
    (_m, p, k) => `let ${p}a = A[aOff / 4u + ${k} * ${M / 4}u + r4];\n`,
  );
  // row rr of the tile (lane rr % 8 of load rr / 8 before) is component rr % 4 of lane rr / 4's vec4
  w = w.replace(/subgroupBroadcast\((\w*)a(\d), (\d)u\)/g, (_m, p, j, l) => {
    const rr = 8 * +j + +l;
    return `subgroupBroadcast(${p}a[${rr % 4}], ${rr >> 2}u)`;
  });
  if (/A\[aOff \+ .* \+ r\d\]/.test(w)) throw stale("A as one vec4 per lane", "a scalar A load was left");
  return w;
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

// Per-adapter matmul autotuning: run each kernel variant of kernels/matmul/ on the real
// device for one problem shape, check it against a float64 spot check, time it (GPU
// timestamps when 'timestamp-query' is enabled, else wall clock over whole submits), keep the
// fastest and remember it in .cache/autotune.json keyed by adapter + shape, so only the first
// compile on a machine pays. The compiler calls chooseMatmulVariant before lowering a matmul;
// with tune: false (the default, and what tests use) it costs a cache lookup.
//
// The standalone runner here (prepareMatmul / runMatmul / timeMatmul) is also what the
// matmul tests and bench/matmul.ts use to exercise a variant directly.
import { awaitGpu } from "./wait.ts";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  batchCount,
  describe,
  type MatmulFeatures,
  type MatmulProblem,
  matmulProblem,
} from "../kernels/matmul/common.ts";
import { candidateVariants, defaultVariant, MATMUL_VARIANTS } from "../kernels/matmul/variants.ts";
import type { Graph } from "../ir/graph.ts";
import { type Attrs, broadcastIndex, type Shape, size } from "../kernels/op.ts";

export const DEFAULT_CACHE = ".cache/autotune.json";

/** A stable description of an adapter for cache keys. */
export function adapterKey(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(" / ");
}

/** Cache key: adapter + shape + transposes + batch layout. */
export function matmulKey(adapter: string, p: MatmulProblem): string {
  const bat = p.batch.length ? ` b${p.aBatch.join("x")}:${p.bBatch.join("x")}` : "";
  return `${adapter} | ${p.M}x${p.N}x${p.K} ${p.transA ? "T" : "N"}${p.transB ? "T" : "N"}${bat}`;
}

// awaitGpu lives in runtime/wait.ts; re-exported for the tests and eval code that import it here
export { awaitGpu };

// ---- standalone runner ----------------------------------------------------------------------

/** A variant compiled for one problem with its buffers bound, ready to dispatch. */
export interface PreparedMatmul {
  problem: MatmulProblem;
  variant: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  destroy(): void;
}

/** Element counts of A, B and C (all batch entries that exist in storage). */
export function operandSizes(p: MatmulProblem): [number, number, number] {
  return [size(p.aBatch) * p.M * p.K, size(p.bBatch) * p.K * p.N, batchCount(p) * p.M * p.N];
}

/** Bytes of an f32 buffer padded to a multiple of 4 elements, as the runtime allocates. */
const paddedBytes = (n: number) => Math.ceil(Math.max(n, 1) / 4) * 16;

export async function prepareMatmul(
  device: GPUDevice,
  p: MatmulProblem,
  variant: string,
  data?: { a: Float32Array; b: Float32Array },
): Promise<PreparedMatmul> {
  const v = MATMUL_VARIANTS[variant];
  if (!v) throw new Error(`matmul: unknown variant '${variant}'`);
  const pass = v.lower(p);
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: pass.wgsl, label: pass.label });
  const info = await awaitGpu(module.getCompilationInfo());
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length) {
    await awaitGpu(device.popErrorScope());
    throw new Error(
      `${pass.label}: WGSL errors:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("\n")}`,
    );
  }
  const layout = device.createBindGroupLayout({
    entries: pass.bindings.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.write ? "storage" : "read-only-storage" } as GPUBufferBindingLayout,
    })),
  });
  const pipeline = await awaitGpu(device.createComputePipelineAsync({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: "main" },
    label: pass.label,
  }));
  const [na, nb, nc] = operandSizes(p);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mk = (n: number, init?: Float32Array) => {
    const buf = device.createBuffer({ size: paddedBytes(n), usage });
    if (init) device.queue.writeBuffer(buf, 0, init.buffer, init.byteOffset, init.byteLength);
    return buf;
  };
  const a = mk(na, data?.a), b = mk(nb, data?.b), c = mk(nc);
  const bindGroup = device.createBindGroup({
    layout,
    entries: [a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const err = await awaitGpu(device.popErrorScope());
  if (err) throw new Error(`${pass.label}: ${err.message}`);
  return {
    problem: p,
    variant,
    pipeline,
    bindGroup,
    workgroups: pass.workgroups,
    a,
    b,
    c,
    destroy: () => [a, b, c].forEach((x) => x.destroy()),
  };
}

/** Encode `reps` dispatches of a prepared matmul in one compute pass. */
export function encodeMatmul(
  enc: GPUCommandEncoder,
  m: PreparedMatmul,
  reps: number,
  timestampWrites?: GPUComputePassTimestampWrites,
) {
  const pass = enc.beginComputePass(timestampWrites ? { timestampWrites } : {});
  pass.setPipeline(m.pipeline);
  pass.setBindGroup(0, m.bindGroup);
  for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...m.workgroups);
  pass.end();
}

async function readBuffer(device: GPUDevice, src: GPUBuffer, n: number): Promise<Float32Array> {
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

// ---- timing -----------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Seconds per dispatch: `rounds` submits of `reps` back-to-back dispatches each, median over
 * rounds. GPU timestamps bracket the pass when the device has 'timestamp-query'; otherwise
 * wall clock from submit to onSubmittedWorkDone. Awaiting a dawn.node promise busy-polls a
 * core (DESIGN.md), which on a CPU adapter steals from the kernel, so when the duration is
 * roughly known (`expectS`) we sleep through most of it before awaiting.
 */
export async function timeMatmul(
  device: GPUDevice,
  m: PreparedMatmul,
  { reps = 1, rounds = 3, expectS = 0 }: { reps?: number; rounds?: number; expectS?: number } = {},
): Promise<{ seconds: number; source: "gpu" | "wall" }> {
  const ts = device.features.has("timestamp-query");
  const qs = ts ? device.createQuerySet({ type: "timestamp", count: 2 }) : undefined;
  const resolve = ts
    ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC })
    : undefined;
  const times: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const enc = device.createCommandEncoder();
      encodeMatmul(
        enc,
        m,
        reps,
        qs ? { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } : undefined,
      );
      let rb: GPUBuffer | undefined;
      if (qs && resolve) {
        rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        enc.resolveQuerySet(qs, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, rb, 0, 16);
      }
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      if (expectS > 0) await sleep(expectS * reps * 900);
      await awaitGpu(device.queue.onSubmittedWorkDone());
      const wall = (performance.now() - t0) / 1000;
      if (rb) {
        await awaitGpu(rb.mapAsync(GPUMapMode.READ));
        const [begin, end] = new BigInt64Array(rb.getMappedRange());
        rb.unmap();
        rb.destroy();
        const gpu = Number(end - begin) / 1e9;
        // a zero or negative span means the implementation did not really time the pass
        times.push(gpu > 0 ? gpu : wall);
      } else times.push(wall);
    }
  } finally {
    qs?.destroy();
    resolve?.destroy();
  }
  return { seconds: median(times) / reps, source: ts ? "gpu" : "wall" };
}

// ---- tuning -----------------------------------------------------------------------------------

/** Deterministic data in [-1, 1) for tuning and spot checks. */
function noise(n: number, seed: number): Float32Array {
  const r = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    r[i] = s / 2147483648 - 1;
  }
  return r;
}

/** Compare up to 64 outputs of C against a float64 dot product; returns the worst error / tolerance. */
function spotCheck(p: MatmulProblem, a: Float32Array, b: Float32Array, c: Float32Array): number {
  const { M, N, K } = p;
  const P = batchCount(p);
  let worst = 0;
  for (let i = 0; i < 64; i++) {
    const z = (i * 7) % P, m = (i * 37 + 3) % M, n = (i * 101 + 5) % N;
    const ao = broadcastIndex(z, p.batch, p.aBatch) * M * K, bo = broadcastIndex(z, p.batch, p.bBatch) * K * N;
    let s = 0, mag = 0;
    for (let k = 0; k < K; k++) {
      const x = a[ao + (p.transA ? k * M + m : m * K + k)] * b[bo + (p.transB ? n * K + k : k * N + n)];
      s += x;
      mag += Math.abs(x);
    }
    worst = Math.max(worst, Math.abs(c[z * M * N + m * N + n] - s) / (1e-5 + 3e-5 * mag));
  }
  return worst;
}

/** Allowance for a cold shader compile inside a first run (llvmpipe: 0.5–2 s, more under load). */
const COMPILE_MS = 3000;

export interface TuneResult {
  variant: string;
  /** median ms per dispatch of every candidate tried (Infinity: failed or wrong) */
  ms: Record<string, number>;
  source: "gpu" | "wall";
}

/**
 * Time every candidate variant on this device for problem `p`. Each candidate first runs once
 * (compiling its shader) and is spot-checked against float64; a wrong or failing variant is
 * dropped. One more run estimates its time; candidates more than 4× slower than the best so
 * far are not timed further, the others get 3 rounds of enough reps to fill the budget.
 */
export async function tuneMatmul(
  device: GPUDevice,
  p: MatmulProblem,
  features: MatmulFeatures,
  { budgetMs = 150, candidates = candidateVariants(features) }: { budgetMs?: number; candidates?: string[] } = {},
): Promise<TuneResult> {
  const [na, nb, nc] = operandSizes(p);
  const a = noise(na, 1), b = noise(nb, 2);
  const ms: Record<string, number> = {};
  let best = "", bestMs = Infinity, source: "gpu" | "wall" = "wall";
  // naive last: it is the slowest almost everywhere, so by then it can be pruned on its first run
  const order = [...candidates.filter((n) => n !== "naive"), ...candidates.filter((n) => n === "naive")];
  for (const name of order) {
    let m: PreparedMatmul | undefined;
    try {
      m = await prepareMatmul(device, p, name, { a, b });
      // the first dispatch also compiles the shader (llvmpipe compiles lazily), so it is the
      // correctness run, and the second one the first timing unless the first was hopeless
      // even allowing COMPILE_MS for the compile
      const t0 = performance.now();
      await timeMatmul(device, m, { rounds: 1 });
      const firstMs = performance.now() - t0;
      const err = spotCheck(p, a, b, await readBuffer(device, m.c, nc));
      if (!(err <= 1)) throw new Error(`wrong result (error ${err.toFixed(1)}× tolerance)`);
      let t = firstMs;
      if (firstMs < 4 * bestMs + COMPILE_MS) t = (await timeMatmul(device, m, { rounds: 1 })).seconds * 1000;
      if (t < 4 * bestMs) {
        const reps = Math.max(1, Math.min(64, Math.round(budgetMs / 3 / t)));
        const timed = await timeMatmul(device, m, { reps, rounds: 3, expectS: t / 1000 });
        t = timed.seconds * 1000;
        source = timed.source;
      }
      ms[name] = t;
      if (t < bestMs) [best, bestMs] = [name, t];
    } catch (e) {
      ms[name] = Infinity;
      console.warn(`autotune: matmul ${describe(p)} variant '${name}' skipped: ${(e as Error).message}`);
    } finally {
      m?.destroy();
    }
  }
  if (!best) throw new Error(`autotune: no matmul variant ran correctly for ${describe(p)}`);
  return { variant: best, ms, source };
}

// ---- cache ------------------------------------------------------------------------------------

export interface CacheEntry {
  variant: string;
  ms: Record<string, number>;
  at: string;
}
type CacheFile = { version: 1; entries: Record<string, CacheEntry> };

export function readCache(path = DEFAULT_CACHE): CacheFile {
  try {
    const f = JSON.parse(readFileSync(path, "utf8")) as CacheFile;
    if (f.version === 1 && f.entries && typeof f.entries === "object") return f;
  } catch { /* missing or unreadable: start empty */ }
  return { version: 1, entries: {} };
}

/** Merge one entry into the cache file (re-read first, so concurrent tuners do not clobber). */
export function writeCacheEntry(key: string, entry: CacheEntry, path = DEFAULT_CACHE): void {
  const f = readCache(path);
  f.entries[key] = entry;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${Date.now()}.${Math.floor(Math.random() * 1e9)}.tmp`;
  // Infinity is not JSON; failed candidates are stored as null
  writeFileSync(tmp, JSON.stringify(f, (_k, v) => (v === Infinity ? null : v), 1));
  renameSync(tmp, path);
}

export interface ChooseOptions {
  /** adapter description (adapterKey(adapter.info)) */
  adapter: string;
  features: MatmulFeatures;
  /** time the candidates when the cache has no entry (a compile flag; off keeps tests fast) */
  tune?: boolean;
  cachePath?: string;
  budgetMs?: number;
}

/**
 * The variant to lower a matmul with: the cached choice for this adapter and shape if any;
 * else, with `tune`, the fastest after timing (and cache it); else the adapter default.
 */
export async function chooseMatmulVariant(
  device: GPUDevice,
  inShapes: Shape[],
  attrs: Attrs,
  o: ChooseOptions,
): Promise<string> {
  const p = matmulProblem(inShapes, attrs);
  const key = matmulKey(o.adapter, p);
  const hit = readCache(o.cachePath).entries[key];
  if (hit && MATMUL_VARIANTS[hit.variant]?.supports(o.features)) return hit.variant;
  if (!o.tune) return defaultVariant(o.features, o.adapter);
  const r = await tuneMatmul(device, p, o.features, { budgetMs: o.budgetMs });
  writeCacheEntry(key, { variant: r.variant, ms: r.ms, at: new Date().toISOString() }, o.cachePath);
  return r.variant;
}

/**
 * Choose (and with `tune`, time) a variant for every matmul in graph `g` up front, and return
 * the synchronous picker that compile()'s `variant` option expects:
 *   compile(g, { variant: await pickMatmulVariants(device, g, { adapter, features, tune }) })
 */
export async function pickMatmulVariants(
  device: GPUDevice,
  g: Graph,
  o: ChooseOptions,
): Promise<(op: string, inShapes: Shape[], attrs: Attrs) => string | undefined> {
  const chosen = new Map<string, string>();
  for (const n of g.nodes) {
    if (n.op !== "matmul") continue;
    const inShapes = n.inputs.map((i) => g.nodes[i].shape);
    const key = matmulKey(o.adapter, matmulProblem(inShapes, n.attrs));
    if (!chosen.has(key)) chosen.set(key, await chooseMatmulVariant(device, inShapes, n.attrs, o));
  }
  return (
    op,
    inShapes,
    attrs,
  ) => (op === "matmul" ? chosen.get(matmulKey(o.adapter, matmulProblem(inShapes, attrs))) : undefined);
}

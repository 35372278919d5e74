// Per-adapter kernel autotuning: run each variant of a kernel on the real device for one problem
// shape, check it against float64, time it (GPU timestamps when 'timestamp-query' is enabled,
// else wall clock over whole submits), keep the fastest and remember it in .cache/autotune.json
// keyed by adapter + op + shape, so only the first compile on a machine pays. Covered: matmul
// (kernels/matmul/), the three convolutions (kernels/conv.ts) and large sum/mean/max reductions
// (their split, kernels/reduce.ts). runtime/compile_for.ts calls pickVariants before every
// compile; with tune: false (the default unless SSL_TUNE=1, and what tests use) it costs a cache
// lookup per shape, and shapes not in the cache get the adapter's default: the llvmpipe variants
// on CPU adapters, the shared-memory tiles elsewhere.
//
// Precision of a matmul/conv choice: "f32" (default) takes only variants that multiply the f32
// values; "f16" only variants that round their inputs to half precision (f32 sums: the
// tensor-core path); "f16-exact", which pickVariants uses for nodes whose operands are all
// roundF16 outputs (f16-mixed steps), takes either kind, since rounding an f16 value to f16
// changes nothing: the fastest wins with the step's numbers unchanged. "f16" is never the
// default: it changes the numbers a step computes.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { convCandidates, defaultConvVariant } from "../kernels/conv/variants.ts";
import {
  describe,
  type MatmulFeatures,
  type MatmulProblem,
  matmulProblem,
  type SubgroupMatrixConfig,
} from "../kernels/matmul/common.ts";
import {
  candidateVariants,
  defaultVariant,
  isCpuAdapter,
  matmulVariant,
  tensorCoreNames,
} from "../kernels/matmul/variants.ts";
import { type Attrs, fmtShape, type Shape, size } from "../kernels/op.ts";
import { operandSizes, type PreparedMatmul, prepareMatmul, readBuffer, timeMatmul } from "./matmul_runner.ts";
import { noise, spotCheckMatmul, spotCheckOp } from "./spot_check.ts";
import { type PreparedOp, prepareOp, runOp, timeOp } from "./op_runner.ts";
import { plainConfig } from "./device.ts";

export const DEFAULT_CACHE = ".cache/autotune.json";

/** A stable description of an adapter for cache keys. */
export function adapterKey(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(" / ");
}

/** Cache key: adapter + shape + transposes + batch layout (+ precision when not f32). */
export function matmulKey(adapter: string, p: MatmulProblem, precision: Precision = "f32"): string {
  const bat = p.batch.length ? ` b${p.aBatch.join("x")}:${p.bBatch.join("x")}` : "";
  return `${adapter} | ${p.M}x${p.N}x${p.K} ${p.transA ? "T" : "N"}${p.transB ? "T" : "N"}${bat}${
    precision === "f32" ? "" : ` ${precision}`
  }`;
}

/**
 * Cache key of a non-matmul kernel op: adapter + op + input shapes + its attrs (false and
 * undefined ones left out: they are the defaults, so {keepdims: false} keys like {}).
 */
export function opKey(adapter: string, op: string, inShapes: Shape[], attrs: Attrs, precision = "f32"): string {
  const a = Object.keys(attrs).filter((k) => attrs[k] !== false && attrs[k] !== undefined).sort()
    .map((k) => `${k}=${JSON.stringify(attrs[k])}`).join(" ");
  return `${adapter} | ${op} ${inShapes.map(fmtShape).join(" ")} ${a}${precision === "f32" ? "" : ` ${precision}`}`;
}

/**
 * What the device offers the matmul variants, read off the device itself: subgroups, f16, and
 * (when the device enabled the feature) the adapter's subgroup-matrix configs and subgroup sizes.
 */
export function deviceFeatures(device: GPUDevice): MatmulFeatures {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo as
    | (GPUAdapterInfo & {
      subgroupMinSize?: number;
      subgroupMaxSize?: number;
      subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
    })
    | undefined;
  const sgm = device.features.has("chromium-experimental-subgroup-matrix" as GPUFeatureName);
  return {
    subgroups: device.features.has("subgroups"),
    f16: device.features.has("shader-f16"),
    subgroupMatrix: sgm ? [...(info?.subgroupMatrixConfigs ?? [])].map(plainConfig) : [],
    subgroupMinSize: info?.subgroupMinSize,
    subgroupMaxSize: info?.subgroupMaxSize,
  };
}

// ---- tuning --------------------------------------------------------------------------------------

/** Allowance for a cold shader compile inside a first run (llvmpipe: 0.5–2 s, more under load). */
const COMPILE_MS = 3000;

export interface TuneResult {
  variant: string;
  /** median ms per run of every candidate tried (Infinity: failed or wrong) */
  ms: Record<string, number>;
  source: "gpu" | "wall";
}

/** how one candidate is prepared, checked, timed and released */
interface Trial {
  run(): Promise<number>;
  time(reps: number, rounds: number, expectS: number): Promise<{ seconds: number; source: "gpu" | "wall" }>;
  check(): Promise<number>;
  destroy(): void;
}

/**
 * Time each candidate. Each first runs once (compiling its shader) and is checked against
 * float64; a wrong or failing candidate is dropped. One more run estimates its time; candidates
 * more than 4× slower than the best so far are not timed further, the others get 3 rounds of
 * enough repetitions to fill the budget. `first` candidates are tried first (likely winners prune
 * the rest sooner); the last ones are the expected slow ones.
 */
async function tuneCandidates(
  what: string,
  candidates: string[],
  make: (name: string) => Promise<Trial>,
  budgetMs: number,
): Promise<TuneResult> {
  const ms: Record<string, number> = {};
  let best = "", bestMs = Infinity, source: "gpu" | "wall" = "wall";
  for (const name of candidates) {
    let t: Trial | undefined;
    try {
      t = await make(name);
      const t0 = performance.now();
      await t.run();
      const firstMs = performance.now() - t0;
      const err = await t.check();
      if (!(err <= 1)) throw new Error(`wrong result (error ${err.toFixed(1)}× tolerance)`);
      let est = firstMs;
      if (firstMs < 4 * bestMs + COMPILE_MS) est = (await t.time(1, 1, 0)).seconds * 1000;
      if (est < 4 * bestMs) {
        const reps = Math.max(1, Math.min(64, Math.round(budgetMs / 3 / est)));
        const timed = await t.time(reps, 3, est / 1000);
        est = timed.seconds * 1000;
        source = timed.source;
      }
      ms[name] = est;
      if (est < bestMs) [best, bestMs] = [name, est];
    } catch (e) {
      ms[name] = Infinity;
      console.warn(`autotune: ${what} variant '${name}' skipped: ${(e as Error).message.split("\n")[0]}`);
    } finally {
      t?.destroy();
    }
  }
  if (!best) throw new Error(`autotune: no variant ran correctly for ${what}`);
  return { variant: best, ms, source };
}

/** Which kinds of variants a choice may take (see the header). */
export type Precision = "f32" | "f16" | "f16-exact";

export interface TuneMatmulOptions {
  budgetMs?: number;
  candidates?: string[];
  precision?: Precision;
  /** tried first (the adapter's default): a good time early prunes slow candidates after one run */
  first?: string;
}

/** Matmul candidates of a precision ("f16-exact": the f16 ones, tensor cores first, then the f32 ones). */
const matmulCandidates = (f: MatmulFeatures, precision: Precision) =>
  precision === "f16-exact"
    ? [...candidateVariants(f, { precision: "f16" }), ...candidateVariants(f, { precision: "f32" })]
    : candidateVariants(f, { precision });

/** Time every candidate matmul variant on this device for problem `p`. */
export function tuneMatmul(
  device: GPUDevice,
  p: MatmulProblem,
  features: MatmulFeatures,
  { budgetMs = 150, precision = "f32", candidates, first }: TuneMatmulOptions = {},
): Promise<TuneResult> {
  const list = candidates ?? matmulCandidates(features, precision);
  // naive last: the slowest almost everywhere, so by then it can be pruned on its first run
  const rest = list.filter((n) => n !== first);
  const order = [
    ...(first && list.includes(first) ? [first] : []),
    ...rest.filter((n) => n !== "naive"),
    ...rest.filter((n) => n === "naive"),
  ];
  const [na, nb, nc] = operandSizes(p);
  const a = noise(na, 1), b = noise(nb, 2);
  return tuneCandidates(`matmul ${describe(p)}`, order, async (name) => {
    const m: PreparedMatmul = await prepareMatmul(device, p, name, { a, b });
    const prec = matmulVariant(name)?.inputType ?? "f32";
    return {
      run: async () => (await timeMatmul(device, m, { rounds: 1 })).seconds,
      time: (reps, rounds, expectS) => timeMatmul(device, m, { reps, rounds, expectS }),
      check: async () => spotCheckMatmul(p, a, b, await readBuffer(device, m.c, nc), prec),
      destroy: () => m.destroy(),
    };
  }, budgetMs);
}

/** A non-matmul kernel op this module tunes: the convolutions and large reductions. */
const TUNED_OPS = new Set(["conv2d", "conv2dGradInput", "conv2dGradWeight", "sum", "mean", "max"]);
/** reductions smaller than this keep the op's own split (tuning would cost more than it saves) */
export const LARGE_REDUCTION = 1 << 20;
/** splits tried for a large reduction (undefined: the op's heuristic) */
const REDUCE_CANDIDATES = [undefined, "single", "split8", "split32", "split128", "split512"];

/** Whether `op` on these input shapes is one the autotuner times. */
export function isTunedOp(op: string, inShapes: Shape[]): boolean {
  if (!TUNED_OPS.has(op)) return false;
  return op.startsWith("conv2d") || size(inShapes[0]) >= LARGE_REDUCTION;
}

const DEFAULT_NAME = "default";
const toVariant = (name: string) => (name === DEFAULT_NAME ? undefined : name);

/** The candidate variant names of a tuned op on this adapter (DEFAULT_NAME: the op's default). */
export function opCandidates(
  op: string,
  adapter: string,
  f: MatmulFeatures,
  precision: Precision = "f32",
): string[] {
  const conv = (prec: "f32" | "f16") =>
    convCandidates({
      cpuAdapter: isCpuAdapter(adapter),
      subgroups: f.subgroups,
      f16: f.f16 === true,
      precision: prec,
      tensorCores: tensorCoreNames(f),
    });
  const list = !op.startsWith("conv2d")
    ? precision === "f16" ? [] : REDUCE_CANDIDATES
    : precision === "f16-exact"
    ? [...conv("f16"), ...conv("f32")]
    : conv(precision);
  return list.map((v) => v ?? DEFAULT_NAME);
}

/** Whether a conv variant rounds its inputs to f16 (its spot check then rounds the reference's). */
const convRoundsToF16 = (name: string) => name.endsWith("-f16") || name.startsWith("sgmat");

/** Time every candidate variant of a conv or reduction op for these shapes. */
export function tuneOp(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  o: { adapter: string; features: MatmulFeatures; budgetMs?: number; precision?: Precision; candidates?: string[] },
): Promise<TuneResult> {
  const precision = o.precision ?? "f32";
  const data = inShapes.map((s, i) => noise(size(s), i + 1));
  const features = { subgroups: o.features.subgroups, f16: o.features.f16 === true };
  // the adapter's untuned pick first: a good time early prunes slow candidates after one run
  const all = o.candidates ?? opCandidates(op, o.adapter, o.features, precision);
  const dflt = op.startsWith("conv2d") && precision !== "f16"
    ? defaultConvVariant(isCpuAdapter(o.adapter)) ?? DEFAULT_NAME
    : DEFAULT_NAME;
  const list = all.includes(dflt) ? [dflt, ...all.filter((n) => n !== dflt)] : all;
  return tuneCandidates(`${op} ${inShapes.map(fmtShape).join(" ")}`, list, async (name) => {
    const m: PreparedOp = await prepareOp(device, op, inShapes, attrs, toVariant(name), features, data);
    return {
      run: async () => (await timeOp(device, m, { rounds: 1 })).seconds,
      time: (reps, rounds, expectS) => timeOp(device, m, { reps, rounds, expectS }),
      // each candidate against its own contract: f16-input variants on rounded inputs
      check: async () =>
        spotCheckOp(op, inShapes, attrs, data, await runOp(device, m), convRoundsToF16(name) ? "f16" : "f32"),
      destroy: () => m.destroy(),
    };
  }, o.budgetMs ?? 150);
}

// ---- cache --------------------------------------------------------------------------------------

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
  /** which kinds of matmul/conv variants may be chosen (default "f32"; see the header) */
  precision?: Precision;
}

/** `features` completed with what the device itself reports (subgroup-matrix configs, sizes). */
const withDevice = (device: GPUDevice, f: MatmulFeatures): MatmulFeatures => {
  const d = deviceFeatures(device);
  return {
    ...f,
    f16: f.f16 ?? d.f16,
    subgroupMatrix: f.subgroupMatrix ?? d.subgroupMatrix,
    subgroupMinSize: f.subgroupMinSize ?? d.subgroupMinSize,
    subgroupMaxSize: f.subgroupMaxSize ?? d.subgroupMaxSize,
  };
};

/**
 * The variant to lower a matmul with: the cached choice for this adapter and shape if any;
 * else, with `tune`, the fastest after timing (and cache it); else the adapter default (which,
 * for precision f16, is the first f16 candidate).
 */
export async function chooseMatmulVariant(
  device: GPUDevice,
  inShapes: Shape[],
  attrs: Attrs,
  o: ChooseOptions,
): Promise<string> {
  const precision = o.precision ?? "f32";
  const features = withDevice(device, o.features);
  const p = matmulProblem(inShapes, attrs);
  const key = matmulKey(o.adapter, p, precision);
  const hit = readCache(o.cachePath).entries[key];
  if (hit && matmulVariant(hit.variant)?.supports(features)) return hit.variant;
  // untuned, "f16-exact" keeps the f32 default: a variant nobody checked on this device is no gain
  if (!o.tune) {
    if (precision !== "f16") return defaultVariant(features, o.adapter, p);
    const first = candidateVariants(features, { precision })[0];
    if (!first) throw new Error(`autotune: this adapter has no f16 matmul variant (needs shader-f16)`);
    return first;
  }
  const first = precision !== "f16" ? defaultVariant(features, o.adapter, p) : undefined;
  const r = await tuneMatmul(device, p, features, { budgetMs: o.budgetMs, precision, first });
  writeCacheEntry(key, { variant: r.variant, ms: r.ms, at: new Date().toISOString() }, o.cachePath);
  return r.variant;
}

/** The same for a conv or large reduction (undefined: the op's own default lowering). */
export async function chooseOpVariant(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  o: ChooseOptions,
): Promise<string | undefined> {
  const precision = op.startsWith("conv2d") ? o.precision ?? "f32" : "f32";
  const features = withDevice(device, o.features);
  const key = opKey(o.adapter, op, inShapes, attrs, precision);
  const hit = readCache(o.cachePath).entries[key];
  if (hit && opCandidates(op, o.adapter, features, precision).includes(hit.variant)) return toVariant(hit.variant);
  if (!o.tune) {
    if (!op.startsWith("conv2d")) return undefined;
    if (precision === "f16") return toVariant(opCandidates(op, o.adapter, features, "f16")[0] ?? DEFAULT_NAME);
    return defaultConvVariant(isCpuAdapter(o.adapter));
  }
  const r = await tuneOp(device, op, inShapes, attrs, { ...o, features, precision });
  writeCacheEntry(key, { variant: r.variant, ms: r.ms, at: new Date().toISOString() }, o.cachePath);
  return toVariant(r.variant);
}

/** the graph view the picker needs: node ops, shapes, attrs, inputs */
interface GraphLike {
  nodes: readonly { op: string; inputs: readonly number[]; shape: Shape; attrs: Attrs }[];
}

/**
 * Choose (and with `tune`, time) a variant for every matmul, convolution and large reduction in
 * graph `g` up front — f16-input variants too where a node's operands are all roundF16 outputs
 * (f16-exact) — and return the synchronous picker that compile()'s `variant` option expects:
 *   compile(g, { variant: await pickVariants(device, g, { adapter, features, tune }) })
 */
export async function pickVariants(
  device: GPUDevice,
  g: GraphLike,
  o: ChooseOptions,
): Promise<(op: string, inShapes: Shape[], attrs: Attrs) => string | undefined> {
  // the compiler asks by op, shapes and attrs only: when an f16-exact node and an f32 node share
  // them, the f32 choice (valid for both) is kept
  const chosen = new Map<string, { variant: string | undefined; precision: Precision }>();
  const keyOf = (op: string, inShapes: Shape[], attrs: Attrs) =>
    op === "matmul" ? matmulKey(o.adapter, matmulProblem(inShapes, attrs)) : opKey(o.adapter, op, inShapes, attrs);
  for (const n of g.nodes) {
    const inShapes = n.inputs.map((i) => g.nodes[i].shape);
    if (n.op !== "matmul" && !isTunedOp(n.op, inShapes)) continue;
    const f16Operands = (n.op === "matmul" || n.op.startsWith("conv2d")) && n.inputs.every((i) => g.nodes[i].op === "roundF16");
    const precision: Precision = o.precision ?? (f16Operands ? "f16-exact" : "f32");
    const key = keyOf(n.op, inShapes, n.attrs);
    const prev = chosen.get(key);
    if (prev && (prev.precision === precision || prev.precision === "f32")) continue;
    const oo = { ...o, precision };
    chosen.set(key, {
      precision,
      variant: n.op === "matmul"
        ? await chooseMatmulVariant(device, inShapes, n.attrs, oo)
        : await chooseOpVariant(device, n.op, inShapes, n.attrs, oo),
    });
  }
  return (op, inShapes, attrs) =>
    op === "matmul" || isTunedOp(op, inShapes) ? chosen.get(keyOf(op, inShapes, attrs))?.variant : undefined;
}


// Per-adapter kernel autotuning: run each variant of a kernel on the real device for one problem
// shape, check it against float64, time it (GPU timestamps when 'timestamp-query' is enabled,
// else wall clock over whole submits), keep the fastest and remember it in .cache/autotune.json
// keyed by adapter + op + shape, so only the first compile on a machine pays. Which ops are tuned,
// and among which variants, is their op table entry's `variants` (kernels/op.ts VariantChoice):
// matmul (kernels/matmul/variants.ts), the three convolutions (kernels/conv/variants.ts) and
// large sum/mean/max reductions (their split, kernels/reduce.ts); every one goes through the same
// path below. runtime/compile_for.ts calls pickVariants before every compile; with tune: false
// (the default unless SSL_TUNE=1, and what tests use) it costs a cache lookup per shape, and
// shapes not in the cache get the adapter's default: the llvmpipe variants on CPU adapters, the
// shared-memory tiles elsewhere.
//
// Precision of a choice for an op with f16 operands (matmul, convolutions): "f32" (default)
// takes only variants that multiply the f32 values; "f16" only variants that round their inputs
// to half precision (f32 sums: the tensor-core path); "f16-exact", which pickVariants uses for
// nodes whose operands are all roundF16 outputs (f16-mixed steps), takes either kind, since
// rounding an f16 value to f16 changes nothing: the fastest wins with the step's numbers
// unchanged. "f16" is never the default: it changes the numbers a step computes. Other ops are
// always chosen at "f32".
import { platform } from "../platform/current.ts";
import type { MatmulFeatures } from "../kernels/matmul/common.ts";
import {
  type Attrs,
  DEFAULT_VARIANT,
  fmtShape,
  type Shape,
  size,
  type VariantChoice,
  type VariantTarget,
} from "../kernels/op.ts";
import { OPS } from "../kernels/registry.ts";
import { deviceFeatures } from "./device.ts";
import { opTrial } from "./op_runner.ts";
import { noise } from "./spot_check.ts";
import { timeCandidates, type TuneResult } from "./trials.ts";

export const DEFAULT_CACHE = ".cache/autotune.json";
export type { TuneResult };
export { deviceFeatures };

/** A stable description of an adapter for cache keys. */
export function adapterKey(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(" / ");
}

/** Which kinds of variants a choice may take (see the header). */
export type Precision = "f32" | "f16" | "f16-exact";

/** The op's tuning entry; throws for an op the autotuner does not choose variants for. */
function choiceOf(op: string): VariantChoice {
  const c = OPS[op]?.variants;
  if (!c) throw new Error(`autotune: '${op}' has no kernel variants to choose among`);
  return c;
}

/** The precision a choice for `op` is made at: the requested one for ops with f16 operands, else f32. */
const precisionFor = (op: string, requested: Precision = "f32"): Precision => OPS[op]?.f16Operands ? requested : "f32";

/** Whether `op` on these input shapes is one the autotuner times. */
export function isTunedOp(op: string, inShapes: Shape[]): boolean {
  const c = OPS[op]?.variants;
  return c !== undefined && (c.worthTuning?.(inShapes) ?? true);
}

/**
 * Cache key: adapter + the op's problem (for matmul "MxNxK" with transposes and batch layout;
 * for other ops the op, its input shapes and its attrs, false and undefined ones left out: they
 * are the defaults, so {keepdims: false} keys like {}) + the precision when not f32.
 */
export function variantKey(adapter: string, op: string, inShapes: Shape[], attrs: Attrs, precision = "f32"): string {
  const problem = choiceOf(op).key?.(inShapes, attrs) ?? opProblem(op, inShapes, attrs);
  return `${adapter} | ${problem}${precision === "f32" ? "" : ` ${precision}`}`;
}

function opProblem(op: string, inShapes: Shape[], attrs: Attrs): string {
  const a = Object.keys(attrs).filter((k) => attrs[k] !== false && attrs[k] !== undefined).sort()
    .map((k) => `${k}=${JSON.stringify(attrs[k])}`).join(" ");
  return `${op} ${inShapes.map(fmtShape).join(" ")} ${a}`;
}

/** The candidate variant names of a tuned op on this adapter ("f16-exact": the f16 ones first, then the f32 ones). */
export function variantCandidates(
  op: string,
  adapter: string,
  features: MatmulFeatures,
  precision: Precision = "f32",
): string[] {
  const c = choiceOf(op), t = { adapter, features };
  return precision === "f16-exact"
    ? [...c.candidates(t, "f16"), ...c.candidates(t, "f32")]
    : c.candidates(t, precision);
}

/** The untimed pick: the first f16 candidate for "f16", else the op's fallback for the adapter. */
function untimed(op: string, t: VariantTarget, inShapes: Shape[], attrs: Attrs, precision: Precision): string {
  if (precision !== "f16") return choiceOf(op).fallback(t, inShapes, attrs);
  const first = variantCandidates(op, t.adapter, t.features, "f16")[0];
  if (!first) throw new Error(`autotune: this adapter has no f16 ${op} variant (needs shader-f16)`);
  return first;
}

export interface TuneOptions {
  adapter: string;
  features: MatmulFeatures;
  budgetMs?: number;
  precision?: Precision;
  /** the names to time (default: the op's candidates at this precision) */
  candidates?: string[];
  /** tried first (default: the untimed pick): a good time early prunes slow candidates after one run */
  first?: string;
}

/** Time every candidate variant of `op` for these shapes on this device; the fastest correct one wins. */
export function tuneOp(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  o: TuneOptions,
): Promise<TuneResult> {
  const precision = precisionFor(op, o.precision);
  const choice = choiceOf(op), t = { adapter: o.adapter, features: o.features };
  const all = (o.candidates ?? variantCandidates(op, o.adapter, o.features, precision))
    .filter((name) => choice.fits?.(name, inShapes, attrs) ?? true);
  const first = o.first ?? (precision !== "f16" ? choice.fallback(t, inShapes, attrs) : undefined);
  const order = first !== undefined && all.includes(first) ? [first, ...all.filter((n) => n !== first)] : all;
  const data = inShapes.map((s, i) => noise(size(s), i + 1));
  const features = { subgroups: o.features.subgroups, f16: o.features.f16 === true };
  return timeCandidates(
    `${op} ${inShapes.map(fmtShape).join(" ")}`,
    order,
    (name) =>
      opTrial(device, op, inShapes, attrs, name === DEFAULT_VARIANT ? undefined : name, {
        features,
        data,
        // each candidate against its own contract: f16-input variants on rounded inputs
        roundsToF16: choice.roundsToF16?.(name) ?? false,
      }),
    o.budgetMs ?? 150,
  );
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
    const f = JSON.parse(platform().store.get(path) ?? "") as CacheFile;
    if (f.version === 1 && f.entries && typeof f.entries === "object") return f;
  } catch { /* missing or unreadable: start empty */ }
  return { version: 1, entries: {} };
}

/** Merge one entry into the cache file (re-read first, so concurrent tuners do not clobber). */
export function writeCacheEntry(key: string, entry: CacheEntry, path = DEFAULT_CACHE): void {
  const f = readCache(path);
  f.entries[key] = entry;
  // Infinity is not JSON; failed candidates are stored as null
  platform().store.set(path, JSON.stringify(f, (_k, v) => (v === Infinity ? null : v), 1));
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
 * The variant to lower a tuned op with (undefined: the op's own lowering): the cached choice for
 * this adapter and shape if the adapter can use it; else, with `tune`, the fastest after timing
 * (and cache it); else the untimed pick (for precision f16, the first f16 candidate).
 */
export async function chooseVariant(
  device: GPUDevice,
  op: string,
  inShapes: Shape[],
  attrs: Attrs,
  o: ChooseOptions,
): Promise<string | undefined> {
  const precision = precisionFor(op, o.precision);
  const features = withDevice(device, o.features);
  const choice = choiceOf(op), t = { adapter: o.adapter, features };
  const key = variantKey(o.adapter, op, inShapes, attrs, precision);
  const hit = readCache(o.cachePath).entries[key];
  const usable = (name: string) =>
    choice.usable ? choice.usable(name, t) : variantCandidates(op, o.adapter, features, precision).includes(name);
  const named = (name: string) => (name === DEFAULT_VARIANT ? undefined : name);
  if (hit && usable(hit.variant)) return named(hit.variant);
  // untuned, "f16-exact" keeps the f32 default: a variant nobody checked on this device is no gain
  if (!o.tune) return named(untimed(op, t, inShapes, attrs, precision));
  const r = await tuneOp(device, op, inShapes, attrs, { ...o, features, precision });
  writeCacheEntry(key, { variant: r.variant, ms: r.ms, at: new Date().toISOString() }, o.cachePath);
  return named(r.variant);
}

/** the graph view the picker needs: node ops, shapes, attrs, inputs */
interface GraphLike {
  nodes: readonly { op: string; inputs: readonly number[]; shape: Shape; attrs: Attrs }[];
}

/**
 * Choose (and with `tune`, time) a variant for every tuned node of graph `g` (matmuls,
 * convolutions, large reductions) up front — f16-input variants too where a node's operands are
 * all roundF16 outputs (f16-exact) — and return the synchronous picker that compile()'s
 * `variant` option expects:
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
  const keyOf = (op: string, inShapes: Shape[], attrs: Attrs) => variantKey(o.adapter, op, inShapes, attrs);
  for (const n of g.nodes) {
    const inShapes = n.inputs.map((i) => g.nodes[i].shape);
    if (!isTunedOp(n.op, inShapes)) continue;
    const f16Operands = n.inputs.every((i) => g.nodes[i].op === "roundF16");
    const precision = precisionFor(n.op, o.precision ?? (f16Operands ? "f16-exact" : "f32"));
    const key = keyOf(n.op, inShapes, n.attrs);
    const prev = chosen.get(key);
    if (prev && (prev.precision === precision || prev.precision === "f32")) continue;
    chosen.set(key, { precision, variant: await chooseVariant(device, n.op, inShapes, n.attrs, { ...o, precision }) });
  }
  return (
    op,
    inShapes,
    attrs,
  ) => (isTunedOp(op, inShapes) ? chosen.get(keyOf(op, inShapes, attrs))?.variant : undefined);
}

// The matmul kernel variants side by side (llm.c style), and the pick used when the
// autotuner has no entry for a shape. Every variant is checked against the float64 CPU
// reference in tests/matmul_test.ts and tests/matmul_gpu_class_test.ts; runtime/autotune.ts
// times them per adapter and shape.
//
// Two kinds of names: the fixed llvmpipe-era variants below, and parametric families whose
// name spells their tile ("gemm…", kernels/matmul/gemm.ts; "sgmat…", kernels/matmul/sgmat.ts;
// "convtile-…", kernels/matmul/convtile.ts), so a name found in the autotune cache can always be rebuilt.
import type { VariantChoice } from "../op.ts";
import {
  type MatmulElem,
  type MatmulFeatures,
  type MatmulProblem,
  matmulProblem,
  type MatmulVariant,
} from "./common.ts";
import { BLOCKED } from "./blocked.ts";
import { CONVTILE, convtileSuits, convtileVariant } from "./convtile.ts";
import { defaultGemm, GEMM_TILES, gemmVariant, parseGemmName } from "./gemm.ts";
import { NAIVE } from "./naive.ts";
import { chooseSubgroupMatrixConfig, parseSgmatName, sgmatCandidates, sgmatName, sgmatVariant } from "./sgmat.ts";
import { SUBGROUP } from "./subgroup.ts";
import { TILED } from "./tiled.ts";

export const MATMUL_VARIANTS: Record<string, MatmulVariant> = {
  naive: NAIVE,
  blocked: BLOCKED,
  subgroup: SUBGROUP,
  [CONVTILE]: convtileVariant(CONVTILE)!,
  tiled: TILED,
  ...Object.fromEntries(GEMM_TILES.map((o) => [gemmVariant(o).name, gemmVariant(o)])),
};

/**
 * Family members built from their names, kept apart from MATMUL_VARIANTS so that the candidates
 * (enumerated from the registry) do not depend on which names were looked up before.
 */
const BUILT_FROM_NAME = new Map<string, MatmulVariant>();

/** The variant of this name: a registered one, or a parametric family member built from its name. */
export function matmulVariant(name: string): MatmulVariant | undefined {
  const known = MATMUL_VARIANTS[name] ?? BUILT_FROM_NAME.get(name);
  if (known) return known;
  const g = parseGemmName(name);
  const s = g ? undefined : parseSgmatName(name);
  const v = g ? gemmVariant(g) : s ? sgmatVariant(s) : convtileVariant(name);
  if (v) BUILT_FROM_NAME.set(name, v);
  return v;
}

export interface CandidateOptions {
  /** "f32" (default): variants that multiply in f32; "f16": variants that round inputs to f16 */
  precision?: MatmulElem;
  /** element type of the A and B buffers (default f32, the compiler's storages) */
  storage?: MatmulElem;
}

/**
 * Variants usable with these features, in the order the autotuner tries them: the registered
 * ones of the requested precision and storage, plus tensor-core variants for the adapter's
 * f16→f32 subgroup-matrix config when it has one and a fixed subgroup size.
 */
export function candidateVariants(f: MatmulFeatures, o: CandidateOptions = {}): string[] {
  const precision = o.precision ?? "f32", storage = o.storage ?? "f32";
  const fits = (v: MatmulVariant) =>
    (v.inputType ?? "f32") === precision && (v.storageType ?? "f32") === storage && v.supports(f);
  const names = Object.values(MATMUL_VARIANTS).filter(fits).map((v) => v.name);
  if (precision === "f16") {
    for (const n of tensorCoreNames(f, storage).reverse()) if (fits(matmulVariant(n)!)) names.unshift(n);
  }
  return [...new Set(names)];
}

/**
 * The tensor-core tiles worth timing on this adapter: built for its f16→f32 subgroup-matrix
 * config at its (fixed) subgroup size; none without such a config.
 */
export function tensorCoreNames(f: MatmulFeatures, storage: MatmulElem = "f32"): string[] {
  const config = f.subgroupMatrix ? chooseSubgroupMatrixConfig(f.subgroupMatrix) : undefined;
  if (!config || f.subgroupMinSize === undefined || f.subgroupMinSize !== f.subgroupMaxSize) return [];
  return sgmatCandidates(config, f.subgroupMinSize).map((o) => sgmatName({ ...o, storage }));
}

/** CPU Vulkan/GL implementations (lavapipe/llvmpipe, SwiftShader): barriers are slow there. */
export const isCpuAdapter = (adapter: string): boolean =>
  /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(adapter);

/**
 * The untuned pick. With an adapter description: on CPU adapters the convolutions' tile
 * (measured best on lavapipe: 1.3–1.8× the subgroup kernel, and without subgroups 1.4–2.2× the
 * register-blocked one) unless the transposes it needs outweigh its gain (convtileSuits), then
 * the subgroup kernel, or register blocking without subgroups,
 * and on any other adapter the shared-memory gemm tile that suits the shape (or register
 * blocking when the shape is unknown). Without an adapter (a KernelCtx carries only features)
 * the CPU picks are taken; a compiler on a real GPU gets its variant from runtime/autotune.ts's
 * chooseVariant.
 */
export function defaultVariant(f: MatmulFeatures, adapter?: string, p?: MatmulProblem): string {
  const cpuLike = adapter === undefined ? true : isCpuAdapter(adapter);
  if (cpuLike) return p && convtileSuits(p, f) ? CONVTILE : f.subgroups ? "subgroup" : "blocked";
  if (!p) return "blocked";
  return defaultGemm(p);
}

/**
 * The matmul's entry for the autotuner: the candidates of a precision (naive last: the slowest
 * almost everywhere, so by then it is pruned after one run), the adapter default untimed, any
 * buildable name the adapter supports taken from the cache, and a key by problem
 * ("MxNxK NT" plus the batch layout), as the cache has always been keyed.
 */
export const MATMUL_CHOICE: VariantChoice = {
  candidates: ({ features }, precision) => {
    const names = candidateVariants(features, { precision });
    return [...names.filter((n) => n !== "naive"), ...names.filter((n) => n === "naive")];
  },
  fallback: ({ adapter, features }, inShapes, attrs) =>
    defaultVariant(features, adapter, matmulProblem(inShapes, attrs)),
  key: (inShapes, attrs) => {
    const p = matmulProblem(inShapes, attrs);
    const bat = p.batch.length ? ` b${p.aBatch.join("x")}:${p.bBatch.join("x")}` : "";
    return `${p.M}x${p.N}x${p.K} ${p.transA ? "T" : "N"}${p.transB ? "T" : "N"}${bat}`;
  },
  usable: (name, { features }) => matmulVariant(name)?.supports(features) === true,
  roundsToF16: (name) => matmulVariant(name)?.inputType === "f16",
};

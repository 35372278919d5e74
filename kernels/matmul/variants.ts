// The matmul kernel variants side by side (llm.c style), and the pick used when the
// autotuner has no entry for a shape. Every variant is checked against the float64 CPU
// reference in tests/matmul_test.ts; runtime/autotune.ts times them per adapter and shape.
import type { MatmulFeatures, MatmulVariant } from "./common.ts";
import { BLOCKED } from "./blocked.ts";
import { NAIVE } from "./naive.ts";
import { SUBGROUP } from "./subgroup.ts";
import { TILED } from "./tiled.ts";

export const MATMUL_VARIANTS: Record<string, MatmulVariant> = {
  naive: NAIVE,
  blocked: BLOCKED,
  subgroup: SUBGROUP,
  tiled: TILED,
};

/** Variants usable with these features, in the order the autotuner tries them. */
export const candidateVariants = (f: MatmulFeatures): string[] =>
  Object.values(MATMUL_VARIANTS).filter((v) => v.supports(f)).map((v) => v.name);

/** CPU Vulkan/GL implementations (lavapipe/llvmpipe, SwiftShader): barriers are slow there. */
export const isCpuAdapter = (adapter: string): boolean =>
  /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(adapter);

/**
 * The untuned pick. With an adapter description: the subgroup kernel on CPU adapters that
 * have subgroups (measured best on lavapipe), else register blocking. Without one (a
 * KernelCtx carries only features) subgroups are taken as the CPU-adapter hint; a compiler
 * on a real GPU should pass a variant from runtime/autotune.ts's chooseMatmulVariant.
 */
export function defaultVariant(f: MatmulFeatures, adapter?: string): string {
  const cpuLike = adapter === undefined ? true : isCpuAdapter(adapter);
  return f.subgroups && cpuLike ? "subgroup" : "blocked";
}

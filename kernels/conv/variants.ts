// The convolution kernel variants the autotuner chooses among, per kind of adapter, and the
// untuned pick. Two families: the lavapipe implicit GEMMs (kernels/conv/lavapipe_*.ts; "sg<R>x<OV>",
// "t<R>x<OV>", a trailing "c" for tiles numbered by column block; undefined = the op's measured default) and the discrete-GPU tiles named like the
// matmul's ("gemm…", kernels/conv/gemm.ts; "-f16" rounds the inputs to half precision) and the
// tensor-core tiles ("sgmat…", f16 inputs) where the adapter has them. CONV_CHOICE is the
// three convolution ops' entry for the autotuner (runtime/autotune.ts).
import { isCpuAdapter, tensorCoreNames } from "../matmul/variants.ts";
import { DEFAULT_VARIANT, type VariantChoice } from "../op.ts";

/** discrete-GPU tiles tried for convolutions, f32 */
const GPU_TILES = ["gemm64x64x16t4x4", "gemm128x128x8t8x8", "gemm128x64x8t8x4", "gemm64x128x8t4x8", "gemm32x64x16t4x4"];
/** the same with inputs rounded to f16 */
const GPU_TILES_F16 = ["gemm64x64x16t4x4-f16", "gemm128x128x16t8x8-f16"];
/**
 * lavapipe variants worth timing besides the default (the rule in lavapipe_tile.ts's convVariant):
 * the "c" ones number their tiles by column block, for the late layers (512 channels on 4×4
 * maps), whose weights outgrow a core's cache; sg64x1 for layers of 32 columns and fewer
 */
const CPU_VARIANTS = ["sg16x1", "sg32x2", "sg16x1c", "sg32x2c", "sg64x1", "sg64x1c", "sg8x2", "t16x1", "t4x4"];

export interface ConvCandidateOptions {
  /** a CPU adapter (lavapipe): its own variants; else the gemm tiles */
  cpuAdapter: boolean;
  subgroups: boolean;
  f16: boolean;
  /** "f16": only variants that round inputs to half precision */
  precision?: "f32" | "f16";
  /** tensor-core tiles the adapter can run (kernels/matmul/variants.ts tensorCoreNames), tried first for f16 */
  tensorCores?: string[];
}

/** Variant names to time for a convolution (undefined: the op's default lowering). */
export function convCandidates(o: ConvCandidateOptions): (string | undefined)[] {
  if (o.precision === "f16") return o.f16 ? [...(o.tensorCores ?? []), ...GPU_TILES_F16] : [];
  if (o.cpuAdapter) return [undefined, ...CPU_VARIANTS.filter((v) => o.subgroups || v.startsWith("t"))];
  return [...GPU_TILES, undefined];
}

/** The untuned pick: the op's lavapipe default on CPU adapters, a 64×64 GPU tile elsewhere. */
export const defaultConvVariant = (cpuAdapter: boolean): string | undefined =>
  cpuAdapter ? undefined : "gemm64x64x16t4x4";

/** The convolutions' entry for the autotuner: the candidates above, DEFAULT_VARIANT for undefined. */
export const CONV_CHOICE: VariantChoice = {
  candidates: ({ adapter, features: f }, precision) =>
    convCandidates({
      cpuAdapter: isCpuAdapter(adapter),
      subgroups: f.subgroups,
      f16: f.f16 === true,
      precision,
      tensorCores: tensorCoreNames(f),
    }).map((v) => v ?? DEFAULT_VARIANT),
  fallback: ({ adapter }) => defaultConvVariant(isCpuAdapter(adapter)) ?? DEFAULT_VARIANT,
  roundsToF16: (name) => name.endsWith("-f16") || name.startsWith("sgmat"),
};

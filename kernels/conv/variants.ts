// The convolution kernel variants the autotuner chooses among, per kind of adapter, and the
// untuned pick. Three families: the lavapipe implicit GEMMs (kernels/conv/lavapipe_*.ts;
// "sg<R>x<OV>", "t<R>x<OV>", a trailing "c" for tiles numbered by column block; undefined = the
// op's measured default), the Winograd convolutions for 3×3 stride-1 layers ("wino2", "wino4",
// kernels/conv/winograd.ts; all three ops, CPU adapters), and the discrete-GPU tiles
// named like the matmul's ("gemm…", kernels/conv/gemm.ts; "-f16" rounds the inputs to half
// precision) with the tensor-core tiles ("sgmat…", f16 inputs) where the adapter has them.
// convChoice(op) is each convolution op's entry for the autotuner (runtime/autotune.ts).
import { isCpuAdapter, tensorCoreNames } from "../matmul/variants.ts";
import { type Attrs, DEFAULT_VARIANT, type Shape, type VariantChoice } from "../op.ts";
import { type ConvGeom, convGeom, gradInputGeom, gradWeightGeom } from "./geometry.ts";
import { WINOGRAD, winogradUsable } from "./winograd.ts";

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

/** The geometry of a node of `op` as a Winograd convolution sees it, if the op has that form. */
function winogradGeometry(op: string, inShapes: Shape[], attrs: Attrs): ConvGeom | undefined {
  if (op === "conv2d") return convGeom(op, inShapes[0], inShapes[1], attrs);
  if (op === "conv2dGradInput") return gradInputGeom(op, inShapes, attrs);
  if (op === "conv2dGradWeight") return gradWeightGeom(op, inShapes, attrs);
  return undefined;
}

/**
 * The untuned lavapipe pick for a 3×3 stride-1 convolution, F(4×4, 3×3) where it was measured
 * faster than the implicit GEMMs (bench/conv_tiles.ts and in the steps; the ResNet-18's and small
 * CNN's layers): conv2d and the input gradient with 64 channels or more on both sides — 1.3–1.5×
 * on the small CNN's 64→128, 1.6–3.2× on the ResNet-18's layers, while with 32 on either side
 * the products' reduction or columns are too few (0.8–1.0×) — and the weight gradient from 16
 * input channels on (2–3.3×; a first layer's 1–3 channels fill few of the products' 32-row
 * tiles: 0.7–1.0× at the steps' batches), as F(2×2, 3×3) where F(4×4)'s products would reduce
 * over fewer than 64 blocks (the ResNet-18's 512-channel 4×4 layer at batch 32: 32 blocks,
 * `wino2` 1.2× `wino4`);
 * not where its temporaries would outgrow a storage binding (a large batch: winogradUsable).
 */
function winogradDefault(op: string, inShapes: Shape[], attrs: Attrs): string | undefined {
  const g = winogradGeometry(op, inShapes, attrs);
  const name = g && winogradRule(op, g);
  // each variant's own temporaries: F(2×2)'s blocks and products are larger than F(4×4)'s
  return name && winogradUsable(op, name, g) ? name : undefined;
}

function winogradRule(op: string, g: ConvGeom): string | undefined {
  if (op !== "conv2dGradWeight") return g.C >= 64 && g.O >= 64 ? "wino4" : undefined;
  if (g.C < 16) return undefined;
  return g.N * Math.ceil(g.Ho / 4) * Math.ceil(g.Wo / 4) < 64 ? "wino2" : "wino4";
}

/**
 * The convolutions' entry for the autotuner: the candidates above, DEFAULT_VARIANT for
 * undefined; on CPU adapters the Winograd variants too, offered only for the shapes they fit.
 */
export function convChoice(op: string): VariantChoice {
  return {
    candidates: ({ adapter, features: f }, precision) => {
      const cpu = isCpuAdapter(adapter);
      return [
        ...convCandidates({
          cpuAdapter: cpu,
          subgroups: f.subgroups,
          f16: f.f16 === true,
          precision,
          tensorCores: tensorCoreNames(f),
        }).map((v) => v ?? DEFAULT_VARIANT),
        ...(cpu && precision === "f32" ? Object.keys(WINOGRAD) : []),
      ];
    },
    fits: (name, inShapes, attrs) => {
      if (!(name in WINOGRAD)) return true;
      const g = winogradGeometry(op, inShapes, attrs);
      return g !== undefined && winogradUsable(op, name, g);
    },
    fallback: ({ adapter }, inShapes, attrs) => {
      const cpu = isCpuAdapter(adapter);
      return (cpu && winogradDefault(op, inShapes, attrs)) || (defaultConvVariant(cpu) ?? DEFAULT_VARIANT);
    },
    roundsToF16: (name) => name.endsWith("-f16") || name.startsWith("sgmat"),
  };
}

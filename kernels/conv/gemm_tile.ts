// The discrete-GPU GEMM cores a convolution runs on (gemm.ts), chosen by kernel variant name:
// the SIMT tiles of kernels/matmul/simt.ts ("gemm64x64x16t4x4"; "-f16" rounds the inputs to half
// precision) or the tensor-core tiles of kernels/matmul/sgmat.ts ("sgmat…", f16 inputs).
import { parseGemmName } from "../matmul/gemm.ts";
import { ShapeError } from "../op.ts";
import type { TileOperand } from "../matmul/staging.ts";
import { type KSplit, simtShader, type SimtTile, type TileOutput } from "../matmul/simt.ts";
import { parseSgmatName, sgmatKernel, type SgmatOptions, sgmatTile } from "../matmul/sgmat.ts";

/** A convolution's output: vec4 stores for the SIMT kernel, scalar ones for the tensor-core epilogue. */
export type ConvOutput = TileOutput & { store1(m: string, n: string, v: string): string };

/** One GEMM kernel family at one tile size: the SIMT tiles or the tensor-core (subgroup-matrix) ones. */
export interface ConvKernel {
  BM: number;
  BN: number;
  BK: number;
  shader(A: TileOperand, B: TileOperand, out: ConvOutput, decls: string, setup: string, split?: KSplit): string;
}

const simtConvKernel = (t: SimtTile): ConvKernel => ({
  BM: t.BM,
  BN: t.BN,
  BK: t.BK,
  shader: (A, B, out, decls, setup, split) => simtShader(t, A, B, out, decls, setup, split),
});

const sgmatConvKernel = (o: SgmatOptions): ConvKernel => ({
  BM: sgmatTile(o).BM,
  BN: sgmatTile(o).BN,
  BK: o.BK,
  shader: (A, B, out, decls, setup, split) =>
    sgmatKernel(o, A, B, { M: out.M, N: out.N, store1: out.store1 }, decls, setup, split),
});

/**
 * The discrete-GPU kernel when the variant names one: a SIMT tile ("gemm64x64x16t4x4", "-f16"
 * rounds the inputs to half precision) or a tensor-core tile ("sgmat…", f16 inputs); undefined
 * for the lavapipe variants (lavapipe_tile.ts).
 */
export function gemmTile(
  op: string,
  c: { variant?: string; features: { subgroups: boolean; f16: boolean } },
): ConvKernel | undefined {
  const v = c.variant;
  if (!v?.startsWith("gemm") && !v?.startsWith("sgmat")) return undefined;
  let t, s;
  try {
    t = parseGemmName(v);
    s = t ? undefined : parseSgmatName(v);
  } catch (e) {
    throw new ShapeError(op, (e as Error).message);
  }
  if (!t && !s) {
    throw new ShapeError(op, `unknown kernel variant '${v}' (gemm<BM>x<BN>x<BK>t<TM>x<TN>[-f16] or sgmat…)`);
  }
  if (t?.storage === "f16" || s?.storage === "f16") {
    throw new ShapeError(op, `kernel variant '${v}' reads f16 buffers; convolutions read f32`);
  }
  if ((s || t?.elem === "f16") && !c.features.f16) throw new ShapeError(op, `kernel variant '${v}' needs shader-f16`);
  if (s && !c.features.subgroups) throw new ShapeError(op, `kernel variant '${v}' needs subgroups`);
  return t ? simtConvKernel(t) : sgmatConvKernel(s!);
}

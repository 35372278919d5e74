// matmul(a, b, {transA, transB}): C = op(a) · op(b) over the last two axes, op = transpose
// when the flag is set, so a is [..., M, K] (transA: [..., K, M]) and b is [..., K, N]
// (transB: [..., N, K]); the output is [..., M, N]. Leading batch dims broadcast like numpy
// (size-1 or missing dims repeat; a rank-2 weight applies to every batch entry). Both inputs
// must have rank >= 2. The VJP picks transpose flags instead of materialising transposes and
// sums broadcast batch dims back. The WGSL kernel is one of several variants in
// kernels/matmul/, picked by the autotuner (KernelCtx.variant) or by adapter features.
import type { Tensor } from "./op.ts";
import { asLowering, batchCount, type MatmulProblem, matmulProblem } from "./matmul/common.ts";
import { defaultVariant, MATMUL_CHOICE, MATMUL_VARIANTS, matmulVariant } from "./matmul/variants.ts";
import { broadcastIndex, type KernelCtx, type Lowering, type OpDef, ShapeError, unbroadcast } from "./op.ts";

/** Float64 reference: straightforward triple loop per batch entry. */
function cpuMatmul(a: Float64Array, b: Float64Array, p: MatmulProblem): Float64Array {
  const { M, N, K, transA, transB } = p;
  const P = batchCount(p);
  const out = new Float64Array(P * M * N);
  for (let z = 0; z < P; z++) {
    const ao = broadcastIndex(z, p.batch, p.aBatch) * M * K;
    const bo = broadcastIndex(z, p.batch, p.bBatch) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += a[ao + (transA ? k * M + m : m * K + k)] * b[bo + (transB ? n * K + k : k * N + n)];
        }
        out[z * M * N + m * N + n] = s;
      }
    }
  }
  return out;
}

/**
 * Cotangents. With C = op(A)·op(B) and G = dC:
 *   d op(A) = G · op(B)ᵀ,  d op(B) = op(A)ᵀ · G,
 * and a stored-transposed operand gets the transpose of that, which is again one matmul with
 * swapped operands. Results have the output's batch shape and are summed down to each input's.
 */
function vjp(a: Tensor, b: Tensor, g: Tensor, tA: boolean, tB: boolean): [Tensor, Tensor] {
  const mm = (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => x.matmul(y, ta, tb);
  const dA = tA ? mm(b, g, tB, true) : mm(g, b, false, !tB);
  // A rank-2 b shared by a batched a (a dense layer on [..., M, K]): fold the batch into the
  // contraction, one matmul instead of a batched one plus a reduction.
  if (b.rank === 2 && a.rank > 2 && !tA) {
    const rows = a.shape.slice(0, -1).reduce((x, y) => x * y, 1);
    const af = a.reshape([rows, a.shape[a.rank - 1]]), gf = g.reshape([rows, g.shape[g.rank - 1]]);
    return [unbroadcast(dA, a.shape), tB ? mm(gf, af, true, false) : mm(af, gf, true, false)];
  }
  const dB = tB ? mm(g, a, true, tA) : mm(a, g, !tA, false);
  return [unbroadcast(dA, a.shape), unbroadcast(dB, b.shape)];
}

function lower(c: KernelCtx): Lowering {
  const p = matmulProblem(c.inShapes, c.attrs);
  const name = c.variant ?? defaultVariant(c.features, undefined, p);
  const v = matmulVariant(name);
  if (!v) {
    throw new ShapeError(
      "matmul",
      `unknown kernel variant '${name}' (known: ${Object.keys(MATMUL_VARIANTS).join(", ")})`,
    );
  }
  if (!v.supports(c.features)) {
    throw new ShapeError("matmul", `kernel variant '${name}' is not supported by this adapter's features`);
  }
  if (v.storageType === "f16") {
    throw new ShapeError(
      "matmul",
      `kernel variant '${name}' reads f16 buffers; the compiled step stores its tensors in f32`,
    );
  }
  return asLowering(v.lower(p, c.features));
}

export const MATMUL: Record<string, OpDef> = {
  matmul: {
    f16Operands: true,
    kind: "kernel",
    shape: (inShapes, attrs) => {
      const p = matmulProblem(inShapes, attrs);
      return [...p.batch, p.M, p.N];
    },
    cpu: ({ ins: [a, b], inShapes, attrs }) => cpuMatmul(a, b, matmulProblem(inShapes, attrs)),
    vjp: ({ ins: [a, b], g, attrs }) => vjp(a, b, g, attrs.transA === true, attrs.transB === true),
    kernel: lower,
    variants: MATMUL_CHOICE,
    doc: "matmul(a, b, {transA, transB}): [..., M, K]·[..., K, N] -> [..., M, N]; numpy-broadcast batch dims",
  },
};

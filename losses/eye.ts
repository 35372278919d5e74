// The n×n identity as a graph value, for masks (NT-Xent's self-similarity).
import type { Graph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { concat } from "../ir/tensor.ts";
import { OPS } from "../kernels/registry.ts";

/**
 * Identity [n, n]. Uses the fusable `eye` op (kernels/eye.ts) when the registry has it, and
 * otherwise builds it from layout primitives (eyeComposed).
 */
export function eye(g: Graph, n: number): Tensor {
  return OPS.eye ? g.add("eye", [], { shape: [n, n] }) : eyeComposed(g, n);
}

/**
 * Identity from constants and layout ops only: rows [1, 0 × n] of length n+1, flattened and cut
 * to n² elements. Flat position i·n + j = i·(n+1) + (j − i) is a multiple of n+1 exactly when
 * j = i, so the 1s land on the diagonal.
 */
export function eyeComposed(g: Graph, n: number): Tensor {
  if (n === 1) return g.const(1, [1, 1]);
  const rows = concat([g.const(1, [n, 1]), g.const(0, [n, n])], 1);
  return rows.reshape([n * (n + 1)]).slice(0, 0, n * n).reshape([n, n]);
}

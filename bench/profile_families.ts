// A training step's dispatch times grouped by kernel family (conv forward, input gradient, weight
// gradient, BatchNorm2d statistics and apply, pooling, matmul, optimizer, …), with the family's
// dispatch count, its throughput (GFLOP/s for convolutions and matmuls, GB/s of the buffers the
// kernels read and write for the memory-bound rest) and, for the kernels that stand alone, the
// fusion planner's reasons (compiler/fusion_plan.ts). The family is read off the graph: the op of
// the node a dispatch computes, its shape (4-D maps vs per-channel vectors) and its scope label
// (forward, "(backward)", "optimizer"). For finding where a conv step's time goes; the times are
// those of bench/profile.ts (noisy on a shared machine, so read shares, not absolute figures).
import { fusionPlanOf } from "../compiler/compile.ts";
import { kernelReads } from "../compiler/fusion_plan.ts";
import type { Program } from "../compiler/program.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { size } from "../kernels/op.ts";
import { REDUCTIONS } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";

export interface FamilyRow {
  family: string;
  ms: number;
  dispatches: number;
  /** FLOPs of the convolutions / matmuls of the family (0 for memory-bound families) */
  flop: number;
  /** bytes the family's kernels read and write (first pass of each kernel; 0 for compute families) */
  bytes: number;
  /** why the family's stand-alone kernels were not fused, with how many dispatches say so */
  why: Map<string, number>;
}

const COMPUTE: Record<string, string> = {
  conv2d: "conv forward",
  conv2dGradInput: "conv input gradient",
  conv2dGradWeight: "conv weight gradient",
  matmul: "matmul",
};
const POOLS = new Set(["maxPool2d", "maxPool2dGrad", "avgPool2d", "avgPool2dGrad"]);

/** The family of the dispatch computing node `n` (the forward ends at node `lossId`). */
export function familyOf(g: Graph, n: Node, lossId: number): string {
  if (COMPUTE[n.op]) return COMPUTE[n.op];
  if (POOLS.has(n.op)) return "pooling (max, and its gradient)";
  if (n.op.startsWith("augment") || n.label?.startsWith("views[")) return "augmentation";
  if (n.label === "optimizer") return "optimizer (LARS)";
  if (n.label === "ema") return "EMA";
  const dir = n.label?.endsWith("(backward)") || n.id > lossId ? "bwd" : "fwd";
  const input = g.nodes[n.inputs[0]]?.shape ?? [];
  if (REDUCTIONS.has(n.op) && input.length === 4) {
    const axes = (n.attrs.axes as number[] | undefined) ?? [];
    return axes.length === 2 && axes.includes(2) && axes.includes(3)
      ? "pooling (global average)"
      : `BatchNorm2d sums ${dir} (mean, variance, gradient sums)`;
  }
  if (n.shape.length === 4 && n.shape[2] * n.shape[3] > 1) return `elementwise 4-D ${dir} (BN apply, ReLU, residual)`;
  if (n.shape.length === 4 || (n.shape.length === 1 && n.label?.includes("(encoder)"))) {
    return `BatchNorm2d per-channel ${dir} (rsqrt, running stats)`;
  }
  return `projector + loss, elementwise and reductions ${dir}`;
}

/** FLOPs of a convolution or matmul node (2 per multiply-add), 0 otherwise. */
export function flopOf(g: Graph, n: Node): number {
  const ins = n.inputs.map((i) => g.nodes[i].shape);
  if (n.op === "conv2d") return 2 * size(n.shape) * (size(ins[1]) / ins[1][0]);
  if (n.op === "conv2dGradInput") return 2 * size(ins[0]) * (size(ins[1]) / ins[1][0]);
  if (n.op === "conv2dGradWeight") return 2 * size(ins[1]) * (size(n.shape) / n.shape[0]);
  if (n.op === "matmul") {
    const a = ins[0], k = n.attrs.transA ? a[a.length - 2] : a[a.length - 1];
    return 2 * size(n.shape) * k;
  }
  return 0;
}

/** FLOPs of every convolution and matmul a program computes (a whole step's useful work). */
export function programFlop(g: Graph, p: Program): number {
  const nodes = new Set(p.steps.flatMap((s) => (s.kind === "dispatch" ? [s.node] : [])));
  let f = 0;
  for (const id of nodes) f += flopOf(g, g.nodes[id]);
  return f;
}

/** Groups per-dispatch times `ms` (program order) of program `p`, compiled from `g`, by family. */
export function familyProfile(g: Graph, p: Program, ms: number[], maxStorageBuffers?: number): FamilyRow[] {
  const { plan } = fusionPlanOf(g, true, maxStorageBuffers);
  const lossId = g.outputs.get("loss") ?? Infinity;
  const rows = new Map<string, FamilyRow>();
  const counted = new Set<number>();
  const steps = p.steps.filter((s) => s.kind === "dispatch");
  steps.forEach((s, k) => {
    if (s.kind !== "dispatch") return;
    const n = g.nodes[s.node];
    const family = familyOf(g, n, lossId);
    const row = rows.get(family) ?? { family, ms: 0, dispatches: 0, flop: 0, bytes: 0, why: new Map() };
    row.ms += ms[k] ?? 0;
    row.dispatches++;
    if (!counted.has(n.id)) {
      // a node's work is counted once, with its first pass (helper passes add time only)
      counted.add(n.id);
      const flop = flopOf(g, n);
      row.flop += flop;
      if (!flop && OPS[n.op].kind !== "leaf") {
        const reads = kernelReads(g, plan, n.id);
        row.bytes += 4 * (size(n.shape) + reads.reduce((a, r) => a + size(g.nodes[r].shape), 0));
      }
    }
    if (s.why) {
      const key = s.why.replace(/ #\d+/g, "").replace(/\[[\d, ]+\]/g, "[…]").replace(/'[^']*'/g, "'…'")
        .replace(/\d+(\.\d+)? MiB/g, "… MiB").replace(/\d+ consumers/g, "n consumers");
      row.why.set(key, (row.why.get(key) ?? 0) + 1);
    }
    rows.set(family, row);
  });
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

/** The rows as text: time, share, dispatches, throughput; the top reasons of stand-alone kernels. */
export function formatFamilies(rows: FamilyRow[], reasons = 3): string[] {
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const lines: string[] = [];
  for (const r of rows) {
    const rate = r.flop
      ? `${(r.flop / 1e9 / (r.ms / 1000)).toFixed(1).padStart(7)} GFLOP/s`
      : r.bytes
      ? `${(r.bytes / 1e9 / (r.ms / 1000)).toFixed(2).padStart(7)} GB/s   `
      : "".padStart(15);
    lines.push(
      `${r.ms.toFixed(1).padStart(9)} ms ${(100 * r.ms / total).toFixed(1).padStart(5)}% ${
        String(r.dispatches).padStart(5)
      } disp ${rate}  ${r.family}`,
    );
    for (const [why, n] of [...r.why].sort((a, b) => b[1] - a[1]).slice(0, reasons)) {
      lines.push(`${"".padStart(24)}↳ ${n}× ${why.slice(0, 150)}`);
    }
  }
  lines.push(`${total.toFixed(1).padStart(9)} ms total, ${rows.reduce((a, r) => a + r.dispatches, 0)} dispatches`);
  return lines;
}

// A convolutional step's convolutions by layer shape: for each (op, batch, channels, map size,
// kernel, stride) the time, the dispatches and the GFLOP/s, so the shapes that run far below the
// stand-alone conv figure stand out (the stem's few input channels, the last stage's 4×4 maps).
// Times per dispatch come from bench/profile.ts; a node's helper passes (the weights' repack)
// count towards its shape.
import type { Program } from "../compiler/program.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { flopOf } from "./profile_families.ts";

export interface ConvShapeRow {
  shape: string;
  ms: number;
  dispatches: number;
  flop: number;
}

export const CONV_OPS = new Set(["conv2d", "conv2dGradInput", "conv2dGradWeight"]);

/** "conv2d N32 64→128 32×32 k3 s2": the layer a conv node belongs to, read off its operands. */
export function convShapeKey(g: Graph, n: Node): string {
  const ins = n.inputs.map((i) => g.nodes[i].shape);
  // the layer's input map [N, C, H, W] and weight [O, C, KH, KW], whichever op of the three this is
  const x = n.op === "conv2d" || n.op === "conv2dGradWeight" ? ins[0] : n.attrs.inShape as number[];
  const w = n.op === "conv2dGradWeight" ? n.attrs.wShape as number[] : ins[1];
  const s = n.attrs.stride as number | number[] | undefined, stride = Array.isArray(s) ? s[0] : s ?? 1;
  return `${n.op} N${x[0]} ${w[1]}→${w[0]} ${x[2]}×${x[3]} k${w[2]}${stride > 1 ? ` s${stride}` : ""}`;
}

/** The convolution dispatches of program `p` (times `ms`, program order) grouped by layer shape. */
export function convShapeProfile(g: Graph, p: Program, ms: number[]): ConvShapeRow[] {
  const rows = new Map<string, ConvShapeRow>();
  const counted = new Set<number>();
  p.steps.filter((s) => s.kind === "dispatch").forEach((s, k) => {
    if (s.kind !== "dispatch") return;
    const n = g.nodes[s.node];
    if (!CONV_OPS.has(n.op)) return;
    const key = convShapeKey(g, n);
    const row = rows.get(key) ?? { shape: key, ms: 0, dispatches: 0, flop: 0 };
    row.ms += ms[k] ?? 0;
    row.dispatches++;
    if (!counted.has(n.id)) counted.add(n.id), row.flop += flopOf(g, n);
    rows.set(key, row);
  });
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

/** The rows as text, costliest first. */
export function formatConvShapes(rows: ConvShapeRow[]): string[] {
  return rows.map((r) =>
    `${r.ms.toFixed(1).padStart(9)} ms ${String(r.dispatches).padStart(4)} disp ${
      (r.flop / 1e9 / (r.ms / 1000)).toFixed(1).padStart(6)
    } GFLOP/s  ${r.shape}`
  );
}

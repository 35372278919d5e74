// Text views of a graph and of its compiled program, one line per op or dispatch, in the spirit
// of jax's make_jaxpr: what the lowering built, which ops fused into which kernel, and which
// buffers each dispatch reads and writes. For reading and for diffs, not for parsing.
//
//   %5 = mul(%3, %4) [7, 3]     ⊂ k%7                    (computed inside node 7's kernel)
//   %9 = mean(%8) []             reduces %8 in its loop   @ loss
//   #1 fused[relu,mul,add] → s3 ← s2 wg 1×1×1 (%7 add [7, 3]; fuses %3 relu, %5 mul)
import type { Graph, Node } from "../ir/graph.ts";
import type { Attrs, Shape } from "../kernels/op.ts";
import { fusionPlanOf, type Program, type Storage } from "./compile.ts";

const shape = (s: Shape) => `[${s.join(", ")}]`;
const mib = (
  b: number,
) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);

/** Attributes worth a glance, compactly: booleans by name, short values inline, long ones elided. */
function attrText(n: Node): string {
  const skip = new Set(["name", "shape", "init", "group", ...(n.op === "const" ? ["value"] : [])]);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(n.attrs as Attrs)) {
    if (skip.has(k) || v === undefined || v === false) continue;
    if (v === true) parts.push(k);
    else {
      const s = JSON.stringify(v);
      parts.push(`${k}=${s.length > 40 ? s.slice(0, 37) + "..." : s}`);
    }
  }
  return parts.length ? ` {${parts.join(", ")}}` : "";
}

/** The right-hand side of a node: `op(%a, %b)`, or the leaf's name. */
function rhs(n: Node): string {
  if (n.op === "input" || n.op === "param" || n.op === "state") return `${n.op} '${n.attrs.name}'`;
  if (n.op === "const") return `const ${n.attrs.value}`;
  if (n.op === "scalar") return `scalar '${n.attrs.name}'`;
  return `${n.op}(${n.inputs.map((i) => `%${i}`).join(", ")})`;
}

export interface PrintGraphOptions {
  /** annotate each node with the kernel it is computed in (default true) */
  fusion?: boolean;
}

/**
 * One line per node of `g` that the outputs and updates need: `%id = op(inputs) shape {attrs}`,
 * then where it is computed (`⊂ k%r`: inside the kernel of node r; `inline`: a constant folded
 * into every use), then its spec label. Ends with the outputs and the persistent updates.
 */
export function printGraph(g: Graph, opts: PrintGraphOptions = {}): string {
  const { plan, live } = fusionPlanOf(g);
  const fusion = opts.fusion ?? true;
  const leaves = g.nodes.filter((n) => live.has(n.id) && ["input", "param", "state"].includes(n.op));
  const count = (op: string) => leaves.filter((n) => n.op === op).length;
  const lines = [
    `graph: ${live.size} live nodes of ${g.nodes.length}; ${count("input")} inputs, ${count("param")} params, ${
      count("state")
    } state; ${g.outputs.size} outputs, ${g.updates.length} updates`,
  ];
  const rows: [string, string, string][] = [];
  for (const n of g.nodes) {
    if (!live.has(n.id)) continue;
    let where = "";
    if (fusion) {
      if (plan.uniformValue.has(n.id)) where = "inline";
      else if (plan.prologueOf.has(n.id)) where = `reduces %${plan.prologueOf.get(n.id)} in its loop`;
      else {
        // a value recomputed in several kernels (compiler/recompute.ts) lists them all
        const ks = (plan.kernelsOf.get(n.id) ?? []).filter((k) => k !== n.id);
        if (ks.length) where = `⊂ ${ks.map((k) => `k%${k}`).join(", ")}`;
      }
    }
    rows.push([`  %${n.id} = ${rhs(n)} ${shape(n.shape)}${attrText(n)}`, where, n.label ? `@ ${n.label}` : ""]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(0, ...rows.map((r) => r[1].length));
  for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd());
  for (const [name, id] of g.outputs) lines.push(`  out '${name}' = %${id}`);
  for (const u of g.updates) lines.push(`  update '${g.nodes[u.target].attrs.name}' ← %${u.value}`);
  return lines.join("\n");
}

function storageLine(s: Storage): string {
  const what = s.kind === "slot"
    ? "slot"
    : `${s.kind} '${s.name}' ${s.shape ? shape(s.shape) : ""}${s.dtype === "u8" ? " u8" : ""}`;
  return `  s${s.id} ${what} ${mib(s.bytes)}`;
}

/**
 * One line per step of the compiled program: `#k label → written storages ← read storages
 * wg X×Y×Z`, preceded by the storages (params, state, inputs, reused slots) with their sizes.
 * Given the graph `g` the program was compiled from (with fusion, the default), each dispatch
 * also lists the graph nodes its kernel computes, so fused groups can be read off.
 */
export function printProgram(p: Program, g?: Graph): string {
  const slots = p.storages.filter((s) => s.kind === "slot");
  const lines = [
    `program: ${p.stats.dispatches} dispatches from ${p.stats.nodes} nodes (${p.stats.fusedOps} ops fused); storage ${
      mib(p.peakBytes)
    }, intermediates ${mib(p.slotBytes)} in ${slots.length} reused slots`,
    "storages:",
    ...p.storages.map(storageLine),
    "steps:",
  ];
  const members = new Map<number, number[]>();
  if (g) {
    const { plan } = fusionPlanOf(g);
    for (const [id, ks] of plan.kernelsOf) {
      for (const k of ks) {
        if (!members.has(k)) members.set(k, []);
        members.get(k)!.push(id);
      }
    }
  }
  p.steps.forEach((s, k) => {
    if (s.kind === "copy") {
      lines.push(`  #${k} copy s${s.from} → s${s.to} ${mib(s.bytes)} (${s.label})`);
      return;
    }
    const written = s.pass.bindings.flatMap((b, i) => (b.write ? [`s${s.storages[i]}`] : []));
    const read = s.pass.bindings.flatMap((b, i) => (b.write ? [] : [`s${s.storages[i]}`]));
    const wg = s.pass.workgroups.join("×");
    let ops = "";
    if (g) {
      const n = g.nodes[s.node];
      const group = (members.get(s.node) ?? []).filter((id) => id !== s.node).sort((a, b) => a - b);
      ops = ` (%${s.node} ${n.op} ${shape(n.shape)}${
        group.length ? `; fuses ${group.map((id) => `%${id} ${g.nodes[id].op}`).join(", ")}` : ""
      })`;
    }
    lines.push(`  #${k} ${s.label} → ${written.join(" ") || "-"} ← ${read.join(" ") || "-"} wg ${wg}${ops}`);
  });
  return lines.join("\n");
}

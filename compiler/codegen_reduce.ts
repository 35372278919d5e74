// Reductions with a fused elementwise prologue: sum(square(d)) for LARS norms, the Barlow
// Twins sums over C, BN's variance… The prologue group is emitted as a WGSL function of the
// input offset, `pro(off, …)` — of a vec4 unit when every input can be read by vec4 and the
// reduction's layout and variant allow it, else of a flat index — and the one reduction
// strategy of kernels/reduce.ts loads through it, so the intermediate is never written to
// memory. Values that do not depend on the element are computed once per invocation and passed in.
import type { Graph } from "../ir/graph.ts";
import { type Lowering, size, UNIFORM_DECL } from "../kernels/op.ts";
import {
  parseReduceVariant,
  reduceAxes,
  type ReduceKind,
  type ReducePlan,
  reducePlan,
  reduceSplit,
  type ReductionEpilogue,
  reductionLowering,
  siblingOutput,
  type SiblingReduction,
  siblingReductionLowering,
} from "../kernels/reduce.ts";
import { emitGroup, type ScalarIndex, vectorizable } from "./codegen_ew.ts";
import { type GroupView, walkGroup } from "./group.ts";

export function fusedReduction(
  g: Graph,
  id: number,
  plan: GroupView & { prologueOf: ReadonlyMap<number, number> },
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  variant?: string,
): { lowering: Lowering; inputs: number[]; ops: string[] } {
  const n = g.nodes[id];
  const src = g.nodes[n.inputs[0]];
  const { rp, p } = reductionLayout(g, id, plan, variant);
  const vec = rp.vec !== "none";
  const layout = { kind: vec ? "vec" : "scalar" } as const;
  const perOutput = perOutputLoads(g, id, plan, rp);
  const e = emitGroup({ g, top: src.id, plan, storageOf, scalarIndex, shape: src.shape, layout, perOutput });
  const params = e.invariantNames.map((h) => `, ${h}: f32`).join("");
  const args = e.invariantNames.map((h) => `, ${h}`).join("");
  const decls = [
    ...e.decls,
    e.scalars.size ? UNIFORM_DECL : "",
    ...e.libs,
    vec ? `fn pro(v: u32${params}) -> vec4<f32> {\n  let e = v * 4u;` : `fn pro(i: u32${params}) -> f32 {`,
    ...e.lines,
    `  return ${e.value};`,
    `}`,
    "",
  ].join("\n");
  const lowering = reductionLowering(
    n.op as ReduceKind,
    rp,
    p,
    size(src.shape) / size(n.shape),
    {
      decls,
      setup: e.hoisted.join("\n"),
      load: (off) => `pro(${off}${args})`,
      bindings: e.inputs.map((_, j) => ({ buf: { kind: "in", i: j }, write: false })),
      uniform: e.scalars.size > 0,
      label: `${n.op}∘fused[${e.ops.join(",")}]` + (n.label ? ` @ ${n.label}` : ""),
    },
  );
  return { lowering, inputs: e.inputs, ops: e.ops };
}

/**
 * The prologue inputs of reduction `id` that hold one value per output: of size 1 along every
 * reduced axis and whole along every kept one, so the element any source element reads is the
 * one at the output index `o` (not in vec4 output units). On lavapipe each per-element read of
 * them is a gather with its own index arithmetic; once per invocation they cost nothing.
 */
function perOutputLoads(g: Graph, id: number, plan: GroupView, rp: ReducePlan): Set<number> {
  const n = g.nodes[id], src = g.nodes[n.inputs[0]].shape;
  if (rp.vec === "kept") return new Set();
  const axes = new Set(reduceAxes(n.op, src, n.attrs));
  return new Set(
    walkGroup(g, n.inputs[0], plan).loads.filter((l) => {
      const s = g.nodes[l].shape, off = src.length - s.length;
      return off >= 0 && size(s) < size(src) &&
        src.every((d, ax) => {
          const k = ax < off ? 1 : s[ax - off];
          return axes.has(ax) ? k === 1 : k === d;
        });
    }),
  );
}

/** The unit layout and split of reduction `id`, as its own kernel would use them. */
export function reductionLayout(
  g: Graph,
  id: number,
  plan: GroupView & { prologueOf: ReadonlyMap<number, number> },
  variant?: string,
): { rp: ReducePlan; p: number } {
  const n = g.nodes[id], src = g.nodes[n.inputs[0]];
  const axes = reduceAxes(n.op, src.shape, n.attrs);
  const parsed = parseReduceVariant(variant);
  const fused = plan.prologueOf.has(id);
  const rp = reducePlan(src.shape, axes, parsed.allowVec && (!fused || vectorizable(g, src.id, plan, src.shape)));
  return { rp, p: reduceSplit(rp.o, rp.r, parsed.split) };
}

/**
 * Sibling reductions (compiler/siblings.ts) in one kernel: each member's prologue becomes a
 * function `pro<j>` (a plain member loads its input), the inputs of all are bound once, and
 * kernels/reduce.ts folds each into its own output exactly as its own kernel would. The first
 * member is the kernel's output, member j its output j.
 */
export function fusedSiblingReductions(
  g: Graph,
  ids: number[],
  plan: GroupView & { prologueOf: ReadonlyMap<number, number> },
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  variant?: string,
  epilogueIds: number[] = [],
  after: ReadonlySet<number> = new Set(),
): { lowering: Lowering; inputs: number[]; ops: string[] } {
  const { rp, p } = reductionLayout(g, ids[0], plan, variant);
  const vec = rp.vec !== "none";
  const elem = vec ? "vec4<f32>" : "f32";
  const bound: number[] = [];
  const bindingOf = new Map<number, number>();
  const bind = (id: number) => {
    const s = storageOf(id);
    if (!bindingOf.has(s)) bindingOf.set(s, bound.push(id) - 1);
    return bindingOf.get(s)!;
  };
  const fns: string[] = [], setup = new Map<string, string>(), libs = new Set<string>(), ops: string[] = [];
  let uniform = false;
  const labels: string[] = [];
  const outs: SiblingReduction[] = ids.map((id, j) => {
    const n = g.nodes[id], src = g.nodes[n.inputs[0]];
    const kind = n.op as ReduceKind, count = size(src.shape) / size(n.shape);
    if (!plan.prologueOf.has(id)) {
      const b = bind(src.id);
      labels.push(kind);
      return { kind, count, load: (off: string) => `in${b}[${off}]` };
    }
    const layout = { kind: vec ? "vec" : "scalar" } as const;
    // a member folded after the others reads their outputs at its own output index
    const given = new Map(
      after.has(id) ? ids.flatMap((m, jm) => (after.has(m) ? [] : [[m, `${siblingOutput(jm, ids.length)}[o]`]])) : [],
    ) as Map<number, string>;
    const perOutput = perOutputLoads(g, id, plan, rp);
    const e = emitGroup({ g, top: src.id, plan, storageOf, scalarIndex, shape: src.shape, layout, given, perOutput });
    const to = e.inputs.map(bind);
    const rebind = (t: string) => t.replace(/\bin(\d+)\b/g, (_, k) => `in${to[Number(k)]}`);
    const own: string[] = [];
    for (const line of e.hoisted.map(rebind)) {
      // the same node hoisted by two members is the same line; anything else would be a clash
      const name = line.match(/let (\w+) =/)?.[1] ?? line;
      if (setup.has(name) && setup.get(name) !== line) {
        throw new Error(`compile bug: sibling reductions redefine ${name}`);
      }
      if (setup.has(name)) continue;
      // a later member's values come after the earlier members' folds (they may read them)
      if (after.has(id)) own.push(line);
      setup.set(name, line);
    }
    e.libs.forEach((l) => libs.add(l));
    uniform ||= e.scalars.size > 0;
    ops.push(...e.ops);
    labels.push(`${kind}∘fused[${e.ops.join(",")}]`);
    const params = e.invariantNames.map((h) => `, ${h}: f32`).join("");
    const args = e.invariantNames.map((h) => `, ${h}`).join("");
    fns.push(
      vec ? `fn pro${j}(v: u32${params}) -> vec4<f32> {\n  let e = v * 4u;` : `fn pro${j}(i: u32${params}) -> f32 {`,
      ...e.lines.map(rebind),
      `  return ${e.value};`,
      `}`,
    );
    return {
      kind,
      count,
      load: (off: string) => `pro${j}(${off}${args})`,
      ...(after.has(id) && { after: { setup: own.join("\n") } }),
    };
  });
  const laterLines = new Set(outs.flatMap((x) => (x.after ? x.after.setup.split("\n") : [])));
  const decls = [
    ...bound.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${elem}>;`),
    uniform ? UNIFORM_DECL : "",
    ...libs,
    ...fns,
    "",
  ].join("\n");
  const lead = g.nodes[ids[0]];
  const epi = epilogueIds.length
    ? reductionEpilogue(g, ids, epilogueIds, plan, storageOf, scalarIndex, bound.length, decls)
    : undefined;
  const lowering = siblingReductionLowering(
    outs,
    rp,
    p,
    {
      decls,
      setup: [...setup.values()].filter((l) => !laterLines.has(l)).join("\n"),
      bindings: bound.map((_, j) => ({ buf: { kind: "in", i: j }, write: false })),
      uniform,
      label:
        `${ids.length > 1 ? `siblings[${labels.join(", ")}]` : labels[0]}${epi ? ` + ${epi.epilogue.label}` : ""}` +
        (lead.label ? ` @ ${lead.label}` : ""),
    },
    epi?.epilogue,
  );
  return { lowering, inputs: [...bound, ...(epi?.reads ?? [])], ops: [...ops, ...(epi?.ops ?? [])] };
}

/**
 * The epilogue of a reduction kernel (compiler/siblings.ts): elementwise nodes over the
 * reductions' outputs, each evaluated per output index in its own block and stored; a load of
 * a member's (or an earlier epilogue node's) output reads back what this invocation stored.
 * Other loads become the kernel's inputs after its first `nIn`.
 */
function reductionEpilogue(
  g: Graph,
  members: number[],
  epis: number[],
  plan: GroupView,
  storageOf: (id: number) => number,
  scalarIndex: ScalarIndex,
  nIn: number,
  srcDecls: string,
): { epilogue: ReductionEpilogue; reads: number[]; ops: string[] } {
  const reads: number[] = [];
  const readOf = new Map<number, number>();
  const blocks: ((y: (j: number) => string) => string)[] = [];
  const libs = new Set<string>(), ops: string[] = [];
  let uniform = false;
  epis.forEach((x, e) => {
    const em = emitGroup({
      g,
      top: x,
      plan,
      storageOf,
      scalarIndex,
      shape: g.nodes[x].shape,
      layout: { kind: "scalar" },
    });
    const names = em.inputs.map((id) => {
      const s = storageOf(id);
      const j = members.findIndex((m) => storageOf(m) === s);
      if (j >= 0) return (y: (j: number) => string) => y(j);
      // an earlier epilogue's output, or a buffer an epilogue writes in place (read before it is written)
      const at = epis.findIndex((m) => storageOf(m) === s);
      if (at >= 0) return () => `z${at}`;
      if (!readOf.has(s)) readOf.set(s, reads.push(id) - 1);
      const r = readOf.get(s)!;
      return () => `r${r}`;
    });
    em.libs.forEach((l) => libs.add(l));
    uniform ||= em.scalars.size > 0;
    ops.push(...em.ops);
    blocks.push((y) => {
      const rename = (t: string) => t.replace(/\bin(\d+)\b/g, (_, k) => names[Number(k)](y));
      return `  {\n${[...em.hoisted, ...em.lines].map(rename).join("\n")}\n  z${e}[i] = ${rename(em.value)};\n  }\n`;
    });
  });
  const epilogue: ReductionEpilogue = {
    reads: reads.map((_, r) => ({ kind: "in", i: nIn + r })),
    outs: epis.length,
    uniform,
    label: `fused[${ops.join(",")}]`,
    code: (first, y, inline) => {
      const extra = [...libs].filter((l) => !inline || !srcDecls.includes(l));
      const decls = [
        ...reads.map((_, r) => `@group(0) @binding(${first + r}) var<storage, read> r${r}: array<f32>;`),
        ...epis.map((_, e) =>
          `@group(0) @binding(${first + reads.length + e}) var<storage, read_write> z${e}: array<f32>;`
        ),
        uniform && !(inline && srcDecls.includes(UNIFORM_DECL)) ? UNIFORM_DECL : "",
        ...extra,
        "",
      ].join("\n");
      return { decls, lines: blocks.map((b) => b(y)).join("") };
    },
  };
  return { epilogue, reads, ops };
}

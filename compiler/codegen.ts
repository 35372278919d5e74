// Pass 6 of compile(): code generation. Every computed value becomes one or more passes: a generated
// kernel for an elementwise group (compiler/codegen_ew.ts; with the values it also writes,
// compiler/co_outputs.ts), a reduction computing its input in
// its loop (compiler/codegen_reduce.ts), sibling reductions in one kernel (compiler/siblings.ts),
// else the op's own kernel from the table. Buffers are not
// placed yet: passes refer to inputs, output and temporaries by position, and the generators
// only need to tell buffers apart (`storageKey`).
import type { Graph } from "../ir/graph.ts";
import { MAX_SCALARS, type Pass, type Relayout } from "../kernels/op.ts";
import { REDUCTIONS } from "../kernels/reduce.ts";
import { OPS } from "../kernels/registry.ts";
import { fusedKernel } from "./codegen_ew.ts";
import { fusedReduction, fusedSiblingReductions } from "./codegen_reduce.ts";
import type { FusionPlan } from "./fusion_plan.ts";
import type { CompileOptions } from "./program.ts";
import { type BorrowedTemps, moveRelayouts } from "./relayout.ts";
import { DEFAULT_MAX_STORAGE_BUFFERS } from "./fuse.ts";

export interface GeneratedKernel {
  node: number;
  passes: Pass[];
  /** the nodes the passes' `in` references bind, in order */
  ins: number[];
  /** temporaries, in f32 elements */
  temps: number[];
  /** per pass: why it stands alone, when it is an unfused elementwise kernel or reduction pass */
  why: (string | undefined)[];
  /** further nodes the passes write (sibling reductions): output i ≥ 1 is alsoWrites[i − 1] */
  alsoWrites?: number[];
  /** its temporaries that an earlier kernel writes (compiler/relayout.ts) */
  borrowedTemps?: BorrowedTemps;
}

export interface GeneratedKernels {
  kernels: GeneratedKernel[];
  scalarIndex: Map<string, number>;
  scalarTypes: Map<string, "f32" | "u32">;
  /** elementwise ops evaluated inside generated kernels (a recomputed op counts once per kernel) */
  fusedOps: number;
}

const SECOND_PASS =
  "second pass: folds the partials of pass 1 (a long reduction into few outputs is split across many threads)";

/** The kernel of a fused reduction: its passes, the second (if any) folding the first's partials. */
function reductionKernel(node: number, f: ReturnType<typeof fusedReduction>): GeneratedKernel {
  const passes = f.lowering.passes;
  return {
    node,
    passes,
    ins: f.inputs,
    temps: f.lowering.temps ?? [],
    why: passes.map((_, k) => (k ? SECOND_PASS : undefined)),
  };
}

export function generateKernels(
  g: Graph,
  plan: FusionPlan,
  computeNodes: number[],
  storageKey: (node: number) => number,
  opts: CompileOptions,
  siblings: {
    partners: ReadonlyMap<number, number[]>;
    epilogues: ReadonlyMap<number, number[]>;
    after?: ReadonlySet<number>;
  } = { partners: new Map(), epilogues: new Map() },
  coOutputs: ReadonlyMap<number, number[]> = new Map(),
): GeneratedKernels {
  const features = opts.features ?? { subgroups: false, f16: false };
  const scalarIndex = new Map<string, number>();
  const scalarTypes = new Map<string, "f32" | "u32">();
  const scalarIdx = (name: string, type: "f32" | "u32") => {
    const had = scalarTypes.get(name);
    if (had && had !== type) throw new Error(`compile: step scalar '${name}' is read both as ${had} and as ${type}`);
    scalarTypes.set(name, type);
    if (!scalarIndex.has(name)) {
      if (scalarIndex.size >= MAX_SCALARS) throw new Error(`compile: more than ${MAX_SCALARS} step scalars`);
      scalarIndex.set(name, scalarIndex.size);
    }
    return scalarIndex.get(name)!;
  };

  const kernels: GeneratedKernel[] = [];
  const absorbed = new Set(
    [...siblings.partners.values(), ...siblings.epilogues.values(), ...coOutputs.values()].flat(),
  );
  let fusedOps = 0;
  // the elementwise kernels generated so far: node → index in `kernels`
  const ewAt = new Map<number, number>();
  for (const id of computeNodes) {
    const n = g.nodes[id];
    const def = OPS[n.op];
    const inShapes = n.inputs.map((i) => g.nodes[i].shape);
    const variant = opts.variant?.(n.op, inShapes, n.attrs);
    if (absorbed.has(id)) {
      // computed by the kernel of its first sibling, scheduled just before it, or by its reader
      kernels.push({ node: id, passes: [], ins: [], temps: [], why: [] });
      continue;
    }
    const partners = siblings.partners.get(id), epilogue = siblings.epilogues.get(id);
    if (partners || epilogue) {
      const members = [id, ...partners ?? []];
      const f = fusedSiblingReductions(g, members, plan, storageKey, scalarIdx, variant, epilogue, siblings.after);
      fusedOps += f.ops.length;
      kernels.push({ ...reductionKernel(id, f), alsoWrites: [...partners ?? [], ...epilogue ?? []] });
      continue;
    }
    if (def.kind === "elementwise") {
      const also = coOutputs.get(id);
      const k = fusedKernel(g, id, plan, storageKey, scalarIdx, also);
      ewAt.set(id, kernels.length);
      fusedOps += k.ops.length;
      kernels.push({
        node: id,
        passes: [k.pass],
        ins: k.inputs,
        temps: [],
        why: [plan.why.get(id)],
        ...(also && { alsoWrites: also }),
      });
      continue;
    }
    if (plan.prologueOf.has(id)) {
      const f = fusedReduction(g, id, plan, storageKey, scalarIdx, variant);
      fusedOps += f.ops.length;
      kernels.push(reductionKernel(id, f));
      continue;
    }
    if (!def.kernel) throw new Error(`compile: op '${n.op}' has no GPU kernel`);
    const usesUniform = { v: false };
    const low = def.kernel({
      inShapes,
      outShape: n.shape,
      attrs: n.attrs,
      scalar: (s) => ((usesUniform.v = true), `stepF32(${scalarIdx(s, "f32")}u)`),
      scalarU32: (s) => ((usesUniform.v = true), `stepU32(${scalarIdx(s, "u32")}u)`),
      features,
      variant,
    });
    for (const p of low.passes) {
      if (usesUniform.v) p.uniform = true;
      p.label = `${p.label ?? n.op}${n.label ? ` @ ${n.label}` : ""}`;
    }
    const rewrite = (src: number, t: Relayout) =>
      fusedKernel(g, src, plan, storageKey, scalarIdx, coOutputs.get(src), t).pass;
    const borrowedTemps = opts.fuse === false
      ? new Map()
      : moveRelayouts(g, id, low, kernels, ewAt, rewrite, opts.maxStorageBuffers ?? DEFAULT_MAX_STORAGE_BUFFERS);
    const why = low.passes.map((_, k) => (!REDUCTIONS.has(n.op) ? undefined : k ? SECOND_PASS : plan.why.get(id)));
    kernels.push({
      node: id,
      passes: low.passes,
      ins: n.inputs,
      temps: low.temps ?? [],
      why,
      ...(borrowedTemps.size && { borrowedTemps }),
    });
  }
  return { kernels, scalarIndex, scalarTypes, fusedOps };
}

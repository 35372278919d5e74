// Static facts derived from a spec: expanded module paths, widths, image shapes, EMA
// parameter sets. Used by the semantic checks (validate.ts) and by the forward graph (step/), so
// the two agree on what a spec means. Functions here assume the schema has accepted the spec;
// the ones that can meet a broken reference return undefined rather than throw.
import { datasetImageShape } from "../data/names.ts";
import type { Branch, Expr, LossNode, Module, PipelineSpec, Tau } from "./schema.ts";

/** [C, S, S] of a view's images, with undefined parts when the dataset is not a known one. */
export function viewImageShape(
  spec: PipelineSpec,
  viewName: string,
): [number | undefined, number | undefined, number | undefined] {
  const ds = datasetImageShape(spec.data.name);
  const view = spec.views.find((x) => x.name === viewName);
  const side = view?.aug.crop?.size;
  return [ds?.[0], side ?? ds?.[1], side ?? ds?.[2]];
}

/**
 * The leaf (non-seq) module names a path goes through, in order. Returns undefined when a
 * name is unknown or a seq module contains itself (validate.ts reports both with paths).
 */
export function expandPath(modules: Record<string, Module>, path: readonly string[]): string[] | undefined {
  const out: string[] = [];
  const visit = (names: readonly string[], stack: string[]): boolean => {
    for (const n of names) {
      const m = modules[n];
      if (!m || stack.includes(n)) return false;
      if (m.kind === "seq") {
        if (!visit(m.path, [...stack, n])) return false;
      } else out.push(n);
    }
    return true;
  };
  return visit(path, []) ? out : undefined;
}

/** Output width of a leaf module (independent of its input: all widths are declared). */
export function moduleOutDim(m: Module): number | undefined {
  switch (m.kind) {
    case "mlp":
      return m.widths[m.widths.length - 1];
    case "cnn":
      return m.channels[m.channels.length - 1];
    case "resnet18":
      return 8 * m.width;
    case "seq":
      return undefined; // expand first
  }
}

/** Width D of a branch's [batch, D] output, or undefined when its path is broken. */
export function branchDim(spec: PipelineSpec, b: Branch): number | undefined {
  const leaves = expandPath(spec.modules, b.path);
  if (!leaves || leaves.length === 0) return undefined;
  return moduleOutDim(spec.modules[leaves[leaves.length - 1]]);
}

/** One EMA parameter set: copies of `modules` tracking the online weights of branch `of`. */
export interface EmaSet {
  of: string;
  /** the modules the ema branches use, in the order of the `of` branch's path (a predictor only the online side has gets no copy) */
  modules: string[];
  tau: Tau;
  /** the branches evaluated with this copy */
  branches: string[];
}

/**
 * The EMA parameter sets of a spec, one per distinct `ema.of`: all ema branches of the same
 * online branch share one copy (validate.ts checks that they agree on τ and only use modules
 * of the online path).
 */
export function emaSets(spec: PipelineSpec): EmaSet[] {
  const sets = new Map<string, EmaSet & { used: Set<string> }>();
  for (const b of spec.branches) {
    if (!b.ema) continue;
    let set = sets.get(b.ema.of);
    if (!set) sets.set(b.ema.of, set = { of: b.ema.of, modules: [], tau: b.ema.tau, branches: [], used: new Set() });
    set.branches.push(b.name);
    for (const m of expandPath(spec.modules, b.path) ?? []) set.used.add(m);
  }
  return [...sets.values()].map(({ used, ...set }) => {
    const of = spec.branches.find((x) => x.name === set.of);
    const order = of ? expandPath(spec.modules, of.path) ?? [] : [];
    return { ...set, modules: order.filter((m) => used.has(m)) };
  });
}

/** Whether gradients can flow from this branch's output into trainable parameters. */
export function branchTrainable(b: Branch): boolean {
  return !b.stopGrad && !b.ema;
}

/** Leaf modules that receive gradients from the loss through some trainable branch. */
export function trainedModules(spec: PipelineSpec, usedBranches: Iterable<string>): Set<string> {
  const used = new Set(usedBranches);
  const out = new Set<string>();
  for (const b of spec.branches) {
    if (!used.has(b.name) || !branchTrainable(b)) continue;
    for (const m of expandPath(spec.modules, b.path) ?? []) out.add(m);
  }
  return out;
}

/** Every node of a loss expression, parents before children (handy to find or edit terms). */
export function lossNodes(expr: Expr): LossNode[] {
  if (typeof expr !== "object") return [];
  const out: LossNode[] = [expr];
  const kids: Expr[] = "args" in expr ? [...expr.args] : "a" in expr ? [expr.a, expr.b] : [];
  if (expr.op === "infoNCE" && expr.negatives !== undefined) kids.push(expr.negatives);
  for (const k of kids) out.push(...lossNodes(k));
  return out;
}

/** A branch whose rows the loss reads as cluster assignments, and the module path that computes them. */
export interface ClusterHead {
  branch: string;
  path: string[];
  /** the number of clusters K: the width of the path's output */
  clusters: number | undefined;
}

/**
 * The cluster heads of a spec, read off its loss: a branch the loss passes straight into a row
 * softmax (`softmax(branch, 1)`) has rows that are distributions over its K outputs, i.e. soft
 * cluster assignments (Contrastive Clustering's cluster head). One entry per distinct module path,
 * in the order the loss first uses them, so two views through the same head count once.
 */
export function clusterHeads(spec: PipelineSpec): ClusterHead[] {
  const out: ClusterHead[] = [];
  for (const n of lossNodes(spec.loss)) {
    if (n.op !== "softmax" || n.axis !== 1 || typeof n.args[0] !== "string") continue;
    const b = spec.branches.find((x) => x.name === n.args[0]);
    if (!b || out.some((h) => h.path.join(">") === b.path.join(">"))) continue;
    out.push({ branch: b.name, path: [...b.path], clusters: branchDim(spec, b) });
  }
  return out;
}

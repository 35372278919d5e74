// Static facts derived from a spec: expanded module paths, widths, image shapes, EMA
// parameter sets. Used by the semantic checks (validate.ts) and meant for the lowering, so the
// two agree on what a spec means. Functions here assume the schema has accepted the spec;
// the ones that can meet a broken reference return undefined rather than throw.
import type { Branch, Module, PipelineSpec, Tau } from "./schema.ts";

/** [channels, height, width] of the datasets known by name. */
export const DATASET_SHAPES: Record<string, readonly [number, number, number]> = {
  "fashion-mnist": [1, 28, 28],
  "mnist": [1, 28, 28],
  "cifar10": [3, 32, 32],
};

/** [C, S, S] of a view's images, with undefined parts when the dataset is not a known one. */
export function viewImageShape(spec: PipelineSpec, viewName: string): [number | undefined, number | undefined, number | undefined] {
  const ds = DATASET_SHAPES[spec.data.name];
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

/** One EMA parameter set: a copy of `modules` (the leaves of branch `of`) updated with `tau`. */
export interface EmaSet {
  of: string;
  modules: string[];
  tau: Tau;
  /** the branches evaluated with this copy */
  branches: string[];
}

/**
 * The EMA parameter sets of a spec, one per distinct `ema.of`. The copy holds the modules of
 * the `of` branch's path (all ema branches of it must use a subset; validate.ts checks).
 */
export function emaSets(spec: PipelineSpec): EmaSet[] {
  const sets = new Map<string, EmaSet>();
  for (const b of spec.branches) {
    if (!b.ema) continue;
    const set = sets.get(b.ema.of);
    if (set) {
      set.branches.push(b.name);
      continue;
    }
    const of = spec.branches.find((x) => x.name === b.ema!.of);
    const modules = of ? expandPath(spec.modules, of.path) ?? [] : [];
    sets.set(b.ema.of, { of: b.ema.of, modules, tau: b.ema.tau, branches: [b.name] });
  }
  return [...sets.values()];
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

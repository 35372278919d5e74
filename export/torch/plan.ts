// What the generated program computes, read from a validated spec the way step/forward_graph.ts builds
// it: which leaf modules are trained and what each one's input is, the order in which branches
// are evaluated (each view through each module path prefix once, per parameter set), the EMA
// copies, the queues, the encoder and the diagnostics pair. Nothing here writes Python.
import { lossPair } from "../../step/loss_expr.ts";
import { branchDim, emaSets, expandPath, moduleOutDim } from "../../dsl/resolve.ts";
import type { Module, PipelineSpec } from "../../dsl/schema.ts";

/** A leaf module's input: images of a view, or the [N, D] output of another module. */
export type ModuleInput = { kind: "view"; view: string } | { kind: "features"; width: number; from: string };

/** One evaluation: `out` = module `module` (a path element, maybe a seq) applied to `input`. */
export interface ForwardStep {
  /** a Python variable name */
  out: string;
  module: string;
  /** a view name, or the `out` of an earlier step */
  input: { view: string } | { step: string };
}

export interface BranchPlan {
  name: string;
  /** the step whose output is the branch output */
  result: string;
  detach: boolean;
}

export interface ForwardPlan {
  steps: ForwardStep[];
  branches: BranchPlan[];
}

export interface TorchPlan {
  /** leaf modules with trained parameters, in order of first use, with their input */
  modules: { name: string; module: Module; input: ModuleInput }[];
  online: ForwardPlan;
  /** branches evaluated with EMA copies, by the branch whose weights they average */
  ema: {
    of: string;
    modules: string[];
    tau: { base: number; final: number; schedule: string };
    forward: ForwardPlan;
  }[];
  queues: { name: string; of: string; size: number; dim: number }[];
  /** the module whose output is the representation (the first non-EMA branch's first module) and its leaves */
  encoder: { name: string; leaves: string[] };
  /** the two branches of the main loss term, when they are two branch outputs of one shape */
  pair?: [string, string];
}

export class ExportError extends Error {
  override name = "ExportError";
}

/** The plan of `spec`; a module fed something it cannot take is an ExportError naming it. */
export function torchPlan(spec: PipelineSpec): TorchPlan {
  // the PyTorch program reads the whole training split; it would train a one-class spec on all classes
  if (spec.data.oneClass !== undefined) {
    throw new ExportError(
      "data.oneClass (--one-class): the PyTorch program does not cut the training set to one class",
    );
  }
  const leaves = (path: readonly string[]) => {
    const l = expandPath(spec.modules, path);
    if (!l) throw new ExportError(`a branch path ${JSON.stringify(path)} names an unknown or cyclic module`);
    return l;
  };
  const inputs = new Map<string, ModuleInput>();
  const noteInputs = (view: string, path: readonly string[]) => {
    let prev: string | undefined;
    for (const leaf of leaves(path)) {
      const m = spec.modules[leaf];
      const input: ModuleInput = prev === undefined
        ? { kind: "view", view }
        : { kind: "features", width: moduleOutDim(spec.modules[prev])!, from: prev };
      if (input.kind === "features" && m.kind !== "mlp") {
        throw new ExportError(
          `module '${leaf}' (${m.kind}) needs images, but follows '${prev}', whose output is [N, ${input.width}]`,
        );
      }
      if (m.kind === "mlp" && input.kind === "features" && m.in !== undefined && m.in !== input.width) {
        throw new ExportError(`module '${leaf}' expects input width ${m.in}, but '${prev}' gives ${input.width}`);
      }
      if (!inputs.has(leaf)) inputs.set(leaf, input);
      prev = leaf;
    }
  };

  const forward = (branches: PipelineSpec["branches"], shadow: string): ForwardPlan => {
    const memo = new Map<string, string>();
    const steps: ForwardStep[] = [];
    const out: BranchPlan[] = [];
    for (const b of branches) {
      let input: ForwardStep["input"] = { view: b.view };
      let last = "";
      b.path.forEach((m, k) => {
        const key = `${b.view}|${shadow}|${b.path.slice(0, k + 1).join(">")}`;
        let name = memo.get(key);
        if (!name) {
          name = `h${steps.length}`;
          steps.push({ out: name, module: m, input });
          memo.set(key, name);
        }
        input = { step: name };
        last = name;
      });
      out.push({ name: b.name, result: last, detach: b.stopGrad || !!b.ema });
    }
    return { steps, branches: out };
  };

  const online = spec.branches.filter((b) => !b.ema);
  for (const b of online) noteInputs(b.view, b.path);
  for (const b of spec.branches.filter((x) => x.ema)) noteInputs(b.view, b.path);
  const trained = new Set(online.flatMap((b) => leaves(b.path)));
  const modules = [...inputs.keys()].filter((m) => trained.has(m)).map((name) => ({
    name,
    module: spec.modules[name],
    input: inputs.get(name)!,
  }));

  const ema = emaSets(spec).map((set) => ({
    of: set.of,
    modules: set.modules,
    tau: set.tau,
    forward: forward(spec.branches.filter((b) => b.ema?.of === set.of), set.of),
  }));
  const byName = new Map(spec.branches.map((b) => [b.name, b]));
  const queues = (spec.queues ?? []).map((q) => ({
    name: q.name,
    of: q.of,
    size: q.size,
    dim: branchDim(spec, byName.get(q.of)!)!,
  }));
  const first = online[0] ?? spec.branches[0];
  const encoder = { name: first.path[0], leaves: leaves([first.path[0]]) };

  let pair: [string, string] | undefined;
  const p = lossPair(spec.loss) ??
    (spec.branches.length >= 2 ? { a: spec.branches[0].name, b: spec.branches[1].name } : undefined);
  if (
    p && byName.has(p.a) && byName.has(p.b) && branchDim(spec, byName.get(p.a)!) === branchDim(spec, byName.get(p.b)!)
  ) pair = [p.a, p.b];
  return { modules, online: forward(online, ""), ema, queues, encoder, pair };
}

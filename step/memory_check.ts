// The compiled step's memory plan against what the device can hold, checked before any buffer
// is allocated: every buffer against the adapter's per-buffer limits, and the total against the
// memory budget (on a CPU adapter, the machine's memory; WebGPU reports no device memory size, so
// on a GPU only the per-buffer limits and the device's own allocation errors apply). A refusal
// names the largest tensors by their spec origin, the width field and flag that size them
// (`modules.projector.widths[1] (--proj)`), and the totals.
import type { Program, Storage } from "../compiler/compile.ts";
import { joinPath } from "../dsl/error.ts";
import { branchDim, expandPath, moduleOutDim } from "../dsl/resolve.ts";
import type { Module, PipelineSpec } from "../dsl/schema.ts";

export interface MemoryLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** bytes all buffers together may take, when known */
  totalBudget?: number;
  /** where the budget comes from, for the message */
  budgetSource?: string;
}

/** A memory plan the device cannot hold (a user error: exit 2, no GPU work done). */
export class MemoryPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MemoryPlanError";
  }
}

const FLAG_OF: Record<string, string> = { encoder: "--encoder", projector: "--proj", predictor: "--pred" };

/** The spec field that sets the width of layer `layer` of a module: widths[i] (mlp), channels[i] (cnn). */
function layerField(spec: PipelineSpec, module: string, layer: number | undefined): string {
  const m = spec.modules[module], at = joinPath("modules", module);
  const field = m.kind === "mlp" ? "widths" : m.kind === "cnn" ? "channels" : undefined;
  if (!field) return at;
  const n = m.kind === "mlp" ? m.widths.length : m.kind === "cnn" ? m.channels.length : 0;
  return layer !== undefined && layer < n ? `${at}.${field}[${layer}]` : `${at}.${field}`;
}

type Owner = { module: string; layer?: number };

const widthsOf = (m: Module): number[] => (m.kind === "mlp" ? m.widths : m.kind === "cnn" ? m.channels : []);
const lastLayer = (spec: PipelineSpec, module: string): Owner => {
  const n = widthsOf(spec.modules[module]).length;
  return { module, layer: n ? n - 1 : undefined };
};

/** The module feeding `module` in some branch with an output of `width` (a first layer's input width is its). */
function feeder(spec: PipelineSpec, module: string, width: number): Owner | undefined {
  for (const b of spec.branches) {
    const leaves = expandPath(spec.modules, b.path) ?? [], k = leaves.indexOf(module);
    if (k > 0 && moduleOutDim(spec.modules[leaves[k - 1]]) === width) return lastLayer(spec, leaves[k - 1]);
  }
  return undefined;
}

/**
 * Which width makes a tensor of `module` (of layer `layer`, when its name says) this large: its
 * widest dimension that is a width of the layer, of the layer before it, or the output of the
 * module feeding it. A projector of width 10⁶ makes the predictor's first weight 10⁶ wide.
 */
function widthOwner(spec: PipelineSpec, module: string, shape: readonly number[], layer?: number): Owner {
  const widths = widthsOf(spec.modules[module]);
  for (const d of [...shape].sort((a, b) => b - a)) {
    if (layer !== undefined) {
      if (widths[layer] === d) return { module, layer };
      if (layer > 0 && widths[layer - 1] === d) return { module, layer: layer - 1 };
    } else {
      const layers = widths.flatMap((w, i) => (w === d ? [i] : []));
      if (layers.length) return { module, layer: layers.length === 1 ? layers[0] : undefined };
    }
    const from = layer === undefined || layer === 0 ? feeder(spec, module, d) : undefined;
    if (from) return from;
  }
  return { module, layer };
}

/** "projector.1.linear.weight" (or its EMA copy, optimizer moment) → the width that sizes it. */
function fromName(spec: PipelineSpec, name: string, shape: readonly number[]): Owner | undefined {
  const [module, part] = name.replace(/^ema_[^/]*\//, "").split(".");
  if (!Object.hasOwn(spec.modules, module)) return undefined;
  const digits = /^(?:conv|bn)?(\d+)$/.exec(part ?? "");
  return widthOwner(spec, module, shape, digits ? Number(digits[1]) : undefined);
}

/** "branches[0].path[1] (projector)" (a node label, forward or backward) → the width that sizes it. */
function fromLabel(spec: PipelineSpec, label: string, shape: readonly number[]): Owner | undefined {
  const module = /^branches\[\d+\]\.path\[\d+\] \(([^)]+)\)/.exec(label)?.[1];
  if (!module || !Object.hasOwn(spec.modules, module)) return undefined;
  return widthOwner(spec, module, shape);
}

/** The spec field and flag that shrink module `owner`'s layer: "modules.projector.widths[1] (--proj)". */
function fixOf(spec: PipelineSpec, owner: Owner): string {
  const flag = FLAG_OF[owner.module];
  return `${layerField(spec, owner.module, owner.layer)}${flag ? ` (${flag})` : ""}`;
}

/** A loss tensor's size comes from the branch widths: the last layer of the branch whose width it has. */
function lossOwner(spec: PipelineSpec, shape: readonly number[]): Owner | undefined {
  for (const b of spec.branches) {
    const leaves = expandPath(spec.modules, b.path), d = branchDim(spec, b);
    if (leaves?.length && d !== undefined && shape.includes(d)) return lastLayer(spec, leaves[leaves.length - 1]);
  }
  return undefined;
}

/**
 * Where in the spec a storage comes from (`what`), and the spec field and flag that shrink it
 * (`fix`, when a module's width sets its size). `name` stands for the storage's own name: a
 * parameter's, or the parameter an unlabelled optimizer tensor has the shape of.
 */
function specOrigin(spec: PipelineSpec | undefined, s: Storage, name = s.name): { what?: string; fix?: string } {
  if (!spec) return {};
  const label = s.origin?.label, shape = s.shape ?? s.origin?.shape ?? [];
  const owner = name ? fromName(spec, name, shape) : label ? fromLabel(spec, label, shape) : undefined;
  if (owner) return { fix: fixOf(spec, owner) };
  if (label?.startsWith("loss")) {
    const o = lossOwner(spec, shape);
    return o ? { what: "the loss, over the output width of", fix: fixOf(spec, o) } : { what: "the loss" };
  }
  if (label?.startsWith("views[") || label === "data") return { what: "the batch of images", fix: "--batch" };
  return { what: label };
}

/** Names each storage for the message; slots without a spec label are the optimizer's (the step labels the rest). */
function describer(spec: PipelineSpec | undefined, program: Program) {
  const params = new Map<string, string>();
  for (const s of program.storages) if (s.kind === "param" && s.name && s.shape) params.set(s.shape.join(), s.name);
  const twin = (s: Storage) => (s.name || s.origin?.label || !s.origin ? undefined : params.get(s.origin.shape.join()));
  return {
    /** "'projector.1.linear.weight' [1000000, 1000000] 3.6 TiB: modules.projector.widths[1] (--proj)" */
    describe(s: Storage): string {
      const shape = s.shape ?? s.origin?.shape, of = twin(s);
      const what = s.name
        ? `'${s.name}'`
        : s.origin?.label
        ? `a tensor at ${s.origin.label}`
        : of
        ? `an optimizer tensor of '${of}'`
        : s.origin
        ? "a tensor of the optimizer step"
        : "a kernel's scratch buffer";
      const { what: from, fix } = specOrigin(spec, s, s.name ?? of);
      const origin = [from, fix].filter((x) => x).join(" ");
      return `${what}${shape ? ` [${shape.join(", ")}]` : ""} ${formatBytes(s.bytes)}${origin ? `: ${origin}` : ""}`;
    },
    fix: (s: Storage) => specOrigin(spec, s, s.name ?? twin(s)).fix,
  };
}

const formatBytes = (b: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) (b /= 1024), i++;
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
};

const largest = (p: Program) => [...p.storages].sort((a, b) => b.bytes - a.bytes).slice(0, 4);

export function checkMemoryPlan(program: Program, limits: MemoryLimits, spec?: PipelineSpec): void {
  const { describe, fix } = describer(spec, program);
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const total = program.storages.reduce((a, s) => a + s.bytes, 0);
  const over = program.storages.filter((s) => s.bytes > perBuffer).sort((a, b) => b.bytes - a.bytes);
  const budgetOver = limits.totalBudget !== undefined && total > limits.totalBudget;
  if (!over.length && !budgetOver) return;
  const lines = [
    `the compiled step needs ${
      formatBytes(total)
    } of device memory in ${program.storages.length} buffers, more than this adapter can hold:`,
  ];
  if (over.length) {
    lines.push(
      `  ${over.length} buffer${over.length > 1 ? "s exceed" : " exceeds"} the per-buffer limit of ${
        formatBytes(perBuffer)
      }` +
        ` (maxStorageBufferBindingSize ${formatBytes(limits.maxStorageBufferBindingSize)}, maxBufferSize ${
          formatBytes(limits.maxBufferSize)
        }):`,
      ...over.slice(0, 4).map((s) => `    ${describe(s)}`),
    );
    if (over.length > 4) lines.push(`    … and ${over.length - 4} more`);
  }
  if (budgetOver) {
    lines.push(
      `  the total exceeds ${formatBytes(limits.totalBudget!)} (${limits.budgetSource ?? "the memory budget"})`,
    );
    if (!over.length) lines.push("  the largest buffers:", ...largest(program).map((s) => `    ${describe(s)}`));
  }
  const biggest = over.length ? over.slice(0, 4) : largest(program);
  const owners = [...new Set(biggest.map(fix))].filter((o) => o?.startsWith("modules."));
  lines.push(`  make ${owners.length ? owners.join(", ") : "the model or --batch"} smaller`);
  throw new MemoryPlanError(lines.join("\n"));
}

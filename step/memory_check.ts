// The compiled step's memory plan against what the device can hold, checked before any buffer
// is allocated: every buffer against the adapter's per-buffer limits, and the total against the
// memory budget (on a CPU adapter, the machine's memory; WebGPU reports no device memory size, so
// on a GPU only the per-buffer limits and the device's own allocation errors apply). A refusal
// names the largest tensors, the spec path and flag of the module that owns them, and the totals.
import type { Program, Storage } from "../compiler/compile.ts";
import type { PipelineSpec } from "../dsl/schema.ts";

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

/** "modules.projector (--proj)" for a tensor named after a spec module, else the tensor's own name. */
function ownerOf(spec: PipelineSpec | undefined, s: Storage): string {
  const module = s.name?.replace(/^ema_[^/]*\//, "").split(".")[0];
  if (!spec || !module || !(module in spec.modules)) return s.name ? `'${s.name}'` : "an intermediate";
  const flag = FLAG_OF[module];
  return `modules.${module}${flag ? ` (${flag})` : ""}`;
}

const formatBytes = (b: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) (b /= 1024), i++;
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
};

export function checkMemoryPlan(program: Program, limits: MemoryLimits, spec?: PipelineSpec): void {
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const total = program.storages.reduce((a, s) => a + s.bytes, 0);
  const describe = (s: Storage) => `${s.name ? `'${s.name}'` : `intermediate #${s.id}`} ${formatBytes(s.bytes)} (${ownerOf(spec, s)})`;
  const over = program.storages.filter((s) => s.bytes > perBuffer).sort((a, b) => b.bytes - a.bytes);
  const budgetOver = limits.totalBudget !== undefined && total > limits.totalBudget;
  if (!over.length && !budgetOver) return;
  const lines = [`the compiled step needs ${formatBytes(total)} of device memory in ${program.storages.length} buffers, more than this adapter can hold:`];
  if (over.length) {
    lines.push(
      `  ${over.length} buffer${over.length > 1 ? "s exceed" : " exceeds"} the per-buffer limit of ${formatBytes(perBuffer)}` +
        ` (maxStorageBufferBindingSize ${formatBytes(limits.maxStorageBufferBindingSize)}, maxBufferSize ${formatBytes(limits.maxBufferSize)}):`,
      ...over.slice(0, 4).map((s) => `    ${describe(s)}`),
    );
    if (over.length > 4) lines.push(`    … and ${over.length - 4} more`);
  }
  if (budgetOver) lines.push(`  the total exceeds ${formatBytes(limits.totalBudget!)} (${limits.budgetSource ?? "the memory budget"})`);
  const owners = [...new Set(over.map((s) => ownerOf(spec, s)))].filter((o) => o.startsWith("modules."));
  lines.push(`  make ${owners.length ? owners.join(", ") : "the model or --batch"} smaller`);
  throw new MemoryPlanError(lines.join("\n"));
}

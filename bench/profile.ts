// Per-kernel wall time of a compiled program: every dispatch submitted and awaited on its own,
// grouped by label. For finding hot spots; absolute figures include submit overhead.
import type { Executable } from "../runtime/executable.ts";
import { awaitGpu } from "../runtime/wait.ts";

export async function profileDispatches(ex: Executable, repeats = 2): Promise<{ label: string; ms: number; count: number }[]> {
  const { device } = ex.gpu;
  const totals = new Map<string, { ms: number; count: number }>();
  const dispatches = ex.dispatches();
  for (let r = 0; r < repeats; r++) {
    for (const d of dispatches) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      d.record(pass);
      pass.end();
      const t = performance.now();
      device.queue.submit([enc.finish()]);
      await awaitGpu(device.queue.onSubmittedWorkDone());
      if (r === 0) continue; // first pass compiles shaders lazily
      const key = d.label.replace(/ @ .*/, "");
      const cur = totals.get(key) ?? { ms: 0, count: 0 };
      cur.ms += performance.now() - t;
      cur.count++;
      totals.set(key, cur);
    }
  }
  return [...totals].map(([label, v]) => ({ label, ms: v.ms / (repeats - 1), count: v.count / (repeats - 1) })).sort((a, b) => b.ms - a.ms);
}

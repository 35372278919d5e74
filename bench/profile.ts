// Per-kernel time of a compiled program, grouped by label. With 'timestamp-query' each dispatch
// runs in its own timed pass and the whole step is one submit, so the figures are GPU time
// (runtime/timestamps.ts); without it every dispatch is submitted and awaited on its own and
// timed by wall clock, which includes submit overhead. For finding hot spots. Each
// stand-alone kernel (an unfused elementwise kernel or reduction pass) comes with the
// compiler's reasons for leaving it alone.
import type { Executable } from "../runtime/executable.ts";
import { timeDispatches } from "../runtime/timestamps.ts";
import { awaitGpu } from "../runtime/wait.ts";

export interface ProfileRow {
  label: string;
  ms: number;
  count: number;
  /** why the dispatches of this label stand alone (node ids and names left out), with how many say so */
  why: Map<string, number>;
  /** "gpu": timestamp queries; "wall": submit-to-done wall clock of each dispatch alone */
  source?: "gpu" | "wall";
}

/** Milliseconds of each dispatch of the step (program order), averaged over `repeats` − 1 runs
 * after a first that compiles shaders lazily; "wall" when any was timed by wall clock. */
export async function dispatchTimes(ex: Executable, repeats = 2): Promise<{ ms: number[]; source: "gpu" | "wall" }> {
  const { device } = ex.gpu;
  const dispatches = ex.dispatches();
  const records = dispatches.map((d) => (pass: GPUComputePassEncoder) => d.record(pass));
  const ms = dispatches.map(() => 0);
  let source: "gpu" | "wall" = "gpu";
  for (let r = 0; r < repeats; r++) {
    // GPU time per dispatch when the device has timestamps (undefined otherwise)
    const gpu = await timeDispatches(device, records);
    for (const [k, d] of dispatches.entries()) {
      let t = (gpu?.[k] ?? NaN) * 1000;
      if (!(t > 0)) {
        source = "wall";
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        d.record(pass);
        pass.end();
        const t0 = performance.now();
        device.queue.submit([enc.finish()]);
        await awaitGpu(device.queue.onSubmittedWorkDone());
        t = performance.now() - t0;
      }
      if (r > 0) ms[k] += t / (repeats - 1);
    }
  }
  return { ms, source };
}

/** Per-label totals of `dispatchTimes`, costliest first, with each stand-alone kernel's reasons. */
export async function profileDispatches(ex: Executable, repeats = 2): Promise<ProfileRow[]> {
  const { ms, source } = await dispatchTimes(ex, repeats);
  // the program's dispatch steps, in the same order as the executable's dispatches
  const steps = ex.program.steps.filter((s) => s.kind === "dispatch");
  const totals = new Map<string, ProfileRow>();
  ex.dispatches().forEach((d, k) => {
    const label = d.label.replace(/ @ .*/, "");
    const row = totals.get(label) ?? { label, ms: 0, count: 0, why: new Map(), source };
    row.ms += ms[k];
    row.count++;
    const why = steps[k]?.kind === "dispatch" ? steps[k].why : undefined;
    if (why) {
      const key = why.replace(/ #\d+/g, "").replace(/'[^']*'/g, "'…'");
      row.why.set(key, (row.why.get(key) ?? 0) + 1);
    }
    totals.set(label, row);
  });
  return [...totals.values()].sort((a, b) => b.ms - a.ms);
}

/** The `top` costliest rows as text; a stand-alone kernel's reasons follow on lines of their own. */
export function formatProfile(rows: ProfileRow[], top = 15): string[] {
  const lines: string[] = [];
  for (const r of rows.slice(0, top)) {
    lines.push(`${r.ms.toFixed(1).padStart(9)} ms ${String(r.count).padStart(4)}×  ${r.label.slice(0, 100)}`);
    for (const [why, n] of [...r.why].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
      lines.push(`${"".padStart(20)}↳ ${n}× ${why.slice(0, 160)}`);
    }
  }
  return lines;
}

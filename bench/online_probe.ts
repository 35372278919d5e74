// What the online linear probe (step/online_probe.ts) costs: the default Barlow Twins run's step
// (pipelines/barlow.ts, Fashion-MNIST's 1×28×28 and 10 classes) built with and without the probe,
// timed back to back in alternating order on the same warm device, so that a shared machine's
// load falls on both alike: both medians and the median of the per-pair ratios. Then, with GPU
// timestamps, the probe's own dispatches as a share of the step that has them.
//   deno run -A bench/online_probe.ts [--pairs N] [--steps K]
import { parseArgs } from "node:util";
import { spec } from "../pipelines/barlow.ts";
import { getGpu } from "../runtime/device.ts";
import { timeDispatches } from "../runtime/timestamps.ts";
import { benchStep } from "./step.ts";

const { values } = parseArgs({
  options: { pairs: { type: "string", default: "8" }, steps: { type: "string", default: "3" } },
});
const pairs = Number(values.pairs), steps = Number(values.steps);
const gpu = await getGpu();
const image = { c: 1, h: 28, w: 28 };
const off = await benchStep(gpu, spec, image, 0);
const on = await benchStep(gpu, spec, image, 0, { probe: { classes: 10 } });
console.log(`adapter: ${gpu.description}; batch ${spec.batch}`);
console.log(`without the probe: ${off.description}`);
console.log(`with the probe:    ${on.description}`);

/** ms of `steps` steps, each waited for */
async function time(b: typeof on): Promise<number> {
  const t0 = performance.now();
  for (let k = 0; k < steps; k++) await b.run();
  return performance.now() - t0;
}
await time(off); // warm-up: shader compilation
await time(on);
const ms: { off: number; on: number }[] = [];
for (let p = 0; p < pairs; p++) {
  // alternate which goes first, so a drift in the machine's load does not favour one
  const first = p % 2 ? on : off;
  const a = await time(first), b = await time(first === on ? off : on);
  ms.push(first === on ? { on: a, off: b } : { off: a, on: b });
}
const median = (v: number[]) => {
  const s = [...v].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const perStep = (v: number) => (v / steps / 1000).toFixed(3);
const offMs = median(ms.map((m) => m.off)), onMs = median(ms.map((m) => m.on));
const ratio = median(ms.map((m) => m.on / m.off));
console.log(`${pairs} pairs of ${steps} steps: without ${perStep(offMs)} s/step, with ${perStep(onMs)} s/step`);
console.log(`ratio with/without (median of pairs): ${ratio.toFixed(4)} (${((ratio - 1) * 100).toFixed(2)}%)`);
console.log(`pair ratios: ${ms.map((m) => (m.on / m.off).toFixed(3)).join(" ")}`);

// GPU time of each dispatch (timestamp queries, each dispatch in its own pass, the step's order):
// the probe's share of the step with it, summed over `pairs` timed runs after a warm-up. The
// probe's dispatches are those labelled with its scope, plus those the step has beyond the
// step without it by label (the labels' gather, labelled like the images'; the smaller ones).
const dispatches = on.executable.dispatches();
const extra = new Map<string, number>();
for (const d of dispatches) extra.set(d.label, (extra.get(d.label) ?? 0) + 1);
for (const d of off.executable.dispatches()) extra.set(d.label, (extra.get(d.label) ?? 0) - 1);
const sums = new Float64Array(dispatches.length);
for (let r = 0; r <= pairs; r++) {
  const t = await timeDispatches(gpu.device, dispatches.map((d) => (pass: GPUComputePassEncoder) => d.record(pass)));
  if (!t) break;
  if (r > 0) t.forEach((s, k) => (sums[k] += s));
}
if (sums.some((s) => s > 0)) {
  const probe = new Set<number>();
  dispatches.forEach((d, k) => d.label.includes("@ online_probe") && probe.add(k));
  for (const [label, n] of extra) {
    if (n <= 0 || label.includes("@ online_probe")) continue;
    const ks = dispatches.map((d, k) => (d.label === label ? k : -1)).filter((k) => k >= 0);
    ks.sort((a, b) => sums[a] - sums[b]).slice(0, n).forEach((k) => probe.add(k));
  }
  const all = sums.reduce((a, s) => a + s, 0), mine = [...probe].reduce((a, k) => a + sums[k], 0);
  console.log(
    `GPU time per step (timestamps, ${pairs} runs): ${(all / pairs * 1000).toFixed(1)} ms in ${dispatches.length} ` +
      `dispatches, of which the probe's ${probe.size}: ${(mine / pairs * 1000).toFixed(2)} ms = ${
        (mine / all * 100).toFixed(2)
      }% of the step`,
  );
}
off.destroy();
on.destroy();

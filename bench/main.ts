// `deno task bench`: tinybench over the shared kernels and the whole Barlow Twins step.
// Prints GFLOP/s (matmul, conv2d), GB/s (a fused elementwise chain), the cost of a dispatch,
// and seconds per BT step, and writes bench/results.json. Run it on an otherwise idle machine.
// --quick: fewer iterations; --profile: also time the BT step's dispatches one by one and list
// the kernels that take the most time (each submitted alone, so submit overhead is included).
import { writeFileSync } from "node:fs";
import { Bench } from "tinybench";
import { getGpu } from "../runtime/device.ts";
import { benchConv } from "./conv.ts";
import { dispatchChain, fusedChain } from "./elementwise.ts";
import { MATMUL_CASES, matmulBench } from "./matmul_graph.ts";
import { profileDispatches } from "./profile.ts";
import { btStep } from "./step.ts";

const quick = Deno.args.includes("--quick");
const gpu = await getGpu();
console.log(`adapter: ${gpu.description}`);
const results: Record<string, unknown> = { adapter: gpu.description, date: new Date().toISOString() };

/** median ms of a task run `iterations` times after one warm-up (shader compilation) */
async function median(name: string, fn: () => Promise<void>, iterations: number): Promise<number> {
  await fn();
  const bench = new Bench({ iterations, time: 0, warmup: false });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result as { latency?: { p50: number } };
  if (!r.latency) throw new Error(`${name}: benchmark failed`);
  return r.latency.p50;
}

for (const c of MATMUL_CASES) {
  const m = await matmulBench(gpu, c);
  const ms = await median(c.name, m.run, quick ? 2 : 5);
  const gflops = m.gflop / (ms / 1000);
  console.log(`matmul ${c.name.padEnd(36)} ${gflops.toFixed(1).padStart(7)} GFLOP/s  (${m.kernel})`);
  results[`matmul_${c.M}x${c.N}x${c.K}_gflops`] = round(gflops);
  if (c.M === 1024 && c.N === 1024 && c.K === 1024) results.matmul_1024_gflops = round(gflops);
  m.destroy();
}

for (const r of await benchConv(gpu.device, quick ? { iterations: 2 } : {})) {
  console.log(`${r.name.padEnd(44)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s  (${r.variant}, ${r.ms.toFixed(1)} ms)`);
  results[`conv_${r.name.split(" (")[0].replace(/\W+/g, "_")}_gflops`] = round(r.gflops);
}

const ew = await fusedChain(gpu);
const ewMs = await median("fused elementwise", ew.run, quick ? 3 : 10);
const gbs = ew.bytes / (ewMs / 1000) / 1e9;
console.log(`fused elementwise chain (${ew.dispatches} kernels, 4M elements) ${gbs.toFixed(2)} GB/s`);
results.fused_elementwise_gbs = round(gbs);
ew.destroy();

const dc = await dispatchChain(gpu);
const dcMs = await median("dispatch chain", dc.run, quick ? 3 : 10);
console.log(`dispatch overhead: ${(dcMs * 1000 / dc.dispatches).toFixed(1)} µs per tiny dependent dispatch (${dc.dispatches} in one submit)`);
results.dispatch_us = round(dcMs * 1000 / dc.dispatches);
dc.destroy();

const bt = await btStep(gpu);
console.log(`BT step: ${bt.description}`);
const btMs = await median("bt step", bt.run, quick ? 2 : 5);
console.log(`Barlow Twins step (batch 256, 784→1024→1024, 1024→2048→2048, LARS): ${(btMs / 1000).toFixed(2)} s (${(bt.gflop / (btMs / 1000)).toFixed(1)} GFLOP/s of matmul)`);
results.bt_step_seconds = round(btMs / 1000, 3);
if (Deno.args.includes("--profile")) {
  const rows = await profileDispatches(bt.executable);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`BT step kernels, each dispatch submitted alone (sum ${total.toFixed(0)} ms); the 15 costliest:`);
  for (const r of rows.slice(0, 15)) {
    console.log(`${r.ms.toFixed(1).padStart(9)} ms ${String(r.count).padStart(4)}×  ${r.label.slice(0, 100)}`);
  }
}
bt.destroy();

writeFileSync(new URL("./results.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
console.log("wrote bench/results.json");

function round(v: number, d = 2) {
  return Math.round(v * 10 ** d) / 10 ** d;
}

// `deno task bench`: tinybench over the shared kernels and the whole Barlow Twins step.
// Prints GFLOP/s (matmul, conv2d), GB/s (a fused elementwise chain), the cost of a dispatch,
// and seconds per BT step, and writes bench/results.json. Run it on an otherwise idle machine.
// --quick: fewer iterations; --profile: also time the BT step's dispatches one by one and list
// the kernels that take the most time (each submitted alone, so submit overhead is included),
// and the ResNet-18 and small-CNN steps' time per kernel family (bench/profile_families.ts) and
// their convolutions by layer shape (bench/profile_convs.ts).
// --conv-steps: only the stand-alone convolutions and the two convolutional steps (ResNet-18 and
// the small CNN) with their figures: seconds per step, dispatches per step, effective GFLOP/s of
// their convolutions and matmuls.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Bench } from "tinybench";
import { getGpu } from "../runtime/device.ts";
import { benchConv } from "./conv.ts";
import { dispatchChain, fusedChain } from "./elementwise.ts";
import { MATMUL_CASES, matmulBench } from "./matmul_graph.ts";
import { dispatchTimes, formatProfile, profileDispatches } from "./profile.ts";
import { familyProfile, formatFamilies } from "./profile_families.ts";
import { convShapeProfile, formatConvShapes } from "./profile_convs.ts";
import type { StepBench } from "./step.ts";
import { cnnBtStep } from "./cnn_step.ts";
import { btStep } from "./step.ts";
import { loopFigures, soak } from "./loop.ts";
import { resnetBtStep } from "./resnet_step.ts";

const quick = Deno.args.includes("--quick");
const profile = Deno.args.includes("--profile");
const convOnly = Deno.args.includes("--conv-steps");
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

if (!convOnly) {
  for (const c of MATMUL_CASES) {
    const m = await matmulBench(gpu, c);
    const ms = await median(c.name, m.run, quick ? 2 : 5);
    const gflops = m.gflop / (ms / 1000);
    console.log(`matmul ${c.name.padEnd(36)} ${gflops.toFixed(1).padStart(7)} GFLOP/s  (${m.kernel})`);
    results[`matmul_${c.M}x${c.N}x${c.K}_gflops`] = round(gflops);
    if (c.M === 1024 && c.N === 1024 && c.K === 1024) results.matmul_1024_gflops = round(gflops);
    m.destroy();
  }
}

// the stand-alone convolutions, the figure the conv steps' effective GFLOP/s compare with
for (const r of await benchConv(gpu.device, quick ? { iterations: 2 } : {})) {
  console.log(`${r.name.padEnd(44)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s  (${r.variant}, ${r.ms.toFixed(1)} ms)`);
  results[`conv_${r.name.split(" (")[0].replace(/\W+/g, "_")}_gflops`] = round(r.gflops);
}

if (!convOnly) {
  const ew = await fusedChain(gpu);
  const ewMs = await median("fused elementwise", ew.run, quick ? 3 : 10);
  const gbs = ew.bytes / (ewMs / 1000) / 1e9;
  console.log(`fused elementwise chain (${ew.dispatches} kernels, 4M elements) ${gbs.toFixed(2)} GB/s`);
  results.fused_elementwise_gbs = round(gbs);
  ew.destroy();

  const dc = await dispatchChain(gpu);
  const dcMs = await median("dispatch chain", dc.run, quick ? 3 : 10);
  console.log(
    `dispatch overhead: ${
      (dcMs * 1000 / dc.dispatches).toFixed(1)
    } µs per tiny dependent dispatch (${dc.dispatches} in one submit)`,
  );
  results.dispatch_us = round(dcMs * 1000 / dc.dispatches);
  dc.destroy();

  const bt = await btStep(gpu);
  console.log(`BT step: ${bt.description}`);
  const btMs = await median("bt step", bt.run, quick ? 2 : 5);
  console.log(
    `Barlow Twins step (batch 256, 784→1024→1024, 1024→2048→2048, LARS): ${(btMs / 1000).toFixed(2)} s (${
      (bt.gflop / (btMs / 1000)).toFixed(1)
    } GFLOP/s of matmul)`,
  );
  results.bt_step_seconds = round(btMs / 1000, 3);
  if (profile) {
    const rows = await profileDispatches(bt.executable);
    const total = rows.reduce((a, r) => a + r.ms, 0);
    const how = rows.every((r) => r.source === "gpu")
      ? "GPU timestamps per dispatch"
      : "each dispatch submitted alone, wall clock";
    console.log(`BT step kernels, ${how} (sum ${total.toFixed(0)} ms); the 15 costliest, ↳ why a kernel stands alone:`);
    for (const line of formatProfile(rows, 15)) console.log(line);
  }
  bt.destroy();
}

// the two convolutional steps: seconds, dispatches, effective GFLOP/s of their convs and matmuls
// (next to the stand-alone conv figures above), and with --profile the time per kernel family
async function convStep(key: string, title: string, make: () => Promise<StepBench>, iterations: number) {
  const st = await make();
  console.log(`${title}: ${st.description}`);
  const ms = await median(key, st.run, iterations);
  console.log(
    `${title}: ${(ms / 1000).toFixed(2)} s per step, ${st.dispatches} dispatches, ${
      (st.gflop / (ms / 1000)).toFixed(1)
    } GFLOP/s effective (${st.gflop.toFixed(1)} GFLOP of convolutions and matmuls)`,
  );
  results[`${key}_step_seconds`] = round(ms / 1000, 3);
  results[`${key}_dispatches_per_step`] = st.dispatches;
  results[`${key}_step_gflops`] = round(st.gflop / (ms / 1000));
  if (profile) {
    const t = await dispatchTimes(st.executable);
    const how = t.source === "gpu" ? "GPU timestamps per dispatch" : "each dispatch submitted alone, wall clock";
    console.log(`${title}, time per kernel family (${how}; a shared machine makes these noisy: read the shares):`);
    const maxSb = gpu.device.limits.maxStorageBuffersPerShaderStage;
    for (const line of formatFamilies(familyProfile(st.graph, st.executable.program, t.ms, maxSb))) console.log(line);
    console.log(`${title}, the convolutions by layer shape:`);
    for (const line of formatConvShapes(convShapeProfile(st.graph, st.executable.program, t.ms))) console.log(line);
  }
  st.destroy();
}
await convStep(
  "resnet18_bt",
  "Barlow Twins step, ResNet-18 CIFAR stem (batch 32, 3×32×32, projector 2048-2048, LARS)",
  () => resnetBtStep(gpu),
  quick ? 2 : 3,
);
results.resnet18_dispatches_per_step = results.resnet18_bt_dispatches_per_step;
delete results.resnet18_bt_dispatches_per_step;
console.log(`resnet18_dispatches_per_step ${results.resnet18_dispatches_per_step}`);
await convStep(
  "cnn_bt",
  "Barlow Twins step, small CNN 32-64-128 (batch 256, 1×28×28, projector 1024-1024, LARS)",
  () => cnnBtStep(gpu),
  quick ? 2 : 3,
);
console.log(`cnn_dispatches_per_step ${results.cnn_bt_dispatches_per_step}`);

if (!convOnly) {
  // the real training loop: how often it waits and what it uploads, and whether its footprint stays flat
  const lf = await loopFigures();
  console.log(
    `training loop, 100 steps of the reference model: ${lf.waitsPer100Steps.toFixed(1)} waits per 100 steps, ` +
      `${lf.uploadBytesPerStep.toFixed(0)} bytes uploaded per step (plus the ${
        (lf.dataBytes / 2 ** 20).toFixed(1)
      } MiB data set once), ${(lf.seconds / lf.steps).toFixed(2)} s per step`,
  );
  results.loop_waits_per_100_steps = round(lf.waitsPer100Steps, 1);
  results.loop_upload_bytes_per_step = round(lf.uploadBytesPerStep, 0);
  results.loop_data_upload_bytes = lf.dataBytes;
  results.loop_seconds_per_step = round(lf.seconds / lf.steps, 3);
  const sk = await soak(gpu, quick ? 2000 : 10_000);
  console.log(
    `soak, ${sk.steps} steps of a tiny SimCLR in ${sk.seconds.toFixed(0)} s: RSS ${sk.rssAfterWarmupMb.toFixed(0)} → ${
      sk.rssEndMb.toFixed(0)
    } MB after warm-up ` +
      `(fitted growth ${
        sk.rssGrowthMbPer10kSteps.toFixed(1)
      } MB per 10k steps), live GPU buffers ${sk.liveBuffersAfterWarmup} → ${sk.liveBuffersEnd}`,
  );
  results.soak_rss_growth_mb_per_10k_steps = round(sk.rssGrowthMbPer10kSteps, 1);
  results.soak_live_gpu_buffers = [sk.liveBuffersAfterWarmup, sk.liveBuffersEnd];
}

// a fresh file: ratios against PyTorch are added by bench/peers.sh, measured in the same run
// (--conv-steps updates only its own figures in the file)
const file = new URL("./results.json", import.meta.url);
const merged = convOnly && existsSync(file) ? { ...JSON.parse(readFileSync(file, "utf8")), ...results } : results;
writeFileSync(file, JSON.stringify(merged, null, 2) + "\n");
console.log("wrote bench/results.json");

function round(v: number, d = 2) {
  return Math.round(v * 10 ** d) / 10 ** d;
}

// `deno task bench-browser`: the reference Barlow Twins step (bench/step.ts: batch 256, two views,
// 784→1024→1024, 1024→2048→2048, BT loss, LARS) timed in a page of headless Chromium on each of
// its WebGPU adapters (SwiftShader; lavapipe through ANGLE in compatibility mode), and the same
// step under Deno (Dawn on lavapipe) in the same invocation, so the ratios compare one machine at
// one time. Adds to bench/results.json (keeping its other entries):
//   browser_bt_step_seconds_swiftshader, browser_bt_step_seconds_compat, browser_deno_bt_step_seconds,
//   browser_bt_step_vs_deno_swiftshader, browser_bt_step_vs_deno_compat   (page seconds / Deno seconds)
// Run it on an otherwise idle machine.
//   --iterations N   timed steps per figure after a warm-up step (default 5; the median is kept)
//   --tiny           a 32-wide model at batch 32, 1 iteration: checks the script, writes nothing
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { FlagError, intValue, splitArgs } from "../dsl/flags.ts";
import { getGpu } from "../runtime/device.ts";
import type { AdapterConfig } from "../tests/util/browser.ts";
import { withCheckPage } from "../tests/util/check_page.ts";
import { btStep } from "./step.ts";

const RESULTS = new URL("./results.json", import.meta.url);
const CONFIGS: [AdapterConfig, string][] = [["swiftshader", "swiftshader"], ["compat-lavapipe", "compat"]];

const FLAGS = [{ name: "iterations", arg: "N" }, { name: "tiny" }];

/** The flags, through the project's flag parser (dsl/flags.ts): a bad one is named, exit 2. */
function options(args: string[]): { iterations: number; tiny: boolean } {
  try {
    const { values } = splitArgs(args, FLAGS);
    const tiny = values.has("tiny");
    const iterations = values.has("iterations") ? intValue("--iterations", values.get("iterations")!, 1) : 5;
    return { iterations: tiny ? 1 : iterations, tiny };
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`error: ${e.message}\nusage: deno task bench-browser [--iterations N] [--tiny]`);
    Deno.exit(2);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

const { iterations, tiny } = options(Deno.args);
// the page calls btStep with this too (web/train_check.ts benchStep), so both time one shape
const shape: { batch?: number; encoder?: number[]; proj?: number[]; iterations: number } = tiny
  ? { batch: 32, encoder: [32, 32], proj: [32, 32], iterations }
  : { iterations };

const gpu = await getGpu();
const bt = await btStep(gpu, shape);
let denoSeconds: number;
try {
  await bt.run();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await bt.run();
    times.push((performance.now() - t) / 1000);
  }
  denoSeconds = median(times);
} finally {
  bt.destroy();
}
console.log(`Deno, ${gpu.description}: ${denoSeconds.toFixed(3)} s per BT step`);

const figures: Record<string, number> = { browser_deno_bt_step_seconds: round(denoSeconds) };
for (const [config, key] of CONFIGS) {
  const r = await withCheckPage(config, (call) => call("benchStep", shape));
  const s = median(r.seconds);
  console.log(
    `page (${config}), ${r.adapter}: ${s.toFixed(3)} s per BT step, ${(s / denoSeconds).toFixed(2)}× Deno's`,
  );
  figures[`browser_bt_step_seconds_${key}`] = round(s);
  figures[`browser_bt_step_vs_deno_${key}`] = round(s / denoSeconds, 2);
}

if (tiny) {
  console.log("--tiny: bench/results.json left as it was");
} else {
  const results = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
  writeFileSync(RESULTS, JSON.stringify({ ...results, ...figures }, null, 2) + "\n");
  console.log(`added ${Object.keys(figures).join(", ")} to bench/results.json`);
}

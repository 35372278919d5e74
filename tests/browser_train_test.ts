// Training in a real browser (issue #16): the training check page (web/train_check.ts) trains a
// small Barlow Twins spec on the synthetic set in headless Chromium, with the same spec, compiler
// and WGSL as Deno, and the same initial weights (initialised from the spec's seed). Its per-step
// losses must be Deno's, and a checkpoint must carry a run across: one saved in the page continues
// in Deno, one saved in Deno continues in the page, both on the uninterrupted run's losses.
//
// Tolerance (LOSS_RTOL): the page's adapters are not Deno's Dawn-on-lavapipe. lavapipe through
// ANGLE in compatibility mode has no subgroups (other matmul kernels) and runs WGSL translated to
// GLSL; SwiftShader is another CPU backend (its own exp/log/sqrt). Sums may run in another order and
// round differently, and 20 training steps carry the differences forward. Measured on this spec
// (f32 ulp of the loss: 2^-24 relative = 6e-8):
//   Deno with vs without the subgroup matmul kernels:              bit for bit (same k order)
//   page on compat-lavapipe vs Deno:                                bit for bit
//   page on SwiftShader vs Deno:                                    ≤ 1.4e-7 relative (2 ulp)
//   Deno from initial weights nudged by 1 ulp (every other one):    ≤ 2.4e-7 relative at any step
// so a rounding-level difference stays rounding-level over 20 steps. The tolerance, 2e-6 (~30
// ulp), is 8× the largest of these; the subtlest defect tried, a resume that loses the LARS
// momentum, moves the losses by up to 2.4e-4 relative (120× the tolerance). The last test keeps
// both ends measured: the 1-ulp nudge must stay within a quarter of it, the defect 10× above it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHECKPOINT_FILE } from "../io/checkpoint.ts";
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../io/safetensors.ts";
import { train } from "../train/trainer.ts";
import type { TrainReply, TrainRequest } from "../web/train_check.ts";
import { CHROMIUM } from "./util/browser.ts";
import { type CheckCall, withCheckPage } from "./util/check_page.ts";
import { smallPipeline } from "./util/small_pipeline.ts";
import type { PipelineSpec } from "../dsl/schema.ts";

const LOSS_RTOL = 2e-6;
const STEPS = 20, STOP = 10;

const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** 10 of the 31 steps of an epoch: the resume point lies mid-epoch, the warmup is over before it. */
const smallBarlow = (): Promise<PipelineSpec> =>
  smallPipeline("barlow", { img: 16, batch: 32, steps: STEPS, warmup: 2 }, ["--encoder", "mlp:64", "--proj", "64,32"]);

const quiet = () => {};

/** Deno's run of `spec`: losses by step, and the checkpoint it ends with. */
async function denoRun(
  spec: PipelineSpec,
  o: { stopAfter?: number; resume?: Uint8Array } = {},
): Promise<{ losses: Map<number, number>; checkpoint: Uint8Array }> {
  const out = await Deno.makeTempDir({ prefix: "browser_train_test_" });
  try {
    let resume: string | undefined;
    if (o.resume) {
      resume = join(out, "from.safetensors");
      await Deno.writeFile(resume, o.resume);
    }
    const run = await train({ spec, out: join(out, "run"), logEvery: 1, log: quiet, stopAfter: o.stopAfter, resume });
    run.dispose();
    return {
      losses: new Map(run.losses.map((l) => [l.step, l.loss])),
      checkpoint: await Deno.readFile(join(out, "run", CHECKPOINT_FILE)),
    };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

const toBase64 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};
const fromBase64 = (t: string) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));

/** The page's run of the request (window.sslCheck.train), with its losses by step. */
async function pageRun(call: CheckCall, req: TrainRequest): Promise<TrainReply & { byStep: Map<number, number> }> {
  const r = await call("train", req);
  return { ...r, byStep: new Map(r.steps.map((s, i) => [s, r.losses[i]])) };
}

/** Every step of `want` from `from` on is in `got`, within LOSS_RTOL; returns the worst relative difference. */
function assertLosses(got: Map<number, number>, want: Map<number, number>, from: number, what: string): number {
  const steps = [...want.keys()].filter((s) => s >= from);
  assert.deepEqual([...got.keys()], steps, `${what}: steps`);
  let worst = 0;
  for (const s of steps) {
    const g = got.get(s)!, w = want.get(s)!;
    const rel = Math.abs(g - w) / Math.abs(w);
    assert.ok(Number.isFinite(g) && rel <= LOSS_RTOL, `${what}: step ${s}: loss ${g}, Deno ${w} (relative ${rel})`);
    worst = Math.max(worst, rel);
  }
  return worst;
}

Deno.test({
  name: "lavapipe in compatibility mode: the page's losses are Deno's; checkpoints resume page → Deno and Deno → page",
  ignore: !haveChromium,
  fn: async () => {
    const spec = await smallBarlow();
    const straight = await denoRun(spec);
    const denoHalf = await denoRun(spec, { stopAfter: STOP });
    assert.equal(straight.losses.size, STEPS);
    await withCheckPage("compat-lavapipe", async (call) => {
      const whole = await pageRun(call, { spec });
      assert.match(whole.adapter, /llvmpipe/);
      assert.equal(whole.subgroups, false); // other matmul kernels than Deno's
      assert.equal(whole.endStep, STEPS);
      const parity = assertLosses(whole.byStep, straight.losses, 0, "page, 20 steps");

      // page → Deno: the page's checkpoint at step 10 continues in Deno
      const pageHalf = await pageRun(call, { spec, stopAfter: STOP });
      assert.equal(pageHalf.endStep, STOP);
      const inDeno = await denoRun(spec, { resume: fromBase64(pageHalf.checkpoint) });
      const toDeno = assertLosses(inDeno.losses, straight.losses, STOP, "page checkpoint resumed in Deno");

      // Deno → page: Deno's checkpoint at step 10 continues in the page
      const inPage = await pageRun(call, { spec, resume: toBase64(denoHalf.checkpoint) });
      assert.equal(inPage.endStep, STEPS);
      const toPage = assertLosses(inPage.byStep, straight.losses, STOP, "Deno checkpoint resumed in the page");
      console.log(`worst relative loss difference: parity ${parity}, page→Deno ${toDeno}, Deno→page ${toPage}`);
    });
  },
});

Deno.test({
  name: "SwiftShader: the page's losses over 20 steps are Deno's",
  ignore: !haveChromium,
  fn: async () => {
    const spec = await smallBarlow();
    const straight = await denoRun(spec);
    await withCheckPage("swiftshader", async (call) => {
      const whole = await pageRun(call, { spec });
      assert.match(whole.adapter, /SwiftShader/);
      assert.equal(whole.subgroups, false); // its subgroups have 4 lanes: too few for the subgroup kernels
      const parity = assertLosses(whole.byStep, straight.losses, 0, "page on SwiftShader, 20 steps");
      console.log(`worst relative loss difference on SwiftShader: ${parity}`);
    });
  },
});

/** `ck` with every tensor whose name matches `which` changed by `edit` (a copy). */
function editCheckpoint(ck: Uint8Array, which: RegExp, edit: (t: TensorEntry) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(ck);
  for (const [name, t] of Object.entries(tensors)) if (which.test(name)) edit(t);
  return encodeSafetensors(tensors, metadata);
}

/** The worst relative difference of `got` from `want` over the steps of `want` from `from` on. */
function worstDifference(got: Map<number, number>, want: Map<number, number>, from: number): number {
  let worst = 0;
  for (const [s, w] of want) if (s >= from) worst = Math.max(worst, Math.abs(got.get(s)! - w) / Math.abs(w));
  return worst;
}

Deno.test("the tolerance: a 1-ulp nudge of the initial weights stays inside it, a resume that loses LARS momentum does not", async () => {
  const spec = await smallBarlow();
  const straight = await denoRun(spec);
  // rounding: every other nonzero value of the initial state one ulp up (as if summed in another order)
  const start = await denoRun(spec, { stopAfter: 0 });
  const nudged = editCheckpoint(start.checkpoint, /./, (t) => {
    const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < bits.length; i += 2) if (t.data[i] !== 0) bits[i] += 1;
  });
  const rounding = worstDifference((await denoRun(spec, { resume: nudged })).losses, straight.losses, 0);
  assert.ok(rounding > 0 && rounding <= LOSS_RTOL / 4, `a 1-ulp nudge moved the losses by ${rounding}`);
  // a defect: the checkpoint at step 10 without the optimizer's momentum
  const half = await denoRun(spec, { stopAfter: STOP });
  const lost = editCheckpoint(half.checkpoint, /\.momentum$/, (t) => t.data.fill(0));
  const defect = worstDifference((await denoRun(spec, { resume: lost })).losses, straight.losses, STOP);
  assert.ok(defect > 10 * LOSS_RTOL, `losing the momentum moved the losses by only ${defect}`);
  console.log(`1-ulp nudge: ${rounding}; momentum lost on resume: ${defect}; tolerance ${LOSS_RTOL}`);
});

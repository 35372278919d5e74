// Method-level checks: every reference recipe (dsl/presets.ts) at tiny sizes is lowered
// (step/forward_graph.ts), given its training step (step/training.ts), compiled, and run on the
// GPU; the float64 CPU reference runs the same graph from the same initial values, images and
// per-step scalars. Then the method-specific state: MoCo's FIFO queue and EMA key encoder,
// BYOL's EMA with the cosine τ, that EMA targets and stopGrad'd branches get no gradient, and
// that every dispatch of every pipeline comes from the shared op table (docs/architecture.md, decision 3).
import { evaluate, step as cpuStep } from "../cpu/reference.ts";
import { grad } from "../ir/autodiff.ts";
import { compile, fusionPlanOf } from "../compiler/compile.ts";
import { type ForwardGraph, forwardGraph } from "../step/forward_graph.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { parseFlags } from "../dsl/cli.ts";
import { defaultEncoder, presets } from "../dsl/presets.ts";
import { add, barlowTwins, branch, cnn } from "../dsl/builders.ts";
import { validateSpec } from "../step/validate.ts";
import { assertClose } from "./util/check.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { OPS } from "../kernels/registry.ts";
import { size } from "../kernels/op.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { trainingGraph } from "../step/build.ts";

// Odd, non-power-of-two sizes throughout: batch 10, 1×8×8 images, encoder 64 → 19,
// projector 19 → 17 → 11, predictors 11 → 13 (BYOL) / 7 (SimSiam bottleneck) → 11, cluster
// head 19 → 13 → 5 (Contrastive Clustering).
const B = 10, IMG = 8, STEPS = 4;
const SHAPE = { c: 1, h: IMG, w: IMG };
const common = {
  data: "synthetic",
  imageSize: IMG,
  encoder: defaultEncoder([19]),
  proj: [17, 11],
  batch: B,
  epochs: 1,
  steps: STEPS,
  warmupEpochs: 0,
  seed: 5,
};
const TINY: Record<string, () => PipelineSpec> = {
  barlowTwins: () => presets.barlowTwins(common),
  barlowMean: () => presets.barlowMean(common),
  simclr: () => presets.simclr(common),
  mocoV2: () => presets.mocoV2({ ...common, queue: 3 * B }),
  // the preset's LARS (η 1e-3) moves weights by ~lr·1e-3 of their norm: a large lr makes the EMA check see them move
  byol: () => presets.byol({ ...common, pred: [13, 11], tau: 0.9, lr: 10 }),
  simsiam: () => presets.simsiam({ ...common, pred: [7, 11] }),
  vicreg: () => presets.vicreg(common),
  // cluster head 19 → 13 → 5 clusters beside the 17 → 11 instance projector
  contrastiveClustering: () => presets.contrastiveClustering({ ...common, clusters: 5, clusterHidden: [13] }),
};
const data = makeSynthetic({ train: STEPS * B, test: 0, size: IMG, classes: 4, seed: 2 });
const batchAt = (s: number) => data.train.images.slice(s * B * IMG * IMG, (s + 1) * B * IMG * IMG);

interface Built {
  spec: PipelineSpec;
  forward: ForwardGraph;
  g: Graph;
  views: string[];
}

/** spec → forward graph (+ views exposed as outputs) → training step */
function build(spec: PipelineSpec): Built {
  const { forward, graph: g } = trainingGraph(spec, SHAPE);
  const views = g.nodes.filter((n) => n.op === "augment").map((n, i) => {
    g.output(`view${i}`, g.t(n.id));
    return `view${i}`;
  });
  return { spec, forward, g, views };
}

/** the step's scalars at step s of a STEPS-step run */
const scalarsAt = (forward: ForwardGraph, s: number) =>
  forward.scalars.plan.values(s, { stepsPerEpoch: STEPS, totalSteps: STEPS });

const l2 = (x: ArrayLike<number>) => diffNorm(x, new Float64Array(x.length));
function diffNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * GPU and CPU reference side by side, from the same initial values. Reads go through
 * awaitGpu: a cold shader compile awaited with dawn.node's busy poll can stall for minutes on
 * this 2-core CPU adapter (runtime/autotune.ts).
 */
async function pair(b: Built) {
  const gpu = await getGpu();
  const program = compile(b.g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  const init = ex.initPersistent(b.spec.seed);
  const leaves = new Map<string, Float64Array>([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const persistent = [...program.persistent.keys()];
  const readAll = async () => {
    const ids = persistent.map((n) => program.persistent.get(n)!);
    const vals = await awaitGpu(ex.readMany(ids.map((id) => [id, size(program.storages[id].shape!)])));
    return new Map(persistent.map((n, i) => [n, vals[i]]));
  };
  /** one step on both; returns the GPU outputs, the CPU reference outputs and the step's scalars */
  const stepBoth = async (s: number) => {
    const images = batchAt(s);
    const scalars = scalarsAt(b.forward, s);
    ex.write("images", images);
    ex.setScalars(scalars);
    ex.run();
    const names = [...b.g.outputs.keys()];
    const vals = await awaitGpu(ex.readMany(names.map((n) => {
      const o = program.outputs.get(n)!;
      return [o.storage, size(o.shape)];
    })));
    const gpuOut = new Map(names.map((n, i) => [n, vals[i]]));
    leaves.set("images", Float64Array.from(images));
    const cpuOut = cpuStep(b.g, { leaves, scalars });
    return { gpuOut, cpuOut, scalars };
  };
  return { ex, init, leaves, readAll, stepBoth };
}

function assertLoss(what: string, gpu: number, cpu: number) {
  if (!Number.isFinite(cpu) || !(Math.abs(gpu - cpu) <= 2e-4 * Math.max(1, Math.abs(cpu)))) {
    throw new Error(`${what}: loss GPU ${gpu} vs float64 ${cpu}`);
  }
}

// ------------------------------------------------------- one step: GPU vs float64, per method

for (const [method, make] of Object.entries(TINY)) {
  Deno.test(`${method}: one step on the GPU equals the float64 reference (views, loss, every update)`, async () => {
    const b = build(make());
    const p = await pair(b);
    try {
      const { gpuOut, cpuOut } = await p.stepBoth(0);
      // augmentation is a pure function of (images, seed, step, view): identical on both sides
      if (b.views.length !== 2) throw new Error(`expected two augment views, got ${b.views.length}`);
      for (const v of b.views) {
        const d = diffNorm(gpuOut.get(v)!, cpuOut.get(v)!);
        if (d > 1e-5 * Math.sqrt(gpuOut.get(v)!.length)) throw new Error(`${v}: GPU vs reference differ by ${d}`);
      }
      if (!(diffNorm(cpuOut.get("view0")!, cpuOut.get("view1")!) > 0.1)) throw new Error("the two views should differ");
      assertLoss(method, gpuOut.get("loss")![0], cpuOut.get("loss")![0]);

      // every persistent tensor (params, momentum, BN running stats, EMA copies, queues): the
      // change made by the step agrees with the reference's to 1e-3 of its size
      const after = await p.readAll();
      const params = new Set(b.g.params().map((n) => n.attrs.name as string));
      let compared = 0;
      for (const [name, got] of after) {
        const want = p.leaves.get(name)!, before = p.init.get(name)!;
        const moved = diffNorm(want, before);
        // only a bias right before a BatchNorm may stand still: the BN removes it, so its gradient is 0
        const beforeBn = name.endsWith(".linear.bias") &&
          p.leaves.has(name.replace(/linear\.bias$/, "bn.running_mean"));
        if (params.has(name) && !(moved > 0) && !beforeBn) {
          throw new Error(`parameter '${name}' did not move in the reference step`);
        }
        const err = diffNorm(got, want);
        if (err > 1e-3 * moved + 1e-6 * l2(want) + 1e-6) {
          throw new Error(
            `'${name}': GPU update differs from the reference by ${err.toExponential(2)} (update size ${
              moved.toExponential(2)
            })`,
          );
        }
        if (params.has(name)) compared++;
      }
      if (compared !== params.size) throw new Error(`compared ${compared} of ${params.size} parameters`);
    } finally {
      p.ex.destroy();
    }
  });
}

// ------------------------------------------------------------- EMA and queue over several steps

/** after each step: every EMA target = τ·(its value before) + (1 − τ)·(online value after the optimizer step) */
function checkEma(
  b: Built,
  before: Map<string, Float32Array>,
  after: Map<string, Float32Array>,
  tau: number,
  what: string,
) {
  if (!b.forward.ema.length) throw new Error(`${what}: no EMA pairs`);
  let moving = 0;
  for (const e of b.forward.ema) {
    const old = before.get(e.target)!, online = after.get(e.online)!, got = after.get(e.target)!;
    let worst = 0, change = 0;
    for (let i = 0; i < got.length; i++) {
      const want = tau * old[i] + (1 - tau) * online[i];
      worst = Math.max(worst, Math.abs(got[i] - want));
      change = Math.max(change, Math.abs(online[i] - old[i]));
    }
    if (worst > 1e-6) throw new Error(`${what}: '${e.target}' is off τ·old + (1−τ)·online by ${worst}`);
    if (change > 1e-4) moving++;
  }
  // online and EMA weights must differ, or the relation above holds trivially (biases before a BN never move)
  if (moving < b.forward.ema.length / 2) {
    throw new Error(`${what}: only ${moving} of ${b.forward.ema.length} EMA pairs differ from their online weights`);
  }
}

Deno.test("mocoV2: queue is a FIFO of L2-normalized EMA keys; key encoder follows τ·old + (1−τ)·online", async () => {
  const b = build(TINY.mocoV2());
  const [q] = b.forward.queues;
  const K = 3 * B, D = 11;
  if (!q || q.size !== K) throw new Error(`expected one queue of ${K} rows, got ${JSON.stringify(b.forward.queues)}`);
  // the keys (pair.b = k2) are computed from EMA state only: no online parameter feeds them
  const leavesOf = (id: number, seen = new Set<number>()): Set<number> => {
    if (seen.has(id)) return seen;
    seen.add(id);
    for (const i of b.g.nodes[id].inputs) leavesOf(i, seen);
    return seen;
  };
  const feeding = [...leavesOf(b.g.outputs.get("pair.b")!)].map((i) => b.g.nodes[i]).filter((n) =>
    n.op === "param" || n.op === "state"
  );
  const params = feeding.filter((n) => n.op === "param").map((n) => n.attrs.name);
  if (params.length) throw new Error(`keys depend on online parameters ${params.join(", ")}`);
  if (!feeding.some((n) => (n.attrs.name as string).startsWith("ema_q1/"))) {
    throw new Error("keys do not read the EMA weights");
  }

  const p = await pair(b);
  try {
    let before = new Map([...p.init]);
    // the queue starts as random unit keys, like the keys it will hold (MoCo's normalized init)
    const q0 = before.get("queue_keys")!;
    for (let r = 0; r < K; r++) {
      const norm = Math.hypot(...q0.subarray(r * D, (r + 1) * D));
      if (Math.abs(norm - 1) > 1e-6) throw new Error(`initial queue row ${r} has norm ${norm}`);
    }
    for (let s = 0; s < STEPS; s++) {
      const { gpuOut, cpuOut, scalars } = await p.stepBoth(s);
      assertLoss(`step ${s}`, gpuOut.get("loss")![0], cpuOut.get("loss")![0]);
      const after = await p.readAll();
      // FIFO: rows (s·B mod K) … + B − 1 now hold this step's normalized keys; the rest are untouched
      const start = (s * B) % K;
      if (scalars[q.pointer] !== start) {
        throw new Error(`step ${s}: queue pointer ${scalars[q.pointer]}, expected ${start}`);
      }
      const keys = gpuOut.get("pair.b")!, old = before.get(q.name)!, got = after.get(q.name)!;
      const refKeys = cpuOut.get("pair.b")!;
      if (diffNorm(keys, refKeys) > 1e-4 * l2(refKeys)) throw new Error(`step ${s}: keys differ from the reference`);
      for (let r = 0; r < K; r++) {
        const written = (r - start + K) % K < B;
        const row = got.subarray(r * D, (r + 1) * D);
        if (!written) {
          if (row.some((x, j) => x !== old[r * D + j])) {
            throw new Error(`step ${s}: queue row ${r} changed but was not due`);
          }
          continue;
        }
        const k = keys.subarray(((r - start + K) % K) * D, ((r - start + K) % K + 1) * D);
        const nk = l2(k);
        const err = Math.max(...Array.from(row, (x, j) => Math.abs(x - k[j] / nk)));
        if (err > 1e-6) throw new Error(`step ${s}: queue row ${r} is not the normalized key (off by ${err})`);
      }
      const tau = scalars.tau_q1;
      if (tau !== 0.99) throw new Error(`MoCo's τ is constant 0.99, got ${tau}`);
      checkEma(b, before, after, tau, `step ${s}`);
      before = after;
    }
  } finally {
    p.ex.destroy();
  }
});

Deno.test("byol: EMA target follows τ(s) = 1 − (1 − 0.9)(cos(πs/T) + 1)/2 over several steps", async () => {
  const b = build(TINY.byol());
  // the EMA copies cover the target path (encoder + projector), not the predictor
  const online = b.forward.ema.map((e) => e.online);
  if (
    !online.some((n) => n.startsWith("encoder.")) || !online.some((n) => n.startsWith("projector.")) ||
    online.some((n) => n.startsWith("predictor."))
  ) {
    throw new Error(`EMA pairs should cover encoder and projector only: ${online.join(", ")}`);
  }
  const p = await pair(b);
  try {
    let before = new Map([...p.init]);
    for (let s = 0; s < STEPS; s++) {
      const { gpuOut, cpuOut, scalars } = await p.stepBoth(s);
      assertLoss(`step ${s}`, gpuOut.get("loss")![0], cpuOut.get("loss")![0]);
      const tau = 1 - (1 - 0.9) * (Math.cos((Math.PI * s) / STEPS) + 1) / 2;
      if (Math.abs(scalars.tau_p1 - tau) > 1e-12) throw new Error(`step ${s}: τ ${scalars.tau_p1}, expected ${tau}`);
      const after = await p.readAll();
      checkEma(b, before, after, Math.fround(tau), `step ${s}`);
      // and the CPU reference agrees on the EMA weights after several steps
      for (const e of b.forward.ema) {
        const err = diffNorm(after.get(e.target)!, p.leaves.get(e.target)!);
        if (err > 1e-5 * l2(p.leaves.get(e.target)!)) {
          throw new Error(`step ${s}: '${e.target}' GPU vs reference ${err}`);
        }
      }
      before = after;
    }
  } finally {
    p.ex.destroy();
  }
});

// ------------------------------------------------ views stacked along the batch where they share a path

/** Barlow Twins on the small CNN with a third, smaller crop: z1 against z2 and against the 6-px z3. */
function multiCrop(): PipelineSpec {
  const bt = presets.barlowTwins({ ...common, encoder: cnn([3, 4]) });
  const v2 = bt.views[1];
  const path = ["encoder", "projector"];
  return validateSpec({
    ...bt,
    views: [...bt.views, { ...v2, name: "v3", aug: { ...v2.aug, crop: { ...v2.aug.crop!, size: 6 } } }],
    branches: [branch("z1", "v1", path), branch("z2", "v2", path), branch("z3", "v3", path)],
    loss: add(barlowTwins("z1", "z2", 0.0051), barlowTwins("z1", "z3", 0.0051)),
  });
}

Deno.test("views that share a path run stacked: the loss, gradients and updates of one forward per view", () => {
  const specs: [string, PipelineSpec][] = [
    ...Object.entries(TINY).map(([k, f]) => [k, f()] as [string, PipelineSpec]),
    // the convolutional path: BN over [views, N, C, H, W]
    ["barlowTwins (cnn)", presets.barlowTwins({ ...common, encoder: cnn([3, 4]) })],
    ["multi-crop (cnn)", multiCrop()],
  ];
  for (const [name, spec] of specs) {
    const run = (stackViews: boolean) => {
      const forward = forwardGraph(spec, SHAPE, { stackViews });
      const g = forward.graph;
      const params = g.params();
      const grads = grad(g, forward.loss, params.map((n) => g.t(n.id)));
      const leaves = new Map<string, Float64Array>([["images", Float64Array.from(batchAt(1))]]);
      for (const n of g.nodes) {
        if (n.op !== "param" && n.op !== "state") continue;
        const k = n.attrs.name as string;
        leaves.set(k, Float64Array.from({ length: size(n.shape) }, (_, i) => 0.4 * Math.sin(1.3 * i + k.length) + 0.6));
      }
      const vals = evaluate(g, { leaves, scalars: scalarsAt(forward, 1) });
      const out = new Map<string, Float64Array>([["loss", vals[forward.loss.id]]]);
      params.forEach((n, i) => grads[i] && out.set(`d ${n.attrs.name}`, vals[grads[i]!.id]));
      for (const u of g.updates) out.set(`update ${g.nodes[u.target].attrs.name}`, vals[u.value]);
      const viewsStacked = g.nodes.filter((n) => n.op === "concat" && g.nodes[n.inputs[0]].op === "augment").length;
      return { out, viewsStacked };
    };
    const [one, stacked] = [run(false), run(true)];
    // (multi-crop: the two 8-px views stack, the 6-px crop runs alone)
    // every method sends both views through its online (and EMA) modules: the images are stacked once
    if (stacked.viewsStacked !== 1 || one.viewsStacked !== 0) {
      throw new Error(
        `${name}: views stacked ${stacked.viewsStacked} times (${one.viewsStacked} with stackViews false)`,
      );
    }
    if (one.out.size !== stacked.out.size) throw new Error(`${name}: ${one.out.size} vs ${stacked.out.size} values`);
    for (const [k, want] of one.out) {
      // (a bias right before a BN has a gradient of rounding noise, ~1e-20: the floor keeps it out)
      const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
      assertClose(stacked.out.get(k)!, want, { rtol: 1e-9, atol: 1e-10 * scale }, `${name}: ${k}`);
    }
  }
});

// ------------------------------------------------------------------- what gets no gradient

Deno.test("EMA targets and queues are state, not param, and get no gradient", () => {
  for (const method of ["mocoV2", "byol"]) {
    const spec = TINY[method]();
    const { graph: g, loss, ema, queues } = forwardGraph(spec, SHAPE);
    const paramNames = new Set(g.params().map((n) => n.attrs.name as string));
    if ([...paramNames].some((n) => n.startsWith("ema_"))) throw new Error(`${method}: an EMA copy is a param`);
    const targets = ema.map((e) => g.find(e.target)!);
    for (const [i, t] of targets.entries()) {
      const node = g.nodes[t.id];
      if (node.op !== "state") throw new Error(`${method}: '${ema[i].target}' is a ${node.op}, not state`);
      const on = g.find(ema[i].online)!;
      if (!paramNames.has(ema[i].online) || on.shape.join() !== t.shape.join()) {
        throw new Error(`${method}: '${ema[i].target}' does not shadow a param of its shape`);
      }
    }
    const queueStates = queues.map((q) => g.find(q.name)!);
    const grads = grad(g, loss, [...targets, ...queueStates]);
    const got = grads.map((x, i) => (x ? [...ema.map((e) => e.target), ...queues.map((q) => q.name)][i] : "")).filter(
      Boolean,
    );
    if (got.length) throw new Error(`${method}: gradient reaches ${got.join(", ")}`);
    // while every online parameter does get one
    const pg = grad(g, loss, g.params().map((n) => g.t(n.id)));
    const none = g.params().filter((_, i) => !pg[i]).map((n) => n.attrs.name);
    if (none.length) throw new Error(`${method}: no gradient for ${none.join(", ")}`);
  }
});

Deno.test("stopGrad: identity forward, no gradient backward (null when it is the only path)", () => {
  const g = new Graph();
  const x = g.param("x", [3, 5], { kind: "zeros" });
  const both = x.stopGrad().mul(x).sum(); // d/dx = stopGrad(x) = x, not 2x
  const only = x.stopGrad().square().sum(); // no path: null
  const [gb] = grad(g, both, [x]);
  const [go] = grad(g, only, [x]);
  if (go !== null) throw new Error("a loss behind stopGrad only must give a null gradient");
  if (!gb) throw new Error("a loss with a direct path must give a gradient");
  const xv = Float64Array.from({ length: 15 }, (_, i) => 0.3 * i - 2);
  const vals = evaluate(g, { leaves: new Map([["x", xv]]), scalars: {} });
  vals[gb.id].forEach((v, i) => {
    if (Math.abs(v - xv[i]) > 1e-15) throw new Error(`d/dx[${i}] = ${v}, expected ${xv[i]}`);
  });
  if (Math.abs(vals[only.id][0] - xv.reduce((a, v) => a + v * v, 0)) > 1e-12) {
    throw new Error("stopGrad must be the identity forward");
  }
});

/** The float64 reference, with the values of some nodes held fixed (for finite differences with frozen targets). */
function evalFrozen(
  g: Graph,
  leaves: Map<string, Float64Array>,
  scalars: Record<string, number>,
  upTo: number,
  frozen: Map<number, Float64Array>,
): Float64Array[] {
  const vals: Float64Array[] = [];
  for (const n of g.nodes.slice(0, upTo + 1)) {
    const fixed = frozen.get(n.id);
    if (fixed) vals.push(fixed);
    else if (n.op === "input" || n.op === "param" || n.op === "state") vals.push(leaves.get(n.attrs.name as string)!);
    else {
      vals.push(
        OPS[n.op].cpu({
          ins: n.inputs.map((i) => vals[i]),
          inShapes: n.inputs.map((i) => g.nodes[i].shape),
          out: n.shape,
          attrs: n.attrs,
          scalars,
        }),
      );
    }
  }
  return vals;
}

Deno.test("simsiam: the gradient is that of the loss with the stopGrad'd targets frozen (finite differences)", () => {
  const spec = TINY.simsiam();
  const forward = forwardGraph(spec, SHAPE);
  const { graph: g, loss } = forward;
  const w = g.find("encoder.0.linear.weight")!;
  const [gw] = grad(g, loss, [w]);
  if (!gw) throw new Error("no gradient for the encoder");
  const leaves = new Map<string, Float64Array>();
  for (const n of g.nodes) {
    if (n.op !== "param" && n.op !== "state") continue;
    const k = n.attrs.name as string, len = size(n.shape);
    // BN running stats do not affect a training-mode forward; weights get small values
    leaves.set(
      k,
      Float64Array.from({ length: len }, (_, i) => (n.op === "state" ? 1 : 0.3 * Math.sin(1.7 * i + k.length))),
    );
  }
  leaves.set("images", Float64Array.from(batchAt(0)));
  const scalars = scalarsAt(forward, 0);
  const all = evaluate(g, { leaves, scalars });
  const analytic = all[gw.id];
  const targets = g.nodes.filter((n) => n.op === "stopGrad" && n.id < loss.id);
  if (targets.length < 2) throw new Error(`expected the two target branches behind stopGrad, found ${targets.length}`);
  const frozen = new Map(targets.map((n) => [n.id, all[n.id]]));
  const W = leaves.get("encoder.0.linear.weight")!;
  const eps = 1e-6;
  let worstFrozen = 0, worstFree = 0;
  for (const i of [0, 17, 64, 301, 777, W.length - 1]) {
    const keep = W[i];
    const f = (fz: Map<number, Float64Array>) => evalFrozen(g, leaves, scalars, loss.id, fz)[loss.id][0];
    W[i] = keep + eps;
    const [pf, pa] = [f(frozen), f(new Map())];
    W[i] = keep - eps;
    const [mf, ma] = [f(frozen), f(new Map())];
    W[i] = keep;
    const scale = Math.max(1e-3, Math.abs(analytic[i]));
    worstFrozen = Math.max(worstFrozen, Math.abs((pf - mf) / (2 * eps) - analytic[i]) / scale);
    worstFree = Math.max(worstFree, Math.abs((pa - ma) / (2 * eps) - analytic[i]) / scale);
  }
  if (worstFrozen > 1e-4) {
    throw new Error(`gradient vs finite differences with frozen targets: relative error ${worstFrozen}`);
  }
  // without freezing, the loss also moves through the targets: stopGrad must make a difference
  if (!(worstFree > 1e-2)) {
    throw new Error(`finite differences through the targets should disagree with the gradient (${worstFree})`);
  }
});

// ------------------------------------------------- every dispatch comes from the shared op table

const PIPELINES = ["barlow", "barlow_mean", "simclr", "moco", "byol", "simsiam", "vicreg"];

Deno.test("every pipeline's compiled step dispatches only shared-table kernels; fused kernels hold only elementwise ops", async () => {
  const variants: [string, PipelineSpec][] = [];
  for (const name of PIPELINES) {
    const mod = await import(`../pipelines/${name}.ts`) as { spec: PipelineSpec };
    const small = [
      "--encoder",
      "mlp:24",
      "--proj",
      "20,12",
      "--batch",
      "8",
      ...(name === "moco" ? ["--queue", "16"] : []),
    ];
    variants.push([name, parseFlags(small, mod.spec).spec]);
  }
  const barlow = variants[0][1];
  variants.push(["barlow (cnn)", parseFlags(["--encoder", "cnn:4,6", "--proj", "20,12", "--batch", "4"], barlow).spec]);
  variants.push([
    "barlow (resnet18)",
    parseFlags(["--encoder", "resnet18:2", "--proj", "20,12", "--batch", "2"], barlow).spec,
  ]);

  for (const [name, spec] of variants) {
    const { graph: g } = trainingGraph(spec, { c: 1, h: 28, w: 28 });
    const program = compile(g, { features: { subgroups: true, f16: false } });
    // the fusion plan the compiler used
    const { plan } = fusionPlanOf(g);
    const members = new Map<number, number[]>();
    for (const [id, r] of plan.root) if (id !== r) members.set(r, [...(members.get(r) ?? []), id]);

    const byOp = new Map<string, number>();
    for (const st of program.steps) {
      if (st.kind === "copy") {
        if (!st.label.startsWith("update ")) throw new Error(`${name}: copy '${st.label}' is not a state update`);
        continue;
      }
      const node = g.nodes[st.node];
      const def = OPS[node.op];
      if (!def || (def.kind !== "elementwise" && def.kind !== "kernel")) {
        throw new Error(
          `${name}: dispatch '${st.label}' comes from node op '${node.op}', not a computing op of the shared table`,
        );
      }
      const folded = members.get(st.node) ?? [];
      const bad = folded.filter((m) => OPS[g.nodes[m].op].kind !== "elementwise").map((m) => g.nodes[m].op);
      if (bad.length) throw new Error(`${name}: kernel '${st.label}' fuses non-elementwise ops ${bad.join(", ")}`);
      if (folded.length && def.kind !== "elementwise" && !["sum", "mean", "max"].includes(node.op)) {
        throw new Error(`${name}: '${node.op}' has a fused prologue but is not a reduction`);
      }
      const key = def.kind === "elementwise" ? "fused elementwise" : folded.length ? `${node.op} (+prologue)` : node.op;
      byOp.set(key, (byOp.get(key) ?? 0) + 1);
    }
    const total = [...byOp.values()].reduce((a, b) => a + b, 0);
    if (total !== program.stats.dispatches) {
      throw new Error(`${name}: counted ${total} of ${program.stats.dispatches} dispatches`);
    }
    console.log(
      `${name.padEnd(18)} ${String(total).padStart(4)} dispatches: ${
        [...byOp].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
      }`,
    );
  }
});

Deno.test("no method, loss, layer or pipeline file contains WGSL (docs/architecture.md decision 3: methods own no kernels)", async () => {
  const offenders: string[] = [];
  for (const dir of ["pipelines", "losses", "nn", "dsl", "train", "examples"]) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(new URL(`../${dir}/`, import.meta.url))];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(`../${dir}/${e.name}`, import.meta.url));
      if (/@compute|@workgroup_size|var<storage|@binding\(/.test(text)) offenders.push(`${dir}/${e.name}`);
    }
  }
  if (offenders.length) throw new Error(`WGSL outside kernels/ and compiler/: ${offenders.join(", ")}`);
});

// Optimizers, EMA and schedules against float64 closed forms written out here, through the
// compiled GPU step (Executable) and through the CPU reference executor.
//
// The model is a quadratic whose gradient the host knows exactly: for each parameter P with a
// per-step target T_P (a fresh input every step), loss = ½ Σ (P − T_P)², so ∇P = P − T_P.
// Parameters: W [5, 7] and Z [3, 4] (2-D; Z starts at zero, which exercises LARS's "ratio 1
// when a norm is 0"), b [7] (1-D: excluded from decay and LARS adaptation unless asked).
// An EMA target E follows W after the optimizer step with the cosine τ of the trainer.
import { step as cpuStep } from "../cpu/reference.ts";
import { compile } from "../compiler/compile.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { defaultEncoder, presets } from "../dsl/presets.ts";
import { Graph } from "../ir/graph.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { adamScalars, type OptimizerConfig } from "../step/optim.ts";
import { lrAt, tauAt } from "../step/schedule.ts";
import { addTrainingStep } from "../step/training.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import { rand } from "./util/check.ts";

const SHAPES: Record<string, number[]> = { W: [5, 7], b: [7], Z: [3, 4] };
const NAMES = Object.keys(SHAPES);
const STEPS = 7, WARMUP = 2;
const BASE_LR = 0.3, FINAL = 0.05, BIAS_LR = 0.07;
const TAU = { base: 0.8, final: 0.95 };
const n = (name: string) => SHAPES[name].reduce((a, b) => a * b, 1);

// ------------------------------------------------------------------ closed forms (float64)

/** warmup (linear from base/W at step 0 to base at step W−1), then cosine to base·final at T */
function lrClosed(base: number, s: number): number {
  if (s < WARMUP) return (base * (s + 1)) / WARMUP;
  const t = (s - WARMUP) / (STEPS - WARMUP);
  return base * FINAL + (base - base * FINAL) * (1 + Math.cos(Math.PI * t)) / 2;
}
/** BYOL's τ: base at step 0, final at the last step, cosine in between */
const tauClosed = (s: number) => TAU.final - (TAU.final - TAU.base) * (Math.cos((Math.PI * s) / STEPS) + 1) / 2;

const norm = (x: Float64Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));

/** Host simulation of one optimizer: state per parameter, update written in plain loops. */
class HostOptimizer {
  buf = new Map<string, Float64Array>();
  m = new Map<string, Float64Array>();
  v = new Map<string, Float64Array>();
  /** LARS with clip: which branch of min(ratio/lr, 1) was taken (both must occur to mean anything) */
  clipped = { yes: 0, no: 0 };
  constructor(readonly cfg: OptimizerConfig) {}

  update(name: string, w: Float64Array, g: Float64Array, lr: number, t: number): Float64Array {
    const c = this.cfg, rank = SHAPES[name].length;
    const excluded = (c.excludeBiasAndNorm ?? true) && rank <= 1;
    const wd = excluded ? 0 : c.weightDecay ?? 0;
    const out = new Float64Array(w.length);
    if (c.kind === "adamw") {
      const [b1, b2] = c.betas!;
      const m = this.m.get(name) ?? new Float64Array(w.length), v = this.v.get(name) ?? new Float64Array(w.length);
      for (let i = 0; i < w.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mhat = m[i] / (1 - b1 ** t), vhat = v[i] / (1 - b2 ** t);
        out[i] = w[i] - lr * (mhat / (Math.sqrt(vhat) + c.eps!) + wd * w[i]);
      }
      this.m.set(name, m), this.v.set(name, v);
      return out;
    }
    // d = g + wd·w; LARS scales d by the trust ratio η‖w‖/‖d‖ (1 if a norm is 0)
    const d = g.map((gi, i) => gi + wd * w[i]);
    if (c.kind === "lars" && !excluded) {
      const wn = norm(w), dn = norm(d);
      let ratio = wn > 0 && dn > 0 ? (c.eta! * wn) / dn : 1;
      if (c.clip) {
        if (ratio / lr < 1) this.clipped.no++;
        else this.clipped.yes++;
        ratio = Math.min(ratio / lr, 1);
      }
      for (let i = 0; i < d.length; i++) d[i] *= ratio;
    }
    const mu = c.momentum!;
    if (mu === 0) return w.map((wi, i) => wi - lr * d[i]);
    const buf = this.buf.get(name) ?? new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      buf[i] = mu * buf[i] + d[i];
      out[i] = w[i] - lr * (c.nesterov ? d[i] + mu * buf[i] : buf[i]);
    }
    this.buf.set(name, buf);
    return out;
  }
}

// ------------------------------------------------------------------------- graph harness

function model(cfg: OptimizerConfig): Graph {
  const g = new Graph();
  let loss;
  for (const name of NAMES) {
    const p = g.param(name, SHAPES[name], name === "Z" ? { kind: "zeros" } : { kind: "normal", std: 1 });
    const term = p.sub(g.input(`T_${name}`, SHAPES[name])).square().sum().mul(0.5);
    loss = loss ? loss.add(term) : term;
  }
  g.state("E", SHAPES.W, { kind: "copy", of: "W" });
  addTrainingStep(g, loss!, {
    optimizer: cfg,
    lrScalar: (name) => (name === "b" ? "lr_bias" : "lr"),
    ema: [{ target: "E", online: "W", tau: "tau" }],
  });
  return g;
}

const targets = (s: number) => new Map(NAMES.map((k, i) => [`T_${k}`, rand(n(k), 1000 * s + i + 1, -2, 2)]));
const scalarsAt = (s: number, cfg: OptimizerConfig) => ({
  lr: lrClosed(BASE_LR, s),
  lr_bias: lrClosed(BIAS_LR, s),
  tau: tauClosed(s),
  ...(cfg.kind === "adamw" ? adamScalars(s + 1, cfg) : {}),
});

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/** Runs STEPS steps on the GPU and on the CPU reference; checks both against the host closed form after every step. */
async function checkOptimizer(label: string, cfg: OptimizerConfig): Promise<HostOptimizer> {
  const gpu = await getGpu();
  const g = model(cfg);
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  const init = ex.initPersistent(11);
  // host and CPU reference start from the GPU's (float32) initial values
  const host = new Map<string, Float64Array>([...NAMES, "E"].map((k) => [k, Float64Array.from(init.get(k)!)]));
  const leaves = new Map<string, Float64Array>([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const opt = new HostOptimizer(cfg);
  try {
    for (let s = 0; s < STEPS; s++) {
      const T = targets(s), sc = scalarsAt(s, cfg);
      // host closed form
      let lossHost = 0;
      for (const k of NAMES) {
        const w = host.get(k)!, t = T.get(`T_${k}`)!;
        const grad = w.map((wi, i) => wi - t[i]);
        lossHost += 0.5 * grad.reduce((a, x) => a + x * x, 0);
        host.set(k, opt.update(k, w, grad, k === "b" ? sc.lr_bias : sc.lr, s + 1));
      }
      const E = host.get("E")!, W = host.get("W")!;
      host.set("E", E.map((e, i) => sc.tau * e + (1 - sc.tau) * W[i]));

      // GPU
      for (const [k, v] of T) ex.write(k, Float32Array.from(v));
      ex.setScalars(sc);
      ex.run();
      const lossGpu = (await ex.read("loss"))[0];
      if (Math.abs(lossGpu - lossHost) > 1e-5 * Math.max(1, lossHost)) {
        throw new Error(`${label} step ${s}: GPU loss ${lossGpu} vs ${lossHost}`);
      }
      for (const k of [...NAMES, "E"]) {
        const e = maxRelErr(await ex.read(k), host.get(k)!);
        if (e > 2e-5) {
          throw new Error(`${label} step ${s}: GPU '${k}' differs from the closed form by ${e.toExponential(2)}`);
        }
      }

      // CPU reference (float64: agrees to rounding)
      for (const [k, v] of T) leaves.set(k, v);
      const lossCpu = cpuStep(g, { leaves, scalars: sc }).get("loss")![0];
      if (Math.abs(lossCpu - lossHost) > 1e-10 * Math.max(1, lossHost)) {
        throw new Error(`${label} step ${s}: CPU loss ${lossCpu} vs ${lossHost}`);
      }
      for (const k of [...NAMES, "E"]) {
        const e = maxRelErr(leaves.get(k)!, host.get(k)!);
        if (e > 1e-10) {
          throw new Error(
            `${label} step ${s}: CPU reference '${k}' differs from the closed form by ${e.toExponential(2)}`,
          );
        }
      }
    }
  } finally {
    ex.destroy();
  }
  // the parameters must actually have moved, or the comparisons above prove nothing
  for (const k of NAMES) {
    if (maxRelErr(host.get(k)!, init.get(k)!) < 1e-3) throw new Error(`${label}: '${k}' barely moved`);
  }
  return opt;
}

// ---------------------------------------------------------------------------------- tests

Deno.test("lrAt: linear warmup then cosine to the final factor", () => {
  const s = { base: BASE_LR, warmupSteps: WARMUP, totalSteps: STEPS, finalFactor: FINAL };
  for (let k = 0; k <= STEPS; k++) {
    if (Math.abs(lrAt(s, k) - lrClosed(BASE_LR, k)) > 1e-15) {
      throw new Error(`lrAt(${k}) = ${lrAt(s, k)}, expected ${lrClosed(BASE_LR, k)}`);
    }
  }
  // anchor points that do not depend on how the closed form is written
  const near = (a: number, b: number, what: string) => {
    if (Math.abs(a - b) > 1e-12) throw new Error(`${what}: ${a} vs ${b}`);
  };
  near(lrAt(s, 0), BASE_LR / WARMUP, "first warmup step");
  near(lrAt(s, WARMUP - 1), BASE_LR, "end of warmup reaches the base lr");
  near(lrAt(s, WARMUP), BASE_LR, "cosine starts at the base lr");
  near(lrAt({ ...s, totalSteps: 12, warmupSteps: 2 }, 7), (BASE_LR + BASE_LR * FINAL) / 2, "halfway down the cosine");
  near(lrAt(s, STEPS), BASE_LR * FINAL, "final factor at the total");
  near(lrAt(s, STEPS + 5), BASE_LR * FINAL, "stays there after the total");
  near(lrAt({ ...s, warmupSteps: 0, finalFactor: 1 }, 3), BASE_LR, "constant schedule");
  for (let k = WARMUP; k < STEPS; k++) {
    if (!(lrAt(s, k + 1) < lrAt(s, k))) throw new Error(`lr must decrease after warmup (step ${k})`);
  }
});

Deno.test("tauAt and the trainer's per-branch τ: base at step 0, final at the total, cosine between", () => {
  // tauAt: BYOL's 1 − (1 − τ₀)(cos(πk/K) + 1)/2
  for (const [k, want] of [[0, 0.99], [5, 0.995], [10, 1], [12, 1]] as const) {
    if (Math.abs(tauAt(0.99, k, 10) - want) > 1e-15) {
      throw new Error(`tauAt(0.99, ${k}, 10) = ${tauAt(0.99, k, 10)}, expected ${want}`);
    }
  }
  if (tauAt(0.9, 3, 10, "const") !== 0.9) throw new Error("const τ must stay at base");

  // the trainer's scalars for a real BYOL spec, with a final τ other than 1
  const spec = presets.byol({
    data: "synthetic",
    imageSize: 8,
    encoder: defaultEncoder([6]),
    proj: [5, 4],
    pred: [5, 4],
    batch: 4,
    epochs: 1,
    warmupEpochs: 0,
  });
  spec.branches.forEach((b) => b.ema && (b.ema.tau = { base: TAU.base, final: TAU.final, schedule: "cosine" }));
  const values = (sp: PipelineSpec) => {
    const plan = trainingGraph(sp, { c: 1, h: 8, w: 8 }).forward.scalars.plan;
    return (k: number) => plan.values(k, { stepsPerEpoch: STEPS, totalSteps: STEPS });
  };
  const at = (k: number) => values(spec)(k).tau_p1;
  for (let k = 0; k <= STEPS; k++) {
    const got = at(k);
    if (Math.abs(got - tauClosed(k)) > 1e-12) throw new Error(`τ at step ${k}: ${got}, expected ${tauClosed(k)}`);
  }
  if (Math.abs(at(0) - TAU.base) > 1e-15 || Math.abs(at(STEPS) - TAU.final) > 1e-15) {
    throw new Error(`τ(0) = ${at(0)}, τ(total) = ${at(STEPS)}`);
  }
  // a const schedule ignores final
  spec.branches.forEach((b) => b.ema && (b.ema.tau = { base: 0.97, final: 0.5, schedule: "const" }));
  if (values(spec)(4).tau_p1 !== 0.97) throw new Error("const τ must stay at base");
});

Deno.test("the scalar plan: lr scaled by batch/256 with warmup + cosine, bias lr, fixed lr, Adam corrections, queue pointer, data position; packed as the program reads it", () => {
  const spec = presets.mocoV2({
    data: "synthetic",
    imageSize: 8,
    proj: [5, 4],
    batch: 4,
    queue: 12,
    epochs: 2,
    warmupEpochs: 0.5,
    lr: 0.8,
  });
  const total = 10, spe = 5; // warmup = round(0.5 · 5) = 2 steps (rounded)
  const run = { stepsPerEpoch: spe, totalSteps: total };
  const moco = trainingGraph(spec, { c: 1, h: 8, w: 8 });
  const sched = {
    base: 0.8 * 4 / 256,
    warmupSteps: Math.round(0.5 * spe),
    totalSteps: total,
    finalFactor: spec.schedule.finalFactor,
  };
  for (let k = 0; k < total; k++) {
    const s = moco.forward.scalars.plan.values(k, run);
    if (Math.abs(s.lr - lrAt(sched, k)) > 1e-15) throw new Error(`lr at ${k}: ${s.lr} vs ${lrAt(sched, k)}`);
    if (s.queue_keys_ptr !== (k * 4) % 12) throw new Error(`queue pointer at ${k}: ${s.queue_keys_ptr}`);
    if (s.step !== k || s.seed !== spec.seed) throw new Error("step / seed scalars");
    if (s.tau_q1 !== 0.99) throw new Error(`MoCo's τ is constant 0.99, got ${s.tau_q1}`);
  }
  // the data position: epoch and first row in the epoch's shuffle, or in a streamed chunk of 2 steps
  const data =
    trainingGraph(spec, { c: 1, h: 8, w: 8 }, { data: { rows: 23, dtype: "u8", order: "shuffle" } }).forward.scalars
      .plan;
  const chunked =
    trainingGraph(spec, { c: 1, h: 8, w: 8 }, { data: { rows: 8, dtype: "u8", order: "stored", chunkSteps: 2 } })
      .forward.scalars.plan;
  for (let k = 0; k < total; k++) {
    const d = data.values(k, run), c = chunked.values(k, run);
    if (d.data_epoch !== Math.floor(k / spe) || d.data_first !== (k % spe) * 4) {
      throw new Error(`data position at ${k}: ${JSON.stringify(d)}`);
    }
    if (c.data_first !== ((k % spe) % 2) * 4) throw new Error(`chunked data position at ${k}: ${c.data_first}`);
  }
  // SimSiam's predictor keeps a fixed lr (scaled by batch/256, no schedule)
  const ss = presets.simsiam({ data: "synthetic", imageSize: 8, proj: [5, 4], pred: [3, 4], batch: 4, lr: 0.8 });
  const fixed = trainingGraph(ss, { c: 1, h: 8, w: 8 }).forward.scalars.plan;
  for (const k of [0, 3, 9]) {
    if (fixed.values(k, run).lr_fixed !== 0.8 * 4 / 256) throw new Error(`lr_fixed ${fixed.values(k, run).lr_fixed}`);
  }

  const bt = presets.barlowTwins({ data: "synthetic", imageSize: 8, proj: [5, 4], batch: 8, lr: 0.2 });
  const btRun = { stepsPerEpoch: 10, totalSteps: 100 };
  const s0 = trainingGraph(bt, { c: 1, h: 8, w: 8 }).forward.scalars.plan.values(3, btRun);
  const sch = {
    warmupSteps: Math.round(bt.schedule.warmupEpochs * 10),
    totalSteps: 100,
    finalFactor: bt.schedule.finalFactor,
  };
  if (Math.abs(s0.lr_bias - lrAt({ base: 0.0048 * 8 / 256, ...sch }, 3)) > 1e-15) {
    throw new Error(`lr_bias ${s0.lr_bias}`);
  }
  const aw = {
    ...bt,
    optimizer: {
      kind: "adamw" as const,
      lr: 1e-3,
      weightDecay: 0,
      excludeBiasAndNorm: true,
      fixedLr: [],
      beta1: 0.8,
      beta2: 0.95,
      eps: 1e-8,
    },
  };
  const sa = trainingGraph(aw, { c: 1, h: 8, w: 8 }).forward.scalars.plan.values(4, btRun);
  if (Math.abs(sa.adam_bc1 - (1 - 0.8 ** 5)) > 1e-15 || Math.abs(sa.adam_bc2 - (1 - 0.95 ** 5)) > 1e-15) {
    throw new Error(`Adam corrections at step 4 (t = 5): ${sa.adam_bc1}, ${sa.adam_bc2}`);
  }

  // packing: each step's slot holds f32 values as f32 bits and u32 values as integers, where the program reads them
  const step = compileStep(moco, { features: { subgroups: false, f16: false } });
  const packed = step.plan.pack(step.program, 3, 4, run);
  const f = new Float32Array(packed), u = new Uint32Array(packed);
  for (let k = 0; k < 4; k++) {
    const want = step.plan.values(3 + k, run);
    for (const [name, i] of step.program.scalarIndex) {
      const got = step.program.scalarTypes.get(name) === "u32" ? u[k * 64 + i] : f[k * 64 + i];
      const expect = step.program.scalarTypes.get(name) === "u32" ? want[name] >>> 0 : Math.fround(want[name]);
      if (got !== expect) throw new Error(`slot ${k}, '${name}': ${got} vs ${expect}`);
    }
  }
});

Deno.test("SGD with momentum and weight decay (biases excluded), EMA with cosine τ: GPU and CPU vs closed form", async () => {
  await checkOptimizer("sgd", { kind: "sgd", momentum: 0.9, weightDecay: 0.05 });
});

Deno.test("SGD nesterov, decay on every parameter (excludeBiasAndNorm false)", async () => {
  await checkOptimizer("sgd nesterov", {
    kind: "sgd",
    momentum: 0.8,
    nesterov: true,
    weightDecay: 0.03,
    excludeBiasAndNorm: false,
  });
});

Deno.test("SGD without momentum", async () => {
  await checkOptimizer("sgd μ=0", { kind: "sgd", momentum: 0, weightDecay: 0.01 });
});

Deno.test("LARS: trust ratio η‖w‖/‖g + wd·w‖, 1-D params excluded, ratio 1 at ‖w‖ = 0", async () => {
  await checkOptimizer("lars", { kind: "lars", momentum: 0.9, weightDecay: 0.02, eta: 0.05 });
});

Deno.test("LARS with 1-D params adapted too (excludeBiasAndNorm false)", async () => {
  await checkOptimizer("lars all", {
    kind: "lars",
    momentum: 0.9,
    weightDecay: 0.02,
    eta: 0.05,
    excludeBiasAndNorm: false,
  });
});

Deno.test("LARS clip: adaptive factor min(ratio/lr, 1), both branches taken", async () => {
  const opt = await checkOptimizer("lars clip", {
    kind: "lars",
    momentum: 0.9,
    weightDecay: 0.01,
    eta: 0.03,
    clip: true,
  });
  if (!opt.clipped.yes || !opt.clipped.no) {
    throw new Error(`clip branches taken: ${JSON.stringify(opt.clipped)}; adjust η so both occur`);
  }
});

Deno.test("AdamW with bias corrections and decoupled decay", async () => {
  await checkOptimizer("adamw", { kind: "adamw", betas: [0.8, 0.95], eps: 1e-8, weightDecay: 0.1 });
});

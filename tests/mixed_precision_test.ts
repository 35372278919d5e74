// f16-mixed precision: matmul operands rounded to f16 (forward and backward) with f32 accumulation
// and f32 master weights, the loss and its statistics in f32, and dynamic loss scaling that skips
// a step whose gradients overflow (every state update keeps its value), halves the scale, and
// doubles it after a run of good steps. Checked on the GPU against the float64 reference of the
// same graph, and against the f32 step (f16 rounding moves the loss by f16-sized amounts only).
import { step as cpuStep } from "../cpu/reference.ts";
import { compile } from "../compiler/compile.ts";
import { presets } from "../dsl/presets.ts";
import { Graph } from "../ir/graph.ts";
import { batchNorm, linear } from "../nn/mod.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { trainingGraph } from "../step/build.ts";
import type { LossScaling } from "../step/loss_scale.ts";
import { StepRules } from "../step/graph_rules.ts";
import { addTrainingStep } from "../step/training.ts";
import { rand } from "./util/check.ts";

const N = 12, IN = 9, H = 7, OUT = 3;

function model(scaling: LossScaling | undefined): Graph {
  const g = new Graph();
  g.rules = new StepRules({ keepF32: (scope) => !!scope?.startsWith("loss") });
  const x = g.input("x", [N, IN]);
  const y = g.input("y", [N, OUT]);
  const h = batchNorm(linear(x, "l1", H), "bn1").relu();
  const out = linear(h, "l2", OUT);
  g.scope = "loss";
  const loss = out.sub(y).square().mean();
  g.scope = undefined;
  addTrainingStep(g, loss, { optimizer: { kind: "sgd", momentum: 0.9 }, lossScaling: scaling });
  return g;
}

Deno.test("f16-mixed: every matmul outside the loss, forward and backward, reads f16-rounded operands; the loss's do not", () => {
  const spec = presets.barlowTwins({ data: "synthetic", imageSize: 8, proj: [6, 5], batch: 4 });
  const { graph: g } = trainingGraph(spec, { c: 1, h: 8, w: 8 }, { precision: "f16-mixed" });
  const matmuls = g.nodes.filter((n) => n.op === "matmul");
  const rounded = (id: number) => g.nodes[id].op === "roundF16";
  const inLoss = matmuls.filter((n) => n.label?.startsWith("loss"));
  const outside = matmuls.filter((n) => !n.label?.startsWith("loss"));
  if (!inLoss.length || outside.length < 6) {
    throw new Error(`expected matmuls in and outside the loss: ${inLoss.length}, ${outside.length}`);
  }
  for (const n of outside) if (!n.inputs.every(rounded)) throw new Error(`matmul @ ${n.label} has an f32 operand`);
  for (const n of inLoss) {
    if (n.inputs.some(rounded)) throw new Error(`matmul @ ${n.label} (the loss) has f16 operands`);
  }
  if (!g.nodes.some((n) => n.label?.includes("(backward)") && n.op === "matmul" && n.inputs.every(rounded))) {
    throw new Error("no backward matmul reads f16 operands");
  }
  if (!g.find("loss_scale") || !g.outputs.has("step_skipped")) throw new Error("f16-mixed needs the loss scale state");
  const f32 = trainingGraph(spec, { c: 1, h: 8, w: 8 }).graph;
  if (f32.nodes.some((n) => n.op === "roundF16") || f32.find("loss_scale")) {
    throw new Error("the f32 step must not round or scale");
  }
});

async function trajectory(scaling: LossScaling, steps: number) {
  const g = model(scaling);
  const gpu = await getGpu();
  const ex = await Executable.create(
    gpu,
    compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
  );
  const init = ex.initPersistent(3);
  const leaves = new Map<string, Float64Array>([...init].map(([k, v]) => [k, Float64Array.from(v)]));
  const rows: { gpu: Record<string, number>; cpu: Record<string, number> }[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const x = rand(N * IN, 10 + s), y = rand(N * OUT, 20 + s);
      ex.write("x", Float32Array.from(x));
      ex.write("y", Float32Array.from(y));
      ex.setScalars({ lr: 0.1 });
      ex.run();
      leaves.set("x", x);
      leaves.set("y", y);
      const ref = cpuStep(g, { leaves, scalars: { lr: 0.1 } });
      const read = async (k: string) => (await ex.read(k))[0];
      rows.push({
        gpu: {
          loss: await read("loss"),
          scale: await read("loss_scale"),
          skipped: await read("step_skipped"),
          w: (await ex.read("l1.weight"))[5],
        },
        cpu: {
          loss: ref.get("loss")![0],
          scale: ref.get("loss_scale")![0],
          skipped: ref.get("step_skipped")![0],
          w: leaves.get("l1.weight")![5],
        },
      });
    }
  } finally {
    ex.destroy();
  }
  return rows;
}

Deno.test("loss scaling: overflowing steps are skipped and halve the scale, good runs double it; GPU = float64 reference", async () => {
  // 2^40 × these gradients overflows f16 in the backward matmuls until the scale has come down
  const rows = await trajectory({ init: 2 ** 40, growthInterval: 3 }, 36);
  const skipped = rows.map((r) => r.gpu.skipped);
  const firstGood = skipped.indexOf(0);
  if (firstGood < 3) throw new Error(`expected several overflowing steps first, got skipped = ${skipped}`);
  rows.forEach((r, s) => {
    if (r.gpu.skipped !== r.cpu.skipped) {
      throw new Error(`step ${s}: skipped ${r.gpu.skipped} on the GPU, ${r.cpu.skipped} in float64`);
    }
    if (r.gpu.scale !== r.cpu.scale) throw new Error(`step ${s}: scale ${r.gpu.scale} vs ${r.cpu.scale}`);
    if (Math.abs(r.gpu.loss - r.cpu.loss) > 1e-4 * Math.max(1, Math.abs(r.cpu.loss))) {
      throw new Error(`step ${s}: loss ${r.gpu.loss} vs ${r.cpu.loss}`);
    }
    if (Math.abs(r.gpu.w - r.cpu.w) > 1e-4) throw new Error(`step ${s}: weight ${r.gpu.w} vs ${r.cpu.w}`);
  });
  // a skipped step leaves the weights as they were; the scale halves on each skip
  for (let s = 1; s < firstGood; s++) {
    if (rows[s].gpu.w !== rows[0].gpu.w) throw new Error(`skipped step ${s} changed a weight`);
    if (rows[s].gpu.scale !== rows[s - 1].gpu.scale / 2) throw new Error(`scale at step ${s}: ${rows[s].gpu.scale}`);
  }
  if (rows[firstGood].gpu.w === rows[0].gpu.w) throw new Error("the first good step did not move the weights");
  // three good steps in a row double the scale (the schedule may then overflow again and halve)
  const after = rows.slice(firstGood).map((r) => r.gpu.scale);
  if (!after.some((v, i) => i > 0 && v === after[i - 1] * 2)) throw new Error(`the scale never grew back: ${after}`);
});

Deno.test("f16-mixed with a safe scale follows the f32 step to f16 accuracy, and its float64 reference to f32 accuracy", async () => {
  const mixed = await trajectory({ init: 256, growthInterval: 1000 }, 10);
  if (mixed.some((r) => r.gpu.skipped !== 0)) throw new Error("a scale of 256 should not overflow here");
  const g = new Graph(); // the same model in plain f32
  const x0 = g.input("x", [N, IN]), y0 = g.input("y", [N, OUT]);
  g.output("loss", linear(batchNorm(linear(x0, "l1", H), "bn1").relu(), "l2", OUT).sub(y0).square().mean());
  const gpu = await getGpu();
  const ex = await Executable.create(
    gpu,
    compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
  );
  ex.initPersistent(3);
  ex.write("x", Float32Array.from(rand(N * IN, 10)));
  ex.write("y", Float32Array.from(rand(N * OUT, 20)));
  ex.run();
  const f32 = (await ex.read("loss"))[0];
  ex.destroy();
  const rel = Math.abs(mixed[0].gpu.loss - f32) / Math.abs(f32);
  // f16 keeps 11 significant bits: operands move by ≤ 2^-11 relative, the loss by a few times that
  if (!(rel > 0 && rel < 8 * 2 ** -11)) {
    throw new Error(`f16-mixed loss ${mixed[0].gpu.loss} vs f32 ${f32}: relative ${rel}`);
  }
});

// The engine's composite check: a two-layer MLP with batch-norm trained for 20 SGD steps on
// the GPU follows the float64 CPU reference's loss trajectory; the same with fusion off and
// with arena reuse off (results equal, peak bytes lower with reuse).
import { step as cpuStep } from "../cpu/reference.ts";
import { compile } from "../compiler/compile.ts";
import { Graph } from "../ir/graph.ts";
import { size } from "../kernels/op.ts";
import { batchNorm, linear } from "../nn/mod.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
import { addTrainingStep } from "../step/training.ts";
import { rand } from "./util/check.ts";

const N = 24, IN = 13, H = 17, OUT = 5, STEPS = 20;

function model(): Graph {
  const g = new Graph();
  const x = g.input("x", [N, IN]);
  const y = g.input("y", [N, OUT]);
  const h = batchNorm(linear(x, "l1", H), "bn1").relu();
  const out = linear(h, "l2", OUT);
  const loss = out.sub(y).square().mean();
  addTrainingStep(g, loss, { optimizer: { kind: "sgd", momentum: 0.9, weightDecay: 1e-3 } });
  return g;
}

const batch = (s: number) => ({ x: rand(N * IN, 100 + s), y: rand(N * OUT, 200 + s) });

async function gpuTrajectory(fuse: boolean, reuse: boolean) {
  const g = model();
  const gpu = await getGpu();
  const program = compile(g, { fuse, reuse, features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  const init = ex.initPersistent(7);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const b = batch(s);
    ex.write("x", Float32Array.from(b.x));
    ex.write("y", Float32Array.from(b.y));
    ex.setScalars({ lr: 0.05 });
    ex.run();
    losses.push((await ex.read("loss"))[0]);
  }
  const w = await ex.read("l1.weight");
  ex.destroy();
  return { losses, w, init, program };
}

function cpuTrajectory(init: Map<string, Float32Array>) {
  const g = model();
  const leaves = new Map<string, Float64Array>();
  for (const [k, v] of init) leaves.set(k, Float64Array.from(v));
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const b = batch(s);
    leaves.set("x", b.x);
    leaves.set("y", b.y);
    losses.push(cpuStep(g, { leaves, scalars: { lr: 0.05 } }).get("loss")![0]);
  }
  return { losses, w: leaves.get("l1.weight")! };
}

Deno.test("MLP+BN: 20 SGD steps on the GPU follow the float64 trajectory (fused, unfused, no reuse)", async () => {
  const fused = await gpuTrajectory(true, true);
  const ref = cpuTrajectory(fused.init);
  if (!(ref.losses[STEPS - 1] < ref.losses[0])) throw new Error("reference loss did not fall: test is not meaningful");
  for (
    const [name, run] of [["fused", fused], ["unfused", await gpuTrajectory(false, true)], [
      "no reuse",
      await gpuTrajectory(true, false),
    ]] as const
  ) {
    run.losses.forEach((l, s) => {
      const e = ref.losses[s];
      if (Math.abs(l - e) > 1e-4 * Math.max(1, Math.abs(e))) {
        throw new Error(`${name}: step ${s} loss ${l} vs float64 ${e}`);
      }
    });
    let worst = 0;
    for (let i = 0; i < size([H, IN]); i++) worst = Math.max(worst, Math.abs(run.w[i] - ref.w[i]));
    if (worst > 1e-4) throw new Error(`${name}: l1.weight after ${STEPS} steps differs from float64 by ${worst}`);
  }
  const noReuse = (await gpuTrajectory(true, false)).program;
  if (!(fused.program.peakBytes < noReuse.peakBytes)) {
    throw new Error(`reuse should lower peak bytes: ${fused.program.peakBytes} vs ${noReuse.peakBytes}`);
  }
  if (!(fused.program.stats.dispatches < (await gpuTrajectory(false, true)).program.stats.dispatches)) {
    throw new Error("fusion should lower the number of dispatches");
  }
});

import { lowerSpec } from "../compiler/from_spec.ts";
import { compile } from "../compiler/compile.ts";
import { evaluate } from "../cpu/reference.ts";
import { defaultEncoder, presets } from "../dsl/presets.ts";
import { addTrainingStep } from "../train/step.ts";
import { lrScalarOf, optimizerConfig, stepScalars } from "../train/trainer.ts";
import { getGpu } from "../runtime/device.ts";
import { Executable } from "../runtime/executable.ts";
const B = 10, IMG = 8;
const common = { data: "synthetic", imageSize: IMG, encoder: defaultEncoder([19]), proj: [17, 11], batch: B, epochs: 1, steps: 4, warmupEpochs: 0, seed: 5 };
const spec = presets.mocoV2({ ...common, queue: 30 });
let t = performance.now();
const lap = (s: string) => { const n = performance.now(); console.log(s, (n - t).toFixed(0), "ms"); t = n; };
const lowered = lowerSpec(spec, { c: 1, h: IMG, w: IMG });
const g = lowered.graph;
const lrOf = lrScalarOf(spec);
addTrainingStep(g, lowered.loss, { optimizer: optimizerConfig(spec), lrScalar: (n, gr) => lrOf(n, gr, g.find(n)!.rank), ema: lowered.ema });
lap("lower+step " + g.nodes.length);
const gpu = await getGpu();
const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
lap("compile " + program.stats.dispatches);
const ex = await Executable.create(gpu, program);
lap("executable");
const init = ex.initPersistent(5);
const sc = stepScalars(spec, lowered, 0, 4, 4);
ex.write("images", new Float32Array(B * IMG * IMG).fill(0.5));
ex.setScalars(sc);
ex.run();
await ex.read("loss");
lap("gpu step 1");
ex.run();
await ex.read("loss");
lap("gpu step 2");
const leaves = new Map([...init].map(([k, v]) => [k, Float64Array.from(v)]));
leaves.set("images", new Float64Array(B * IMG * IMG).fill(0.5));
// time per op on cpu
const times = new Map<string, number>();
const vals: Float64Array[] = [];
const { OPS } = await import("../kernels/registry.ts");
for (const n of g.nodes) {
  const t0 = performance.now();
  if (["input", "param", "state"].includes(n.op)) { vals.push(leaves.get(n.attrs.name as string)!); continue; }
  vals.push(OPS[n.op].cpu({ ins: n.inputs.map((i) => vals[i]), inShapes: n.inputs.map((i) => g.nodes[i].shape), out: n.shape, attrs: n.attrs, scalars: sc }));
  times.set(n.op, (times.get(n.op) ?? 0) + performance.now() - t0);
}
lap("cpu");
console.log([...times].sort((a, b) => b[1] - a[1]).slice(0, 8));

// A ResNet-18 encoder (width 64, both stems) leaves the project as a PyTorch state dict
// (`train.py --resume RUN --encoder-only FILE.pt`) that torchvision.models.resnet18 loads with
// only its classifier head missing (CIFAR stem: conv1 3×3 stride 1 and no max-pool first), and
// gives the features the project's inference graph gives on a batch (BN in inference mode with
// non-trivial running statistics), within 1e-4 of their scale.
import assert from "node:assert/strict";
import { join } from "node:path";
import { compile } from "../compiler/compile.ts";
import { specHash } from "../dsl/io.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { Graph, type Init } from "../ir/graph.ts";
import { saveCheckpoint } from "../io/checkpoint.ts";
import { size } from "../kernels/op.ts";
import { applyModule } from "../step/apply_module.ts";
import { Executable } from "../runtime/executable.ts";
import { initValues } from "../runtime/init.ts";
import { trainingGraph } from "../step/build.ts";
import { rand } from "./util/check.ts";
import { getGpu } from "./util/gpu.ts";
import { perturbed, testImages } from "./util/torch_gpu.ts";
import {
  exportSpec,
  python,
  readTensors,
  relErr,
  requireTorch,
  runCases,
  tempDir,
  writeTensors,
} from "./util/torch.ts";
import { smallPipelineSpec } from "./util/torch_specs.ts";

/** The full training state of `spec` (what a checkpoint holds), perturbed, with random BN statistics. */
function stateOf(spec: PipelineSpec, img: { c: number; h: number; w: number }) {
  const g = trainingGraph(spec, img).graph;
  const init = new Map<string, Float32Array>(), shapes = new Map<string, number[]>();
  for (const n of g.nodes.filter((n) => n.op === "param" || n.op === "state")) {
    const name = n.attrs.name as string;
    shapes.set(name, [...n.shape]);
    init.set(name, initValues(n.attrs.init as Init, size(n.shape), spec.seed, name, (o) => init.get(o)!));
  }
  const state = perturbed(init, 9);
  let k = 0;
  for (const [name, v] of state) {
    if (name.endsWith("running_mean")) v.set(rand(v.length, ++k, -0.5, 0.5));
    if (name.endsWith("running_var")) v.set(rand(v.length, ++k, 0.5, 2));
  }
  return { state, shapes };
}

async function projectFeatures(
  spec: PipelineSpec,
  shape: number[],
  images: Float32Array,
  state: Map<string, Float32Array>,
) {
  const gpu = await getGpu();
  const g = new Graph();
  g.output("features", applyModule(g.input("images", shape), "encoder", spec.modules, false));
  const ex = await Executable.create(
    gpu,
    compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } }),
  );
  try {
    for (const name of ex.program.persistent.keys()) ex.write(name, state.get(name)!);
    ex.write("images", images);
    ex.run();
    return await ex.read("features");
  } finally {
    ex.destroy();
  }
}

Deno.test("torch export: torchvision's resnet18 loads the exported encoder and gives the project's features", async () => {
  requireTorch();
  const root = tempDir("resnet");
  const stems = [{ stem: "cifar", side: 8, batch: 4 }, { stem: "imagenet", side: 64, batch: 2 }] as const;
  const project: Float32Array[] = [];
  const cases: { out: string; [k: string]: unknown }[] = [];
  for (const { stem, side, batch } of stems) {
    const spec = await smallPipelineSpec("barlow", 16, side, ["--encoder", "resnet18:64"]);
    if (spec.modules.encoder.kind !== "resnet18") throw new Error("unreachable");
    spec.modules.encoder.stem = stem;
    const img = { c: 3, h: side, w: side };
    const { state, shapes } = stateOf(spec, img);
    const dir = join(root, stem);
    saveCheckpoint(join(dir, "run"), {
      tensors: Object.fromEntries([...state].map(([n, v]) => [n, { shape: shapes.get(n)!, data: v }])),
      spec,
      specHash: specHash(spec),
      step: 0,
      epoch: 0,
    });
    const program = exportSpec(spec, dir, "program");
    python([join(program, "train.py"), "--resume", join(dir, "run"), "--encoder-only", join(dir, "encoder.pt")]);
    const shape = [batch, 3, side, side];
    const images = testImages(batch, img, 31);
    writeTensors(join(dir, "images.safetensors"), { images: { shape, data: images } });
    project.push(await projectFeatures(spec, shape, images, state));
    cases.push({
      kind: "torchvision",
      encoder: join(dir, "encoder.pt"),
      stem,
      images: join(dir, "images.safetensors"),
      out: join(dir, "features.safetensors"),
    });
  }
  runCases(root, cases);
  const report: string[] = [];
  stems.forEach(({ stem }, i) => {
    const got = readTensors(cases[i].out).features;
    assert.equal(got.data.length, project[i].length, `${stem}: feature count`);
    const e = relErr(got.data, project[i]);
    assert(
      e <= 1e-4,
      `${stem} stem: torchvision features differ from the project's by ${e.toExponential(2)} of their scale`,
    );
    report.push(`${stem} stem: ${got.shape.join("×")} features within ${e.toExponential(1)}`);
  });
  console.log(report.join("\n"));
});

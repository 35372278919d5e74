// The project's side of the PyTorch parity tests: a spec's step on the GPU with its views, loss
// and parameter gradients exposed as outputs, started from deterministic but non-trivial state.
import { compile, type Program } from "../../compiler/compile.ts";
import { grad } from "../../ir/autodiff.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import { specHash } from "../../dsl/io.ts";
import type { Graph } from "../../ir/graph.ts";
import { saveCheckpoint } from "../../io/checkpoint.ts";
import { size } from "../../kernels/op.ts";
import { Executable } from "../../runtime/executable.ts";
import { forwardGraph, type ImageShape } from "../../step/forward_graph.ts";
import { compileStep, trainingGraph } from "../../step/build.ts";
import type { RunGeometry } from "../../step/scalars.ts";
import { rand } from "./check.ts";
import { getGpu } from "./gpu.ts";

/** Names an `augment` node's output `view.<view name>` so the views can be read back. */
export function exposeViews(g: Graph, spec: PipelineSpec): string[] {
  const names: string[] = [];
  for (const n of g.nodes) {
    if (n.op !== "augment" || typeof n.attrs.view !== "number") continue;
    const name = `view.${spec.views[n.attrs.view as number].name}`;
    g.output(name, g.t(n.id));
    names.push(name);
  }
  return names;
}

/**
 * Every persistent tensor away from its initial value, so no gradient or update is trivially
 * right: weights, BN γ/β and EMA copies get relative noise (copies differ from their online
 * weights), queues random unit rows of their own; optimizer state stays zero.
 */
export function perturbed(values: Map<string, Float32Array>, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let k = 0;
  for (const [name, v] of [...values].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const noise = rand(v.length, seed * 1000 + ++k);
    const w = Float32Array.from(v);
    if (/\.(momentum|adam_m|adam_v)$/.test(name) || /running_(mean|var)$/.test(name)) {
      out.set(name, w);
      continue;
    }
    const scale = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
    for (let i = 0; i < w.length; i++) w[i] += 0.2 * scale * noise[i];
    out.set(name, w);
  }
  return out;
}

export interface ProjectGradients {
  program: Program;
  /** the state the step started from (also written as the checkpoint) */
  state: Map<string, Float32Array>;
  views: Map<string, { shape: number[]; data: Float32Array }>;
  grads: Map<string, { shape: number[]; data: Float32Array }>;
  loss: number;
}

/**
 * One forward + backward of `spec` on the GPU at `step` for the given batch of images: the views
 * the project drew, the loss and the gradient of every parameter. The starting state is written
 * to `checkpointDir` as a project checkpoint.
 */
export async function projectGradients(
  spec: PipelineSpec,
  img: ImageShape,
  images: Float32Array,
  step: number,
  geometry: RunGeometry,
  checkpointDir: string,
): Promise<ProjectGradients> {
  const gpu = await getGpu();
  const forward = forwardGraph(spec, img);
  const g = forward.graph;
  exposeViews(g, spec);
  const params = g.params();
  const grads = grad(g, forward.loss, params.map((p) => g.t(p.id)));
  params.forEach((p, i) => {
    if (!grads[i]) throw new Error(`${spec.name}: parameter ${p.attrs.name} gets no gradient`);
    g.output(`grad.${p.attrs.name}`, grads[i]!);
  });
  g.output("loss", forward.loss);
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const ex = await Executable.create(gpu, program);
  try {
    const state = perturbed(ex.initPersistent(spec.seed), spec.seed + 1);
    for (const [name, v] of state) ex.write(name, v);
    saveCheckpoint(checkpointDir, {
      tensors: Object.fromEntries(
        [...state].map(([n, v]) => [n, { shape: [...program.storages[program.persistent.get(n)!].shape!], data: v }]),
      ),
      spec,
      specHash: specHash(spec),
      step,
      epoch: Math.floor(step / geometry.stepsPerEpoch),
    });
    ex.write("images", images);
    ex.setScalars(forward.scalars.plan.values(step, geometry));
    ex.run();
    const read = async (name: string) => ({ shape: [...program.outputs.get(name)!.shape], data: await ex.read(name) });
    const views = new Map<string, { shape: number[]; data: Float32Array }>();
    const gradOut = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const name of program.outputs.keys()) {
      if (name.startsWith("view.")) views.set(name.slice(5), await read(name));
      if (name.startsWith("grad.")) gradOut.set(name.slice(5), await read(name));
    }
    const loss = (await ex.read("loss"))[0];
    return { program, state, views, grads: gradOut, loss };
  } finally {
    ex.destroy();
  }
}

/** A deterministic batch of images in [0, 1]. */
export const testImages = (n: number, img: ImageShape, seed = 5): Float32Array =>
  Float32Array.from(rand(n * img.c * img.h * img.w, seed, 0, 1));

export const count = (shape: readonly number[]) => size(shape);

export interface ProjectSteps {
  state: Map<string, Float32Array>;
  losses: number[];
  /** `<step>.<view>` → that step's view */
  views: Map<string, { shape: number[]; data: Float32Array }>;
  final: Map<string, Float32Array>;
}

/**
 * `count` training steps of `spec` (the project's whole compiled step: gradients, optimizer,
 * EMA, queues) from perturbed state at `start`, one batch of `images(step)` per step. The
 * starting state is written to `checkpointDir`.
 */
export async function projectSteps(
  spec: PipelineSpec,
  img: ImageShape,
  images: (step: number) => Float32Array,
  start: number,
  count: number,
  geometry: RunGeometry,
  checkpointDir: string,
): Promise<ProjectSteps> {
  const gpu = await getGpu();
  const t = trainingGraph(spec, img);
  exposeViews(t.graph, spec);
  const step = compileStep(t, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 } });
  const { program } = step;
  const ex = await Executable.create(gpu, program);
  try {
    const state = perturbed(ex.initPersistent(spec.seed), spec.seed + 2);
    for (const [name, v] of state) ex.write(name, v);
    const shapeOf = (n: string) => [...program.storages[program.persistent.get(n)!].shape!];
    saveCheckpoint(checkpointDir, {
      tensors: Object.fromEntries([...state].map(([n, v]) => [n, { shape: shapeOf(n), data: v }])),
      spec,
      specHash: specHash(spec),
      step: start,
      epoch: Math.floor(start / geometry.stepsPerEpoch),
    });
    const losses: number[] = [];
    const views = new Map<string, { shape: number[]; data: Float32Array }>();
    for (let s = start; s < start + count; s++) {
      ex.write("images", images(s));
      ex.setScalars(step.plan.values(s, geometry));
      ex.run();
      losses.push((await ex.read("loss"))[0]);
      for (const name of program.outputs.keys()) {
        if (name.startsWith("view.")) {
          views.set(`${s}.${name.slice(5)}`, {
            shape: [...program.outputs.get(name)!.shape],
            data: await ex.read(name),
          });
        }
      }
    }
    const final = new Map<string, Float32Array>();
    for (const name of program.persistent.keys()) final.set(name, await ex.read(name));
    return { state, losses, views, final };
  } finally {
    ex.destroy();
  }
}

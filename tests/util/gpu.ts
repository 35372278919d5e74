// GPU side of the test helpers: run a one-op (or any) graph through the real compiler and
// runtime and read the result back.
import { compile, type CompileOptions } from "../../compiler/compile.ts";
import type { Graph } from "../../ir/graph.ts";
import type { Attrs } from "../../kernels/op.ts";
import { getGpu, type Gpu } from "../../runtime/device.ts";
import { Executable } from "../../runtime/executable.ts";
import { grad } from "../../ir/autodiff.ts";
import { evaluate } from "../../cpu/reference.ts";
import { type Arg, assertClose, opGraph, rand } from "./check.ts";

export const getDevice = async (): Promise<GPUDevice> => (await getGpu()).device;
export { getGpu, type Gpu };

/** Compile and run graph `g` once with input values by name; returns the named outputs. */
export async function runGraphGPU(
  g: Graph,
  leaves: Map<string, ArrayLike<number>>,
  scalars: Record<string, number> = {},
  opts: CompileOptions = {},
): Promise<Map<string, Float32Array>> {
  const gpu = await getGpu();
  const program = compile(g, { features: { subgroups: gpu.features.subgroups, f16: gpu.features.f16 }, ...opts });
  const ex = await Executable.create(gpu, program);
  try {
    for (const name of [...program.inputs.keys(), ...program.persistent.keys()]) {
      const v = leaves.get(name);
      if (!v) throw new Error(`runGraphGPU: no value for '${name}'`);
      ex.write(name, Float32Array.from(v));
    }
    if (program.scalarIndex.size) ex.setScalars(scalars);
    ex.run();
    const out = new Map<string, Float32Array>();
    for (const name of g.outputs.keys()) out.set(name, await ex.read(name));
    return out;
  } finally {
    ex.destroy();
  }
}

/** Run one op on the GPU over inputs x0, x1, … */
export async function runOpGPU(
  op: string,
  args: Arg[],
  attrs: Attrs = {},
  scalars: Record<string, number> = {},
  opts: CompileOptions = {},
): Promise<Float32Array> {
  const { g, out, leaves } = opGraph(op, args, attrs);
  g.output("out", out);
  return (await runGraphGPU(g, leaves, scalars, opts)).get("out")!;
}

/** The op's backward graph (d/dx of Σ w ⊙ op(x)) compiled for the GPU vs the float64 backward. */
export async function gpuBackward(op: string, args: Arg[], attrs: Record<string, unknown>, wrt: number[], tol = 1e-4) {
  const { g, ins, out, leaves } = opGraph(op, args, attrs);
  const w = g.input("w", out.shape);
  leaves.set("w", rand(out.shape.reduce((a, b) => a * b, 1), 99));
  const grads = grad(g, out.mul(w).sum(), wrt.map((k) => ins[k]));
  grads.forEach((t, j) => g.output(`d${wrt[j]}`, t!));
  const cpu = evaluate(g, { leaves, scalars: {} });
  const gpu = await runGraphGPU(g, leaves);
  grads.forEach((t, j) =>
    assertClose(gpu.get(`d${wrt[j]}`)!, cpu[t!.id], { rtol: tol, atol: tol * 0.1 }, `${op} backward d${wrt[j]}`)
  );
}

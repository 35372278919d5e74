// A graph compiled for the device it will run on: the kernel variants are the autotuner's cached
// picks for this adapter, or its untuned defaults (shared-memory tiles on a discrete GPU, the
// convolutions' lavapipe tile on CPU adapters); SSL_TUNE=1 times the candidates of shapes it has not seen.
// Every program the project runs is compiled with these options: compileFor, or (for the training
// step, which step/build.ts compiles) deviceCompileOptions.
import { host } from "../platform/current.ts";
import { compile, type CompileOptions, type Program } from "../compiler/compile.ts";
import type { Graph } from "../ir/graph.ts";
import { adapterKey, pickVariants } from "./autotune.ts";
import type { Gpu } from "./device.ts";

/** The compile() options for this device: its features and the variant picks for graph `g`. */
export async function deviceCompileOptions(
  gpu: Gpu,
  g: Graph,
): Promise<
  {
    features: { subgroups: boolean; f16: boolean };
    variant: NonNullable<CompileOptions["variant"]>;
    maxStorageBuffers: number;
  }
> {
  const features = { subgroups: gpu.features.subgroups, f16: gpu.features.f16 };
  const variant = await pickVariants(gpu.device, g, {
    adapter: adapterKey(gpu.adapter.info),
    features,
    tune: host().env("SSL_TUNE") === "1",
  });
  return { features, variant, maxStorageBuffers: gpu.device.limits.maxStorageBuffersPerShaderStage };
}

/** `opts` may not set what the device decides (features, variants, the storage buffer limit). */
export async function compileFor(
  gpu: Gpu,
  g: Graph,
  opts: Omit<CompileOptions, "features" | "variant" | "maxStorageBuffers"> = {},
): Promise<Program> {
  return compile(g, { ...opts, ...(await deviceCompileOptions(gpu, g)) });
}

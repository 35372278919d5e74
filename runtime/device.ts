// Getting a GPUDevice from dawn.node (npm `webgpu`) under Deno, Bun and Node, with the
// adapter's real limits and optional features, and errors that say what to do.
import process from "node:process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { awaitGpu } from "./wait.ts";
import type { SubgroupMatrixConfig } from "../kernels/matmul/common.ts";

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** e.g. "llvmpipe (LLVM 19.1.7, 256 bits) / vulkan" */
  description: string;
  /** tensorCores: 'chromium-experimental-subgroup-matrix' was enabled (subgroup matrices through WebGPU) */
  features: { subgroups: boolean; f16: boolean; timestamps: boolean; tensorCores?: boolean };
  /** the adapter's subgroup-matrix configs when tensorCores is on, else empty */
  subgroupMatrixConfigs?: SubgroupMatrixConfig[];
  /** the adapter's subgroup size range (undefined when it does not say) */
  subgroupSize?: { min: number; max: number };
  /** label of the last kernel encoded, to attribute asynchronous errors */
  lastLabel: { value: string };
}

let cached: Promise<Gpu> | undefined;

const NO_ADAPTER_HELP = [
  "No WebGPU adapter was found.",
  "This project runs WebGPU through Dawn (npm 'webgpu'), which needs a Vulkan driver.",
  "On Linux without a GPU install Mesa >= 24 lavapipe; on Debian 12:",
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list",
  "  apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers",
  "(Debian 12's own Mesa 22 lavapipe is rejected by Dawn.) `bash .ci/setup.sh` does all of this.",
].join("\n");

/**
 * No WebGPU adapter (no usable Vulkan driver): the environment, not the program, is at fault, and
 * the message says how to fix it. Exit status 2, as for a missing data set: something the user
 * installs or names, never a stack trace.
 */
export class NoAdapterError extends Error {
  override name = "NoAdapterError";
  readonly exitCode = 2;
}

export function getGpu(): Promise<Gpu> {
  cached ??= open();
  // a failed open is not cached: the caller may install a driver and ask again
  cached.catch(() => (cached = undefined));
  return cached;
}

async function open(): Promise<Gpu> {
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa prints errors without it; any writable folder will do
    const dir = `${tmpdir()}/ssl-webgpu-xdg`;
    mkdirSync(dir, { recursive: true });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  let mod: { create: (o: string[]) => GPU; globals: object };
  try {
    mod = await import("webgpu");
  } catch (e) {
    throw new Error(
      `Could not load the npm package 'webgpu' (dawn.node): ${
        (e as Error).message
      }\nRun \`npm install\` (or \`bash .ci/setup.sh\`) in the project folder.`,
    );
  }
  Object.assign(globalThis, mod.globals);
  // the Dawn instance must outlive the device: if it is collected, promises never resolve
  const gpu = mod.create(dawnToggles());
  (globalThis as Record<string, unknown>).__sslDawnInstance = gpu;
  const adapter = await awaitGpu(gpu.requestAdapter({ powerPreference: "high-performance" }));
  if (!adapter) throw new NoAdapterError(NO_ADAPTER_HELP);
  // the subgroup-matrix feature is listed only with allow_unsafe_apis (see dawnToggles)
  const want = ["subgroups", "shader-f16", "timestamp-query", SUBGROUP_MATRIX] as GPUFeatureName[];
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const L = adapter.limits;
  const device = await awaitGpu(adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    },
  }));
  const info = adapter.info;
  const description = [
    info.description || info.device || "unknown adapter",
    info.architecture,
    (info as unknown as { backendType?: string }).backendType ?? "",
  ]
    .filter(Boolean).join(" / ");
  const lastLabel = { value: "(none)" };
  device.addEventListener("uncapturederror", (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    console.error(`WebGPU error (last kernel encoded: ${lastLabel.value}): ${err.message}`);
  });
  device.lost.then((l) => {
    if (l.reason !== "destroyed") console.error(`WebGPU device lost (last kernel: ${lastLabel.value}): ${l.message}`);
  });
  const ext = info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
  };
  const subgroupMatrix = requiredFeatures.includes(SUBGROUP_MATRIX as GPUFeatureName);
  return {
    device,
    adapter,
    description,
    features: {
      subgroups: requiredFeatures.includes("subgroups"),
      f16: requiredFeatures.includes("shader-f16"),
      timestamps: requiredFeatures.includes("timestamp-query"),
      tensorCores: subgroupMatrix,
    },
    subgroupMatrixConfigs: subgroupMatrix ? [...(ext.subgroupMatrixConfigs ?? [])].map(plainConfig) : [],
    subgroupSize: ext.subgroupMinSize && ext.subgroupMaxSize
      ? { min: ext.subgroupMinSize, max: ext.subgroupMaxSize }
      : undefined,
    lastLabel,
  };
}

/** WebGPU's experimental tensor-core feature (Dawn); WGSL `enable chromium_experimental_subgroup_matrix;` */
const SUBGROUP_MATRIX = "chromium-experimental-subgroup-matrix";

/**
 * Dawn instance toggles. allow_unsafe_apis makes the adapter list experimental features (the
 * subgroup-matrix one is requested only where the adapter offers it); without
 * timestamp_quantization, timestamp queries keep their nanoseconds instead of being rounded to
 * 65.536 µs, which per-dispatch profiles need. SSL_DAWN_SAFE=1 leaves Dawn's defaults.
 */
function dawnToggles(): string[] {
  if (process.env.SSL_DAWN_SAFE === "1") return [];
  return ["enable-dawn-features=allow_unsafe_apis", "disable-dawn-features=timestamp_quantization"];
}

/** A GPUSubgroupMatrixConfig copied into a plain object (dawn.node's config objects are wrappers). */
export const plainConfig = (c: SubgroupMatrixConfig): SubgroupMatrixConfig => ({
  componentType: c.componentType,
  resultComponentType: c.resultComponentType,
  M: c.M,
  N: c.N,
  K: c.K,
});

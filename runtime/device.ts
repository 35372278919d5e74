// Getting a GPUDevice from any WebGPU entry point (a GPU object): dawn.node (npm `webgpu`,
// platform/dawn.ts) under Deno, Bun and Node, navigator.gpu in a page. The device gets the
// adapter's real limits and the optional features it has, and the Gpu says which, so the compiler
// picks its variants from them; an adapter offered only in compatibility mode (some browsers) is
// taken as it is. Errors say what to do.
//   const gpu = await getGpu();                        // the platform's entry point
//   const gpu = await openGpu(navigator.gpu);          // any GPU object
import { platform, serverRuntime } from "../platform/current.ts";
import { awaitGpu } from "./wait.ts";
import { type MatmulFeatures, type SubgroupMatrixConfig, subgroupsUsable } from "../kernels/matmul/common.ts";

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
  /** the adapter is a compatibility-mode one (featureLevel "compatibility": lower limits) */
  compatibility?: boolean;
  /** label of the last kernel encoded, to attribute asynchronous errors */
  lastLabel: { value: string };
}

let cached: Promise<Gpu> | undefined;

const NO_PAGE_ADAPTER_HELP = "This browser offers WebGPU but no adapter: enable hardware acceleration " +
  "(or WebGPU in the browser's flags) and reload; chrome://gpu tells what the browser sees.";

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
  if (cached) return cached;
  const opening = platform().gpu().then((api) => openGpu(api));
  cached = opening;
  // a failed open is not cached: the caller may install a driver and ask again; nor is a lost
  // device (a page's GPU reset, a driver update): the next call opens a new one
  const forget = () => {
    if (cached === opening) cached = undefined;
  };
  opening.then((gpu) => gpu.device.lost.then(forget), forget);
  return opening;
}

/**
 * Opens an adapter and a device from `api` (dawn.node's GPU or navigator.gpu): the
 * high-performance adapter, else a compatibility-mode one, else NoAdapterError.
 */
export async function openGpu(api: GPU): Promise<Gpu> {
  let compatibility = false;
  let adapter = await awaitGpu(api.requestAdapter({ powerPreference: "high-performance" }));
  if (!adapter) {
    adapter = await awaitGpu(api.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions));
    compatibility = !!adapter;
  }
  if (!adapter) throw new NoAdapterError(serverRuntime ? NO_ADAPTER_HELP : NO_PAGE_ADAPTER_HELP);
  // an adapter handed out for "core" may still say it is a compatibility one
  compatibility ||= (adapter as { featureLevel?: string }).featureLevel === "compatibility";
  // the subgroup-matrix feature is listed only with allow_unsafe_apis (platform/dawn.ts)
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
      subgroups: subgroupsUsable(requiredFeatures.includes("subgroups"), ext.subgroupMinSize),
      f16: requiredFeatures.includes("shader-f16"),
      timestamps: requiredFeatures.includes("timestamp-query"),
      tensorCores: subgroupMatrix,
    },
    subgroupMatrixConfigs: subgroupMatrix ? [...(ext.subgroupMatrixConfigs ?? [])].map(plainConfig) : [],
    subgroupSize: ext.subgroupMinSize && ext.subgroupMaxSize
      ? { min: ext.subgroupMinSize, max: ext.subgroupMaxSize }
      : undefined,
    compatibility,
    lastLabel,
  };
}

/** WebGPU's experimental tensor-core feature (Dawn); WGSL `enable chromium_experimental_subgroup_matrix;` */
const SUBGROUP_MATRIX = "chromium-experimental-subgroup-matrix";

/** A GPUSubgroupMatrixConfig copied into a plain object (dawn.node's config objects are wrappers). */
export const plainConfig = (c: SubgroupMatrixConfig): SubgroupMatrixConfig => ({
  componentType: c.componentType,
  resultComponentType: c.resultComponentType,
  M: c.M,
  N: c.N,
  K: c.K,
});

/**
 * What the device offers the matmul variants, read off the device itself: subgroups, f16, and
 * (when the device enabled the feature) the adapter's subgroup-matrix configs and subgroup sizes.
 */
export function deviceFeatures(device: GPUDevice): MatmulFeatures {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo as
    | (GPUAdapterInfo & {
      subgroupMinSize?: number;
      subgroupMaxSize?: number;
      subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
    })
    | undefined;
  const sgm = device.features.has("chromium-experimental-subgroup-matrix" as GPUFeatureName);
  return {
    subgroups: subgroupsUsable(device.features.has("subgroups"), info?.subgroupMinSize),
    f16: device.features.has("shader-f16"),
    subgroupMatrix: sgm ? [...(info?.subgroupMatrixConfigs ?? [])].map(plainConfig) : [],
    subgroupMinSize: info?.subgroupMinSize,
    subgroupMaxSize: info?.subgroupMaxSize,
  };
}

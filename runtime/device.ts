// Getting a GPUDevice from dawn.node (npm `webgpu`) under Deno, Bun and Node, with the
// adapter's real limits and optional features, and errors that say what to do.
import process from "node:process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { awaitGpu } from "./wait.ts";

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** e.g. "llvmpipe (LLVM 19.1.7, 256 bits) / vulkan" */
  description: string;
  features: { subgroups: boolean; f16: boolean; timestamps: boolean };
  /** label of the last kernel encoded, to attribute asynchronous errors */
  lastLabel: { value: string };
}

let cached: Promise<Gpu> | undefined;

export const NO_ADAPTER_HELP = [
  "No WebGPU adapter was found.",
  "This project runs WebGPU through Dawn (npm 'webgpu'), which needs a Vulkan driver.",
  "On Linux without a GPU install Mesa >= 24 lavapipe; on Debian 12:",
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list",
  "  apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers",
  "(Debian 12's own Mesa 22 lavapipe is rejected by Dawn.) `bash .ci/setup.sh` does all of this.",
].join("\n");

export function getGpu(): Promise<Gpu> {
  cached ??= open();
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
    throw new Error(`Could not load the npm package 'webgpu' (dawn.node): ${(e as Error).message}\nRun \`npm install\` (or \`bash .ci/setup.sh\`) in the project folder.`);
  }
  Object.assign(globalThis, mod.globals);
  // the Dawn instance must outlive the device: if it is collected, promises never resolve
  const gpu = mod.create([]);
  (globalThis as Record<string, unknown>).__sslDawnInstance = gpu;
  const adapter = await awaitGpu(gpu.requestAdapter({ powerPreference: "high-performance" }));
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const want: GPUFeatureName[] = ["subgroups", "shader-f16", "timestamp-query"];
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
  const description = [info.description || info.device || "unknown adapter", info.architecture, (info as unknown as { backendType?: string }).backendType ?? ""]
    .filter(Boolean).join(" / ");
  const lastLabel = { value: "(none)" };
  device.addEventListener("uncapturederror", (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    console.error(`WebGPU error (last kernel encoded: ${lastLabel.value}): ${err.message}`);
  });
  device.lost.then((l) => {
    if (l.reason !== "destroyed") console.error(`WebGPU device lost (last kernel: ${lastLabel.value}): ${l.message}`);
  });
  return {
    device,
    adapter,
    description,
    features: {
      subgroups: requiredFeatures.includes("subgroups"),
      f16: requiredFeatures.includes("shader-f16"),
      timestamps: requiredFeatures.includes("timestamp-query"),
    },
    lastLabel,
  };
}

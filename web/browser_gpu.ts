// The page's view of the core's device opener (runtime/device.ts openGpu on navigator.gpu): the
// reasons a page has no GPU (no API, not a secure context, no adapter), which the page explains
// per browser (webgpu_help.ts), and two facts a page shows that the core does not need: the
// feature level and whether the adapter is a software fallback such as SwiftShader.
import { type Gpu, NoAdapterError, openGpu } from "../runtime/device.ts";

/** Why there is no GPU: the API is missing, the page is not a secure context, or no adapter. */
export type NoGpuReason = "no-api" | "insecure-context" | "no-adapter";

export class NoWebGpuError extends Error {
  override name = "NoWebGpuError";
  constructor(readonly reason: NoGpuReason, message: string) {
    super(message);
  }
}

export interface BrowserGpu extends Gpu {
  /** "core", or "compatibility" when the device lacks core-features-and-limits */
  featureLevel: "core" | "compatibility";
  /** GPUAdapterInfo.isFallbackAdapter (a software adapter such as SwiftShader) */
  isFallbackAdapter: boolean;
}

export async function openBrowserGpu(gpuApi: GPU | undefined = navigator.gpu): Promise<BrowserGpu> {
  if (!gpuApi) {
    if (!globalThis.isSecureContext) {
      throw new NoWebGpuError("insecure-context", "WebGPU needs a secure context (https, or http://localhost)");
    }
    throw new NoWebGpuError("no-api", "this browser does not expose WebGPU (navigator.gpu is undefined)");
  }
  let gpu: Gpu;
  try {
    gpu = await openGpu(gpuApi);
  } catch (e) {
    if (e instanceof NoAdapterError) {
      throw new NoWebGpuError("no-adapter", "navigator.gpu.requestAdapter() found no adapter");
    }
    throw e;
  }
  const info = gpu.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    ...gpu,
    // Chromium's compatibility-mode adapters lack the feature rather than saying featureLevel
    featureLevel: gpu.device.features.has("core-features-and-limits") ? "core" : "compatibility",
    isFallbackAdapter: info.isFallbackAdapter ?? false,
  };
}

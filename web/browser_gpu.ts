// The runtime's Gpu (runtime/device.ts) opened from the page's own navigator.gpu: the adapter at
// core feature level if there is one, else in WebGPU compatibility mode (OpenGL ES class devices,
// e.g. lavapipe through ANGLE), with all of the adapter's limits and the optional features the
// kernels use. runtime/device.ts itself opens dawn.node and imports node: modules, so only its type
// is imported here; this stands in until the core offers a platform-neutral opener.
import type { Gpu } from "../runtime/device.ts";

/** Why there is no GPU: the API is missing, the page is not a secure context, or no adapter. */
export type NoGpuReason = "no-api" | "insecure-context" | "no-adapter";

export class NoWebGpuError extends Error {
  override name = "NoWebGpuError";
  constructor(readonly reason: NoGpuReason, message: string) {
    super(message);
  }
}

/** The optional features the kernels use, requested where the adapter has them. */
const WANTED: GPUFeatureName[] = ["subgroups", "shader-f16", "timestamp-query", "core-features-and-limits"];

/**
 * The subgroup kernels share values across 8 lanes (kernels/matmul/subgroup.ts, the conv tiles);
 * on a smaller subgroup they compute wrong results (SwiftShader's subgroups have 4 lanes, as have
 * some mobile GPUs), so subgroups count only where every subgroup has at least 8.
 */
const MIN_SUBGROUP_LANES = 8;

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
  const adapter = await gpuApi.requestAdapter({ powerPreference: "high-performance" }) ??
    await gpuApi.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions);
  if (!adapter) throw new NoWebGpuError("no-adapter", "navigator.gpu.requestAdapter() found no adapter");
  const requiredFeatures = WANTED.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const lastLabel = { value: "(none)" };
  device.addEventListener("uncapturederror", (ev) => {
    console.error(
      `WebGPU error (last kernel encoded: ${lastLabel.value}): ${(ev as GPUUncapturedErrorEvent).error.message}`,
    );
  });
  device.lost.then((l) => {
    if (l.reason !== "destroyed") console.error(`WebGPU device lost (last kernel: ${lastLabel.value}): ${l.message}`);
  });
  const info = adapter.info as GPUAdapterInfo & {
    isFallbackAdapter?: boolean;
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  const has = (f: GPUFeatureName) => device.features.has(f);
  return {
    device,
    adapter,
    description: [info.description || info.device || "unknown adapter", info.architecture].filter(Boolean).join(" / "),
    features: {
      subgroups: has("subgroups") && (info.subgroupMinSize ?? 0) >= MIN_SUBGROUP_LANES,
      f16: has("shader-f16"),
      timestamps: has("timestamp-query"),
    },
    subgroupMatrixConfigs: [],
    subgroupSize: info.subgroupMinSize && info.subgroupMaxSize
      ? { min: info.subgroupMinSize, max: info.subgroupMaxSize }
      : undefined,
    lastLabel,
    featureLevel: has("core-features-and-limits") ? "core" : "compatibility",
    isFallbackAdapter: info.isFallbackAdapter ?? false,
  };
}

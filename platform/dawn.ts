// WebGPU under Deno, Bun and Node: the npm package `webgpu` (dawn.node). runtime/device.ts opens
// its Gpu from the GPU object this returns, as a page opens one from navigator.gpu.
//   import { dawnGpu } from "./platform/dawn.ts";
//   const gpu = await openGpu(await dawnGpu());   // what getGpu() does by default
import process from "node:process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";

let instance: Promise<GPU> | undefined;

/** The Dawn GPU object (loaded once), with this project's toggles; its globals are installed. */
export function dawnGpu(): Promise<GPU> {
  instance ??= load();
  instance.catch(() => (instance = undefined));
  return instance;
}

async function load(): Promise<GPU> {
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
  return gpu;
}

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

// The platform the product runs on, chosen once: platform/node.ts under Deno, Bun and Node (a
// dynamic import, so a page never loads node:*), platform/browser.ts in a page. usePlatform
// replaces parts of it (a page's or a test's in-memory files) and returns the function that
// puts the earlier ones back.
//   const restore = usePlatform({ files: memoryFiles() });
//   try { await train(spec, { out: "run" }); } finally { restore(); }
import type { Files } from "./files.ts";
import type { Process } from "./process.ts";
import type { KeyValueStore } from "./store.ts";
import { pagePlatform } from "./browser.ts";

export interface Platform {
  files: Files;
  process: Process;
  /** the autotune cache's store */
  store: KeyValueStore;
  /** the WebGPU entry point: dawn.node's GPU, or navigator.gpu */
  gpu(): Promise<GPU>;
}

/** Deno, Bun and Node (Bun also sets process.versions.node). */
export const serverRuntime: boolean = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ||
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

async function serverPlatform(): Promise<Platform> {
  const node = await import("./node.ts");
  return {
    files: node.nodeFiles,
    process: node.nodeProcess,
    store: node.fileStore,
    gpu: () => import("./dawn.ts").then((m) => m.dawnGpu()),
  };
}

let current: Platform = serverRuntime ? await serverPlatform() : pagePlatform();

/** The platform in use. */
export const platform = (): Platform => current;
/** Shorthands for the parts the core uses most. */
export const files = (): Files => current.files;
export const host = (): Process => current.process;

/** Replaces parts of the platform; returns the function that restores the earlier ones. */
export function usePlatform(parts: Partial<Platform>): () => void {
  const before = current;
  current = { ...current, ...parts };
  return () => void (current = before);
}

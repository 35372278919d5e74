// The platform in a page: WebGPU from navigator.gpu, run files in memory (memoryFiles), the
// autotune cache in localStorage, a process with no arguments, signals or pid.
//
//   import { usePlatform } from "./platform/current.ts";
//   import { memoryFiles } from "./platform/files.ts";
//   import { getGpu } from "./runtime/device.ts";
//   const files = memoryFiles();
//   usePlatform({ files });          // a page already gets pagePlatform(); this keeps a handle on its files
//   const gpu = await getGpu();      // opens navigator.gpu's adapter (compatibility mode if that is all there is)
//   await runMethod(spec, { out: "runs/barlow", ... });
//   for (const { path, bytes } of files.list("runs/barlow")) offerDownload(path, bytes);
import type { Platform } from "./current.ts";
import { memoryFiles } from "./files.ts";
import type { Process } from "./process.ts";
import { type KeyValueStore, memoryStore } from "./store.ts";

/** navigator.gpu, or an error that says the page's browser has no WebGPU. */
export function navigatorGpu(): Promise<GPU> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    return Promise.reject(
      new Error("This browser has no WebGPU (navigator.gpu is missing): use a recent Chrome, Edge, Firefox or Safari."),
    );
  }
  return Promise.resolve(gpu);
}

/** localStorage under a prefix, or a Map where there is none (private windows may refuse). */
export function localStore(prefix = "ssl-webgpu:"): KeyValueStore {
  const ls = (globalThis as { localStorage?: Storage }).localStorage;
  if (!ls) return memoryStore();
  return {
    get: (k) => ls.getItem(prefix + k) ?? undefined,
    set(k, v) {
      try {
        ls.setItem(prefix + k, v);
      } catch { /* quota exceeded: the cache only saves time */ }
    },
  };
}

/** A page's process: nothing to read from a command line, nothing to signal. */
export const pageProcess: Process = {
  args: [],
  programUrl: "",
  env: () => undefined,
  exit(code) {
    throw new Error(`exit(${code}) called in a page`);
  },
  onInterrupt: () => () => {},
  pid: 0,
  hostname: "browser",
  alive: (pid) => pid === 0,
  writeStdout: () => {},
  stdoutIsTerminal: () => false,
  // the page cannot see the machine's memory; deviceMemory (GiB, Chrome) is a rough hint
  totalMemory: () => ((globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 4) * 2 ** 30,
  collectGarbage: () => false,
};

/** Everything a page runs on: a fresh in-memory file store, localStorage, navigator.gpu. */
export const pagePlatform = (): Platform => ({
  files: memoryFiles(),
  process: pageProcess,
  store: localStore(),
  gpu: navigatorGpu,
});

// The platform under Deno, Bun and Node: files through node:fs, the process through
// node:process (all three runtimes provide both), the autotune cache as files. platform/current.ts
// loads this module only where those runtimes run, so a page never imports node:*.
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname, totalmem } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import type { Files } from "./files.ts";
import type { Process } from "./process.ts";
import type { KeyValueStore } from "./store.ts";
import { dirname } from "./path.ts";

export const nodeFiles: Files = {
  readFile: (p) => readFileSync(p),
  readText: (p) => readFileSync(p, "utf8"),
  writeFile(p, data, o = {}) {
    const chunks = typeof data === "string" ? [new TextEncoder().encode(data)] : Array.isArray(data) ? data : [data];
    const fd = openSync(p, o.exclusive ? "wx" : "w", o.mode ?? 0o644);
    try {
      for (const c of chunks) {
        // writeSync may write less than asked (e.g. large buffers); loop until the chunk is done.
        for (let off = 0; off < c.length;) off += writeSync(fd, c, off, c.length - off);
      }
      if (o.sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  appendFile: (p, text) => appendFileSync(p, text, { mode: 0o644 }),
  mkdir: (p) => mkdirSync(p, { recursive: true }) ?? undefined,
  readdir: (p) => readdirSync(p),
  stat(p) {
    const s = statSync(p);
    return { isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size, mtimeMs: s.mtimeMs };
  },
  exists: (p) => existsSync(p),
  unlink: (p) => unlinkSync(p),
  rmdir: (p) => rmdirSync(p),
  rename: (a, b) => renameSync(a, b),
  link: (a, b) => linkSync(a, b),
  syncDir(dir) {
    try {
      const fd = openSync(dir, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch { /* not supported for directories here (e.g. Windows); the data itself is synced */ }
  },
  resolve: (p) => resolve(p),
};

let gc: (() => void) | undefined | null;

// dawn.node's command encoders and buffers hold native memory the engine does not count, so it
// collects them rarely; the training loop asks for a collection while it waits for the device.
function findGc(): (() => void) | null {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  try {
    // V8 (Deno, Node): expose gc for this process, then take it from a fresh context
    v8.setFlagsFromString("--expose-gc");
    const f = vm.runInNewContext("gc") as unknown;
    return typeof f === "function" ? (f as () => void) : null;
  } catch {
    return null;
  }
}

export const nodeProcess: Process = {
  get args() {
    return process.argv.slice(2);
  },
  get programUrl() {
    return process.argv[1] ? pathToFileURL(process.argv[1]).href : "";
  },
  env: (name) => process.env[name],
  exit: (code) => process.exit(code),
  onInterrupt(handler) {
    process.on("SIGINT", handler);
    return () => void process.off("SIGINT", handler);
  },
  pid: process.pid,
  hostname: hostname(),
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as { code?: string }).code === "EPERM"; // it exists but belongs to someone else
    }
  },
  writeStdout: (s) => void process.stdout.write(s),
  stdoutIsTerminal() {
    const deno = (globalThis as { Deno?: { stdout: { isTerminal(): boolean } } }).Deno;
    return deno ? deno.stdout.isTerminal() : Boolean(process.stdout.isTTY);
  },
  totalMemory: () => totalmem(),
  collectGarbage() {
    if (gc === undefined) gc = findGc();
    if (!gc) return false;
    gc();
    return true;
  },
};

/** Keys are file paths; a value replaces its file through a temp file and a rename. */
export const fileStore: KeyValueStore = {
  get(key) {
    try {
      return readFileSync(key, "utf8");
    } catch {
      return undefined; // missing or unreadable: nothing stored
    }
  },
  set(key, value) {
    mkdirSync(dirname(key), { recursive: true });
    const tmp = `${key}.${Date.now()}.${Math.floor(Math.random() * 1e9)}.tmp`;
    nodeFiles.writeFile(tmp, value);
    renameSync(tmp, key);
  },
};

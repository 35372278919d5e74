// Atomic file replacement: write a temp file in the same folder, fsync, rename over the target.
//
// A crash or a full disk mid-write then leaves either the old file or the new one, never a
// truncated checkpoint. The temp file must be in the same folder because rename is only
// atomic within one file system. node:fs so the same code runs under Deno, Bun and Node.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";

/** A failed atomic write; the message names the target file (not the temp file) and the reason. */
export class AtomicWriteError extends Error {
  override name = "AtomicWriteError";
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot write ${path}: ${reason}`);
  }
}

/** Writes `data` (bytes, text, or a list of byte chunks written in order) to `path` atomically. */
export function writeFileAtomic(path: string, data: Uint8Array | string | Uint8Array[]): void {
  const chunks = typeof data === "string" ? [new TextEncoder().encode(data)] : Array.isArray(data) ? data : [data];
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  // (the name format is what cleanStaleTemps recognises: .<file>.<pid>.<random>.tmp)
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, "wx", 0o644);
    for (const c of chunks) {
      // writeSync may write less than asked (e.g. large buffers); loop until the chunk is done.
      for (let off = 0; off < c.length;) off += writeSync(fd, c, off, c.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch { /* the temp file may not exist */ }
    throw new AtomicWriteError(path, (e as Error).message);
  }
  syncDir(dir);
}

/** Persists the rename itself (the directory entry). Best effort: some platforms refuse. */
function syncDir(dir: string) {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch { /* not supported for directories here (e.g. Windows); the data itself is synced */ }
}

/** `.<file>.<pid>.<random>.tmp`: a temp file of writeFileAtomic. */
const TEMP_RE = /^\.(.+)\.(\d+)\.([a-z0-9]+)\.tmp$/;

/** Whether process `pid` exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes the temp files that writeFileAtomic left in `dir` when its process was killed mid-write
 * (they would stay forever: nothing else deletes them). A temp is stale when the process named
 * in it is gone, or when it is older than `maxAgeMs` (a pid can be reused, e.g. after a
 * restart); a temp of a live writer younger than that is kept. Other files are never touched.
 * Returns the paths removed. A missing `dir` has nothing to clean.
 */
export function cleanStaleTemps(dir: string, maxAgeMs = 10 * 60_000): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw new Error(`cannot list ${dir} to clean stale temp files: ${(e as Error).message}`);
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const pid = Number(m[2]);
    let age: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      age = Date.now() - st.mtimeMs;
    } catch {
      continue; // gone meanwhile
    }
    const writerGone = pid !== process.pid && !processAlive(pid);
    if (!writerGone && age <= maxAgeMs) continue;
    try {
      unlinkSync(path);
      removed.push(path);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") {
        throw new Error(`cannot remove the stale temp file ${path}: ${(e as Error).message}`);
      }
    }
  }
  return removed;
}

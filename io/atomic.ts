// Atomic file replacement: write a temp file in the same folder, fsync, rename over the target.
//
// A crash or a full disk mid-write then leaves either the old file or the new one, never a
// truncated checkpoint. The temp file must be in the same folder because rename is only
// atomic within one file system. Through platform/files, so the same code runs under Deno, Bun
// and Node (node:fs) and in a page (in memory, where every write is whole anyway).
import { files, host } from "../platform/current.ts";
import { basename, dirname, join } from "../platform/path.ts";

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
  const fs = files();
  const tmp = join(dir, `.${basename(path)}.${host().pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  // (the name format is what cleanStaleTemps recognises: .<file>.<pid>.<random>.tmp)
  try {
    fs.mkdir(dir);
    fs.writeFile(tmp, chunks, { exclusive: true, mode: 0o644, sync: true });
    fs.rename(tmp, path);
  } catch (e) {
    try {
      fs.unlink(tmp);
    } catch { /* the temp file may not exist */ }
    throw new AtomicWriteError(path, (e as Error).message);
  }
  fs.syncDir(dir); // persists the rename itself (the directory entry)
}

/** `.<file>.<pid>.<random>.tmp`: a temp file of writeFileAtomic. */
const TEMP_RE = /^\.(.+)\.(\d+)\.([a-z0-9]+)\.tmp$/;

/** Whether process `pid` exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  return host().alive(pid);
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
    names = files().readdir(dir);
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
      const st = files().stat(path);
      if (!st.isFile) continue;
      age = Date.now() - st.mtimeMs;
    } catch {
      continue; // gone meanwhile
    }
    const writerGone = pid !== host().pid && !processAlive(pid);
    if (!writerGone && age <= maxAgeMs) continue;
    try {
      files().unlink(path);
      removed.push(path);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") {
        throw new Error(`cannot remove the stale temp file ${path}: ${(e as Error).message}`);
      }
    }
  }
  return removed;
}

// Atomic file replacement: write a temp file in the same folder, fsync, rename over the target.
//
// A crash or a full disk mid-write then leaves either the old file or the new one, never a
// truncated checkpoint. The temp file must be in the same folder because rename is only
// atomic within one file system. node:fs so the same code runs under Deno, Bun and Node.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";

/** Writes `data` (bytes, text, or a list of byte chunks written in order) to `path` atomically. */
export function writeFileAtomic(path: string, data: Uint8Array | string | Uint8Array[]): void {
  const chunks = typeof data === "string" ? [new TextEncoder().encode(data)] : Array.isArray(data) ? data : [data];
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
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
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
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

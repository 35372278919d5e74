// The file operations the product needs (run folders, checkpoints, metrics, reports, data sets,
// spec files), as one interface with two implementations: node:fs under Deno, Bun and Node
// (platform/node.ts) and an in-memory store here, usable in a page. Failures carry node's error
// codes (ENOENT, EEXIST, ENOTDIR, EISDIR) in `code`, so the callers' messages read the same on both.
//
// In a page:
//   import { memoryFiles } from "./platform/files.ts";
//   import { usePlatform } from "./platform/current.ts";
//   const files = memoryFiles();
//   usePlatform({ files });                      // before train() / runMethod()
//   files.addFile("data/train-images-idx3-ubyte.gz", bytes);   // a File or fetch() result
//   ... after the run: files.list("runs/barlow") → [{ path, bytes }] to offer for download.

import { dirname, normalize } from "./path.ts";

/** What stat() tells. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtimeMs: number;
}

export interface WriteOptions {
  /** fail with EEXIST when the file exists (node's "wx") */
  exclusive?: boolean;
  /** permission bits of a new file (ignored where there are none) */
  mode?: number;
  /** flush to the disk before returning (fsync) */
  sync?: boolean;
}

export interface Files {
  readFile(path: string): Uint8Array;
  readText(path: string): string;
  /** Writes (or replaces) `path`; a list of chunks is written in order. The folder must exist. */
  writeFile(path: string, data: Uint8Array | string | Uint8Array[], opts?: WriteOptions): void;
  appendFile(path: string, text: string): void;
  /** Creates `path` and its parents; returns the first folder it created (undefined: it existed). */
  mkdir(path: string): string | undefined;
  readdir(path: string): string[];
  stat(path: string): FileInfo;
  exists(path: string): boolean;
  /** Removes a file. */
  unlink(path: string): void;
  /** Removes an empty folder. */
  rmdir(path: string): void;
  rename(from: string, to: string): void;
  /** A second name for a file; EEXIST when `to` exists (the run lock's atomic create). */
  link(from: string, to: string): void;
  /** Persists a folder's entries (after a rename); best effort. */
  syncDir(path: string): void;
  /** An absolute form of `path`, to compare folders. */
  resolve(path: string): string;
}

/** A failed file operation, with node's code and the path in the message. */
export class FileError extends Error {
  override name = "FileError";
  constructor(readonly code: string, readonly path: string, what: string) {
    super(`${code}: ${what}, '${path}'`);
  }
}

/** An in-memory file store (a page's run folder); its files can be listed and read back. */
export interface MemoryFiles extends Files {
  /** Puts a file (and its folders) in the store: a data set file the user picked, say. */
  addFile(path: string, bytes: Uint8Array): void;
  /** Every file under `folder` (all files when omitted), with its path and bytes, sorted by path. */
  list(folder?: string): { path: string; bytes: Uint8Array }[];
}

/** A new empty in-memory store; paths are normalized, "x" and "./x" and "/x" name one file. */
export function memoryFiles(): MemoryFiles {
  const files = new Map<string, { bytes: Uint8Array; mtimeMs: number }>();
  const dirs = new Set<string>(["."]);
  const key = (p: string) => normalize(p).replace(/^\/+/, "").replace(/\/+$/, "") || ".";
  const parentOk = (k: string, p: string) => {
    const d = key(dirname(k));
    if (files.has(d)) throw new FileError("ENOTDIR", p, "not a directory");
    if (!dirs.has(d)) throw new FileError("ENOENT", p, "no such file or directory");
  };
  const file = (p: string) => {
    const k = key(p);
    const f = files.get(k);
    if (!f) throw new FileError(dirs.has(k) ? "EISDIR" : "ENOENT", p, dirs.has(k) ? "is a directory" : "no such file");
    return f;
  };
  const put = (p: string, bytes: Uint8Array, exclusive = false) => {
    const k = key(p);
    if (dirs.has(k)) throw new FileError("EISDIR", p, "is a directory");
    if (exclusive && files.has(k)) throw new FileError("EEXIST", p, "file already exists");
    parentOk(k, p);
    files.set(k, { bytes, mtimeMs: Date.now() });
  };
  const concat = (chunks: Uint8Array[]) => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) out.set(c, (o += c.length) - c.length);
    return out;
  };
  const bytesOf = (d: Uint8Array | string | Uint8Array[]) =>
    typeof d === "string" ? new TextEncoder().encode(d) : Array.isArray(d) ? concat(d) : d.slice();
  const self: MemoryFiles = {
    readFile: (p) => file(p).bytes.slice(),
    readText: (p) => new TextDecoder().decode(file(p).bytes),
    writeFile: (p, d, o = {}) => put(p, bytesOf(d), o.exclusive),
    appendFile(p, text) {
      const k = key(p);
      put(p, concat([files.get(k)?.bytes ?? new Uint8Array(), new TextEncoder().encode(text)]));
    },
    mkdir(p) {
      const k = key(p);
      let first: string | undefined;
      const chain: string[] = [];
      for (let d = k; d !== "." && !dirs.has(d); d = key(dirname(d))) {
        if (files.has(d)) throw new FileError(d === k ? "EEXIST" : "ENOTDIR", p, "a file is in the way");
        chain.unshift(d);
      }
      for (const d of chain) {
        dirs.add(d);
        first ??= d;
      }
      return first === undefined ? undefined : (p.startsWith("/") ? "/" : "") + first;
    },
    readdir(p) {
      const k = key(p);
      if (!dirs.has(k)) throw new FileError(files.has(k) ? "ENOTDIR" : "ENOENT", p, "no such directory");
      const names = new Set<string>();
      for (const e of [...files.keys(), ...dirs]) {
        if (e !== k && key(dirname(e)) === k) names.add(e.slice(k === "." ? 0 : k.length + 1));
      }
      return [...names].sort();
    },
    stat(p) {
      const k = key(p);
      if (dirs.has(k)) return { isFile: false, isDirectory: true, size: 0, mtimeMs: 0 };
      const f = file(p);
      return { isFile: true, isDirectory: false, size: f.bytes.length, mtimeMs: f.mtimeMs };
    },
    exists: (p) => files.has(key(p)) || dirs.has(key(p)),
    unlink(p) {
      file(p);
      files.delete(key(p));
    },
    rmdir(p) {
      const k = key(p);
      if (!dirs.has(k)) throw new FileError(files.has(k) ? "ENOTDIR" : "ENOENT", p, "no such directory");
      if (self.readdir(p).length) throw new FileError("ENOTEMPTY", p, "directory not empty");
      dirs.delete(k);
    },
    rename(from, to) {
      const f = file(from);
      put(to, f.bytes);
      files.delete(key(from));
    },
    link(from, to) {
      const f = file(from);
      if (files.has(key(to)) || dirs.has(key(to))) throw new FileError("EEXIST", to, "file already exists");
      put(to, f.bytes);
    },
    syncDir() {},
    resolve: (p) => "/" + (key(p) === "." ? "" : key(p)),
    addFile(p, bytes) {
      self.mkdir(dirname(p));
      put(p, bytes.slice());
    },
    list(folder) {
      const k = folder === undefined ? "." : key(folder);
      return [...files.keys()].filter((f) => k === "." || f.startsWith(k + "/")).sort()
        .map((f) => ({ path: f, bytes: files.get(f)!.bytes.slice() }));
    },
  };
  return self;
}

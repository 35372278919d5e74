// Reading dataset files: clear messages for missing/unreadable files, transparent gzip.
//
// Gzip is detected by its magic bytes (1f 8b), not by the file name, so a renamed or
// already-decompressed `*.gz` file still loads.
import { files } from "../platform/current.ts";
import { gunzipChecked } from "./gzip.ts";
import { DataError } from "./dataset.ts";

/** Maps a file error (node's codes, platform/files.ts) to a one-line reason ("file not found", "permission denied", …). */
export function fsReason(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory, expected a file";
  if (code === "ENOTDIR") return "a parent path is not a directory";
  return (e as Error).message ?? String(e);
}

/** The whole file as bytes; DataError naming the file on any failure. */
export function readBytes(path: string): Uint8Array {
  try {
    return files().readFile(path);
  } catch (e) {
    throw new DataError(`${path}: ${fsReason(e)}`);
  }
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decompresses when the bytes start with the gzip magic; passes them through otherwise. */
function maybeGunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipChecked(bytes);
  } catch (e) {
    throw new DataError(`${path}: bad gzip file: ${(e as Error).message}`);
  }
}

/** Reads a file and gunzips it if it is gzip-compressed. */
export const readMaybeGzip = (path: string): Uint8Array => maybeGunzip(readBytes(path), path);

export function isDir(path: string): boolean {
  try {
    return files().stat(path).isDirectory;
  } catch {
    return false;
  }
}

export function isFile(path: string): boolean {
  try {
    return files().stat(path).isFile;
  } catch {
    return false;
  }
}

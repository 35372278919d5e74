// POSIX path arithmetic without node:path, so the core composes run-folder and data paths the
// same way in a page (where an in-memory file store keys its entries by these strings) and under
// Deno, Bun and Node (where node:fs accepts "/" on every system). Only what the core uses.

/** Collapses "//", "." and "x/.." the way node:path's posix.normalize does ("" → "."). */
export function normalize(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length && out[out.length - 1] !== "..") out.pop();
    else if (part !== ".." || !abs) out.push(part);
  }
  let s = (abs ? "/" : "") + out.join("/");
  if (!s) s = abs ? "/" : ".";
  return p.endsWith("/") && s !== "/" ? s + "/" : s;
}

/** node:path's posix.join: the non-empty parts joined with "/", normalized. */
export function join(...parts: string[]): string {
  const kept = parts.filter((p) => p !== "");
  return kept.length ? normalize(kept.join("/")) : ".";
}

/** The folder part ("a/b/c" → "a/b", "c" → ".", "/c" → "/"). */
export function dirname(p: string): string {
  const s = p.length > 1 ? p.replace(/\/+$/, "") : p;
  const i = s.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return s.slice(0, i);
}

/** The last part ("a/b/c.png" → "c.png"). */
export function basename(p: string): string {
  const s = p.length > 1 ? p.replace(/\/+$/, "") : p;
  return s.slice(s.lastIndexOf("/") + 1);
}

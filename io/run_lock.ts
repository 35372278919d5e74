// The lock of a run folder: `<out>/run.lock`, held while a run writes there, so two runs started
// into one --out do not interleave their metrics and checkpoints. The file says who holds it
// (pid, host, start time); a second run is refused naming that holder. A lock whose process is
// gone (killed, crashed: it could not remove its lock) is stale: the next run takes it over and
// says so. Only a process on the same host can be checked; a lock from another host is
// refused, with the file to delete when that run is known to be over.
import { files, host } from "../platform/current.ts";
import { basename, dirname, join } from "../platform/path.ts";
import { processAlive } from "./atomic.ts";

export const LOCK_FILE = "run.lock";

/** Who holds a lock, as its file says. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock */
  started: string;
}

/** The folder is locked by another run (a usage error, exit status 2, like a folder in use). */
export class RunLockedError extends Error {
  override name = "RunLockedError";
  readonly exitCode = 2;
  constructor(message: string, readonly holder: LockHolder) {
    super(message);
  }
}

export interface RunLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this run's (idempotent). */
  release(): void;
}

/**
 * Takes the lock of `dir` (which must exist), or throws RunLockedError naming the live holder.
 * A stale lock is taken over and `log` says whose it was.
 */
export function acquireRunLock(dir: string, log: (s: string) => void = () => {}): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: host().pid, host: host().hostname, started: new Date().toISOString() };
  // three tries: a stale lock taken over (or a lock released meanwhile) frees the way
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(path, me)) return handle(path, me);
    const held = readHolder(path);
    if (held === "gone") continue;
    if (held !== "unreadable" && (held.host !== me.host || processAlive(held.pid))) {
      throw new RunLockedError(
        `${dir} is in use by another run: pid ${held.pid} on ${held.host}, started ${held.started} (lock file ${path}). ` +
          `Wait for it to end, or choose another folder with --out.` +
          (held.host !== me.host ? ` If that run is over (its machine stopped), delete ${path}.` : ""),
        held,
      );
    }
    if (takeOver(path, held)) {
      log(
        held === "unreadable"
          ? `${path}: took over an unreadable lock file (a run that stopped while taking it)`
          : `${path}: took over the lock of pid ${held.pid} (started ${held.started}), which is no longer running`,
      );
    }
  }
  throw new Error(`${path}: could not take the lock after three tries (other runs keep taking it); try again`);
}

/**
 * Creates the lock file with its content in one step: written under a temporary name, then
 * hard-linked to the lock's name, which fails if the lock exists; so no reader ever sees a
 * half-written lock. Returns false when the lock exists.
 */
function create(path: string, me: LockHolder): boolean {
  const text = JSON.stringify(me) + "\n";
  // named as writeFileAtomic names its temps, so cleanStaleTemps removes one a killed run left
  const tmp = join(dirname(path), `.${basename(path)}.${host().pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fs = files();
  fs.writeFile(tmp, text, { mode: 0o644, exclusive: true });
  try {
    fs.link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw e;
    // a file system without hard links: an exclusive create (a reader may catch it empty)
    try {
      fs.writeFile(path, text, { mode: 0o644, exclusive: true });
      return true;
    } catch (e2) {
      if ((e2 as { code?: string }).code === "EEXIST") return false;
      throw e2;
    }
  } finally {
    fs.unlink(tmp);
  }
}

function readHolder(path: string): LockHolder | "gone" | "unreadable" {
  let text: string;
  try {
    text = files().readText(path);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return "gone";
    throw e;
  }
  try {
    const h = JSON.parse(text);
    if (Number.isSafeInteger(h.pid) && typeof h.host === "string" && typeof h.started === "string") return h;
  } catch { /* fall through */ }
  return "unreadable";
}

/**
 * Moves the stale lock aside and deletes it. Two runs may find the same stale lock: the one
 * whose rename took a lock that is no longer the stale one (the other run's fresh lock) puts it
 * back and tries again.
 */
function takeOver(path: string, stale: LockHolder | "unreadable"): boolean {
  const aside = `${path}.stale.${host().pid}.${Math.random().toString(36).slice(2, 10)}`;
  try {
    files().rename(path, aside);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return false;
    throw e;
  }
  const moved = readHolder(aside);
  const same = stale === "unreadable"
    ? moved === "unreadable"
    : typeof moved === "object" && moved.pid === stale.pid && moved.started === stale.started;
  if (!same) {
    try {
      files().link(aside, path);
    } catch { /* a third run holds it now: its lock stands */ }
    files().unlink(aside);
    return false;
  }
  files().unlink(aside);
  return true;
}

function handle(path: string, me: LockHolder): RunLock {
  let released = false;
  return {
    path,
    holder: me,
    release() {
      if (released) return;
      released = true;
      const held = readHolder(path);
      // never remove a lock that is no longer ours (taken over after this process was thought dead)
      if (typeof held === "object" && held.pid === me.pid && held.started === me.started && held.host === me.host) {
        try {
          files().unlink(path);
        } catch { /* removed meanwhile */ }
      }
    },
  };
}

// The run folder (--out): checked before any GPU set-up, so a typo or a folder that already
// holds a run costs nothing. A fresh run refuses a folder with run files in it (it would mix
// two runs' metrics and replace the checkpoint); --resume continues that run, --overwrite
// replaces it, another --out (or spec name) starts beside it. The folder must also be one the
// process can create and write: that is tried now, with the error naming the path.
// openRunFolder adds the run's lock (io/run_lock.ts) and, when the run is refused before it
// wrote anything, removes the folder it created, so a refused run leaves nothing behind.
import { files, host } from "../platform/current.ts";
import { dirname, join } from "../platform/path.ts";
import { CHECKPOINT_FILE } from "./checkpoint.ts";
import { acquireRunLock, type RunLock, RunLockedError } from "./run_lock.ts";

/** Files a run writes into its folder; their presence means the folder holds a run. */
export const RUN_FILES: readonly string[] = [
  CHECKPOINT_FILE,
  "metrics.jsonl",
  "report.json",
  "loss.svg",
  "correlation.png",
];

/** A run folder that cannot be used as asked; a usage error (exit status 2), like a bad flag. */
export class RunFolderError extends Error {
  override name = "RunFolderError";
  readonly exitCode = 2;
}

export interface RunFolderOptions {
  /** the run continues from a checkpoint: an existing run in the folder is expected */
  resume?: boolean;
  /** replace an earlier run's files instead of refusing */
  overwrite?: boolean;
}

/** Why a file-system call failed, in words, with the errno code. */
function reason(e: unknown): string {
  const code = (e as { code?: string }).code;
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOENT: "a parent folder does not exist",
    ENOTDIR: "a part of the path is a file, not a folder",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EEXIST: "a file of that name exists",
  };
  return code && words[code] ? `${words[code]} (${code})` : (e as Error).message;
}

/**
 * Checks (and creates) the run folder `out` for a run; see the file header. With `overwrite`
 * the earlier run's files (RUN_FILES) are deleted, so the new run does not append to its
 * metrics; other files in the folder are left alone. Returns the run files found there.
 * Throws RunFolderError naming the folder and the ways out.
 */
export function checkRunFolder(out: string, opts: RunFolderOptions = {}): { existing: string[] } {
  if (opts.resume && opts.overwrite) {
    throw new RunFolderError(`${out}: --resume and --overwrite exclude each other (continue the run, or replace it)`);
  }
  try {
    files().mkdir(out);
  } catch (e) {
    throw new RunFolderError(`cannot create the run folder ${out}: ${reason(e)}; choose another folder with --out`);
  }
  let names: string[];
  try {
    names = files().readdir(out);
  } catch (e) {
    throw new RunFolderError(`cannot read the run folder ${out}: ${reason(e)}; choose another folder with --out`);
  }
  const existing = RUN_FILES.filter((f) => names.includes(f));
  if (existing.length && !opts.resume && !opts.overwrite) {
    throw new RunFolderError(
      `${out} already holds a run (${existing.join(", ")}). To continue it: --resume ${out}. ` +
        `To start another run beside it: --out <another folder> (or give the spec another name). ` +
        `To replace it: --overwrite.`,
    );
  }
  // write access, tried with a file of our own (a folder can be listable but not writable);
  // created exclusively under an unguessable name, so a file or link planted there is never
  // followed or truncated
  const probe = join(out, `.write-test.${host().pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    files().writeFile(probe, "", { mode: 0o600, exclusive: true });
    files().unlink(probe);
  } catch (e) {
    throw new RunFolderError(`cannot write in the run folder ${out}: ${reason(e)}; choose another folder with --out`);
  }
  if (opts.overwrite) {
    for (const f of existing) {
      const path = join(out, f);
      try {
        files().unlink(path);
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") continue;
        throw new RunFolderError(`--overwrite: cannot remove ${path}: ${reason(e)}`);
      }
    }
  }
  return { existing };
}

/** A run folder checked and locked for one run; close() when the run is over (or refused). */
export interface RunFolder {
  readonly out: string;
  /** the run files found there when it was opened */
  readonly existing: string[];
  readonly lock: RunLock;
  /**
   * Releases the lock; a folder this run created is removed again if nothing was written in it
   * (with the parents created for it), so a run refused before training leaves no trace.
   */
  close(): void;
}

/** Opens `out` for a run: created if needed, locked, then checked as checkRunFolder does. */
export function openRunFolder(out: string, opts: RunFolderOptions & { log?: (s: string) => void } = {}): RunFolder {
  if (opts.resume && opts.overwrite) {
    throw new RunFolderError(`${out}: --resume and --overwrite exclude each other (continue the run, or replace it)`);
  }
  let created: string | undefined;
  try {
    created = files().mkdir(out);
  } catch (e) {
    throw new RunFolderError(`cannot create the run folder ${out}: ${reason(e)}; choose another folder with --out`);
  }
  const removeCreated = () => {
    if (created === undefined) return;
    // from `out` up to the first folder made for it; a folder something was written to stays
    const fs = files();
    for (let dir = fs.resolve(out); dir.length >= fs.resolve(created).length; dir = dirname(dir)) {
      try {
        fs.rmdir(dir);
      } catch {
        return;
      }
    }
  };
  let lock: RunLock;
  try {
    lock = acquireRunLock(out, opts.log);
  } catch (e) {
    removeCreated();
    if (e instanceof RunLockedError) throw e;
    throw new RunFolderError(`cannot lock the run folder ${out}: ${reason(e)}; choose another folder with --out`);
  }
  let existing: string[];
  try {
    existing = checkRunFolder(out, opts).existing;
  } catch (e) {
    lock.release();
    removeCreated();
    throw e;
  }
  return {
    out,
    existing,
    lock,
    close() {
      lock.release();
      removeCreated();
    },
  };
}

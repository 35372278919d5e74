// Data sets from bytes, for a page: the files of a set as {name, bytes} (fetch() results or the
// Files a user picked), read by the same readers as a folder on disk. `name` is the file's path
// inside the set, as it would be in its folder:
//   IDX         "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte", … (gzipped or not)
//   CIFAR       "data_batch_1.bin" … "test_batch.bin", "batches.meta.txt" (or CIFAR-100's
//               "train.bin", "test.bin"), optionally under "cifar-10-batches-bin/"
//   images      "<class>/<file>.png|jpg" (class from the folder name), or "train/<class>/…" and "test/<class>/…"
//   const split = loadDatasetFromBytes(files, "fashion-mnist", { trainLimit: 1024 });
import { memoryFiles } from "../platform/files.ts";
import { usePlatform } from "../platform/current.ts";
import { join } from "../platform/path.ts";
import type { Split } from "./dataset.ts";
import { DataError } from "./dataset.ts";
import { loadDatasetSync, type LoadOptions } from "./load.ts";

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** Where the set's files lie in the in-memory store (error messages name files under it). */
const ROOT = "/dataset";

/**
 * The data set held by `files`; `kind` is a known kind ("fashion-mnist", "mnist", "cifar10",
 * "cifar100") or "" to detect it from the files as a folder is detected. "synthetic" needs no files.
 */
export function loadDatasetFromBytes(files: NamedBytes[], kind = "", opts: LoadOptions = {}): Split {
  if (kind === "synthetic") return loadDatasetSync("synthetic", opts);
  if (!files.length) throw new DataError("no data files were given");
  const store = memoryFiles();
  for (const f of files) store.addFile(join(ROOT, f.name), f.bytes);
  // the readers are synchronous: the store is the platform's only while they run
  const restore = usePlatform({ files: store });
  try {
    return loadDatasetSync(kind ? `${kind}:${ROOT}` : ROOT, opts);
  } finally {
    restore();
  }
}

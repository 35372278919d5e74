// `loadDataset(nameOrPath)`: the one entry point the CLI and pipelines use.
//
//   "fashion-mnist" (default)   /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
//   "fashion-mnist:<dir>"       the same four IDX files from another folder
//   "mnist:<dir>"               MNIST IDX files (no system copy exists, so a folder is required)
//   "cifar10:<dir>"             CIFAR-10 binary version
//   "cifar100:<dir>"            CIFAR-100 binary version (opts.labels: "fine" | "coarse")
//   "synthetic"                 procedurally generated shapes (opts.synthetic)
//   "<dir>"                     IDX files, CIFAR batches, or an image folder, detected by content
import { join } from "../platform/path.ts";
import { checkDataset, DataError, type Split } from "./dataset.ts";
import { isDir, isFile } from "./bytes.ts";
import { FASHION_MNIST_CLASSES, findIdxFiles, loadIdxSplit, MNIST_CLASSES } from "./idx.ts";
import { type CifarOptions, loadCifar10, loadCifar100 } from "./cifar.ts";
import { type FolderOptions, loadImageFolder } from "./folder.ts";
import { DATA_NAME_FORMS, parseDataName } from "./names.ts";
import { makeSynthetic, type SyntheticOptions } from "./synthetic.ts";
import { type ClassChoice, oneClassSplit } from "./one_class.ts";

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export interface LoadOptions extends CifarOptions, FolderOptions {
  /** At most this many training / test images (the first ones; for synthetic: exactly this many). */
  trainLimit?: number;
  testLimit?: number;
  /** Options of the synthetic set (its train/test counts default to trainLimit/testLimit). */
  synthetic?: SyntheticOptions;
  /** Keep only this class's training images (after trainLimit; data/one_class.ts). */
  oneClass?: ClassChoice;
}

/** A spec's data section (dsl/spec_types.ts Data), as the loader reads it. */
export interface DataSection {
  name: string;
  trainLimit?: number;
  testLimit?: number;
  oneClass?: ClassChoice;
}

const KNOWN = DATA_NAME_FORMS.join(", ");

function loadFashion(dir: string, opts: LoadOptions, isDefault: boolean): Split {
  const f = findIdxFiles(dir);
  if ("missing" in f) {
    const how = isDefault
      ? "install it with `apt-get install dataset-fashion-mnist` (see the README set-up), or pass fashion-mnist:<dir>"
      : "the folder must hold train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]";
    throw new DataError(`Fashion-MNIST not found in ${dir} (missing ${f.missing.join(", ")}); ${how}`);
  }
  return loadIdxSplit(dir, "fashion-mnist", FASHION_MNIST_CLASSES, opts);
}

/** What a bare folder holds: IDX files, CIFAR-10/100 batches, or class sub-folders of images. */
function loadFolder(dir: string, opts: LoadOptions): Split {
  if (!("missing" in findIdxFiles(dir))) return loadIdxSplit(dir, dir, MNIST_CLASSES, opts);
  const has = (...p: string[]) => isFile(join(dir, ...p)) || isFile(join(dir, ...p) + ".gz");
  if (has("test_batch.bin") || has("cifar-10-batches-bin", "test_batch.bin")) return loadCifar10(dir, opts);
  if (has("train.bin") || has("cifar-100-binary", "train.bin")) return loadCifar100(dir, opts);
  return loadImageFolder(dir, opts);
}

function resolve(spec: string, opts: LoadOptions): Split {
  const { kind, arg } = parseDataName(spec);
  const needDir = (what: string) => {
    if (!arg) throw new DataError(`${what} needs a folder: use ${kind}:<dir>`);
    return arg;
  };
  switch (kind) {
    case "":
    case "fashion-mnist":
      return loadFashion(arg || FASHION_MNIST_DIR, opts, !arg);
    case "mnist":
      return loadIdxSplit(needDir("MNIST"), "mnist", MNIST_CLASSES, opts);
    case "cifar10":
      return loadCifar10(needDir("CIFAR-10"), opts);
    case "cifar100":
      return loadCifar100(needDir("CIFAR-100"), opts);
    case "synthetic":
      if (arg) throw new DataError(`synthetic takes no argument (got "${arg}"); set opts.synthetic instead`);
      return makeSynthetic({ train: opts.trainLimit, test: opts.testLimit, ...opts.synthetic });
  }
  if (isDir(spec)) return loadFolder(spec, opts);
  throw new DataError(`unknown dataset "${spec}": not a known name or an existing folder (use ${KNOWN})`);
}

/** Loads a train/test split; every failure is a DataError naming the file and the problem. */
export function loadDatasetSync(nameOrPath = "fashion-mnist", opts: LoadOptions = {}): Split {
  const split = resolve(nameOrPath.trim(), opts);
  checkDataset(split.train);
  checkDataset(split.test);
  const { train: a, test: b } = split;
  if (b.n > 0 && (a.c !== b.c || a.h !== b.h || a.w !== b.w)) {
    throw new DataError(`${nameOrPath}: train images are ${a.c}×${a.h}×${a.w} but test images ${b.c}×${b.h}×${b.w}`);
  }
  return opts.oneClass === undefined ? split : oneClassSplit(split, opts.oneClass);
}

/** The data a spec's data section names: its set, limits and one class. */
export function loadSpecData(d: DataSection): Split {
  return loadDatasetSync(d.name, { trainLimit: d.trainLimit, testLimit: d.testLimit, oneClass: d.oneClass });
}

/** Promise form of loadDatasetSync (errors arrive as rejections), for callers that stay async. */
export const loadDataset = (nameOrPath?: string, opts?: LoadOptions): Promise<Split> =>
  Promise.resolve().then(() => loadDatasetSync(nameOrPath, opts));

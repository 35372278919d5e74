// What the user's own files are, from their paths alone (before any byte is read): the four
// IDX files of an MNIST-style set (gzipped or not, names as data/idx.ts findIdxFiles accepts
// them), or an image folder laid out as data/folder.ts reads it — <root>/<class>/*.png|jpg, or
// <root>/train/<class>/… with <root>/test/<class>/…. Paths are as the browser gives them
// (webkitRelativePath for a chosen or dropped folder, the bare name for single files).

export type IdxRole = "trainImages" | "trainLabels" | "testImages" | "testLabels";

const IDX_ROLES: [IdxRole, RegExp, string][] = [
  ["trainImages", /^train-images[-.]idx3-ubyte(\.gz)?$/, "train-images-idx3-ubyte[.gz]"],
  ["trainLabels", /^train-labels[-.]idx1-ubyte(\.gz)?$/, "train-labels-idx1-ubyte[.gz]"],
  ["testImages", /^t10k-images[-.]idx3-ubyte(\.gz)?$/, "t10k-images-idx3-ubyte[.gz]"],
  ["testLabels", /^t10k-labels[-.]idx1-ubyte(\.gz)?$/, "t10k-labels-idx1-ubyte[.gz]"],
];
const IMAGE_EXT = /\.(png|jpe?g)$/i;

export interface ImageEntry {
  /** index into the list given */
  file: number;
  /** its path inside the set: <class>/<file>, or train|test/<class>/<file> (the chosen folder dropped) */
  name: string;
  label: number;
  split: "train" | "test" | "any";
}

export type FileLayout =
  | { kind: "idx"; files: Record<IdxRole, number> }
  | { kind: "images"; classNames: string[]; images: ImageEntry[]; explicitSplit: boolean }
  | { kind: "error"; message: string };

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const hidden = (p: string) => p.split("/").some((s) => s.startsWith("."));

/** The layout of the files at `paths` (indices refer to `paths`); never throws. */
export function classifyFiles(paths: string[]): FileLayout {
  if (paths.length === 0) return { kind: "error", message: "no files were given" };
  const idx = IDX_ROLES.map(([, re]) => paths.findIndex((p) => re.test(base(p))));
  if (idx.some((i) => i >= 0)) {
    const missing = IDX_ROLES.filter((_, k) => idx[k] < 0).map(([, , name]) => name);
    if (missing.length) {
      return { kind: "error", message: `IDX files found, but not ${missing.join(", ")}; give all four files` };
    }
    const files = Object.fromEntries(IDX_ROLES.map(([role], k) => [role, idx[k]])) as Record<IdxRole, number>;
    return { kind: "idx", files };
  }
  const images = paths.map((p, i) => ({ parts: p.split("/").filter(Boolean), i })).filter(({ parts, i }) =>
    IMAGE_EXT.test(paths[i]) && !hidden(paths[i]) && parts.length > 0
  );
  if (images.length === 0) {
    return {
      kind: "error",
      message:
        `none of the ${paths.length} file(s) is an IDX file (train-images-idx3-ubyte[.gz] …) or a PNG/JPEG image (e.g. ${
          base(paths[0])
        })`,
    };
  }
  // the folder the user chose is the first part of every path: drop it when all paths share it
  const first = images[0].parts[0];
  const rel = images.map(({ parts, i }) => ({
    parts: images.every((x) => x.parts[0] === first && x.parts.length > 1) ? parts.slice(1) : parts,
    i,
  }));
  const explicitSplit = rel.some(({ parts }) => parts[0] === "train") && rel.some(({ parts }) => parts[0] === "test");
  const classOf = (parts: string[]) => (explicitSplit ? parts.slice(1) : parts);
  const flat = rel.find(({ parts }) => classOf(parts).length < 2);
  if (flat) {
    return {
      kind: "error",
      message: `${paths[flat.i]} is not in a class folder: give a folder with one sub-folder per class ` +
        `(<folder>/<class>/<image>.png, or <folder>/train/<class>/… and <folder>/test/<class>/…)`,
    };
  }
  if (explicitSplit) {
    const stray = rel.find(({ parts }) => parts[0] !== "train" && parts[0] !== "test");
    if (stray) return { kind: "error", message: `${paths[stray.i]} is outside train/ and test/` };
  }
  const classNames = [
    ...new Set(rel.filter(({ parts }) => !explicitSplit || parts[0] === "train").map(({ parts }) => classOf(parts)[0])),
  ].sort();
  const extra = rel.find(({ parts }) => !classNames.includes(classOf(parts)[0]));
  if (extra) {
    return { kind: "error", message: `${paths[extra.i]}: class '${classOf(extra.parts)[0]}' has no folder in train/` };
  }
  const entries: ImageEntry[] = rel
    .map(({ parts, i }) => ({
      file: i,
      name: parts.join("/"),
      label: classNames.indexOf(classOf(parts)[0]),
      split: explicitSplit ? (parts[0] as "train" | "test") : "any" as const,
    }))
    .sort((a, b) => (paths[a.file] < paths[b.file] ? -1 : paths[a.file] > paths[b.file] ? 1 : 0));
  return { kind: "images", classNames, images: entries, explicitSplit };
}

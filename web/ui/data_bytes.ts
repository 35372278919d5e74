// The user's files as a data set's files: each named as it lies inside the set (IDX files by
// their own names, images as <class>/<file> or train|test/<class>/<file>, the folder the user
// chose dropped), which is what data/from_bytes.ts reads.
import type { NamedBytes } from "../../data/from_bytes.ts";
import { classifyFiles } from "./data_files.ts";

/** The user's files named as inside their set: IDX files by their own names, images by class path. */
export async function namedFiles(files: Blob[], paths: string[]): Promise<NamedBytes[]> {
  const layout = classifyFiles(paths);
  if (layout.kind === "error") throw Object.assign(new Error(layout.message), { name: "DataError" });
  const read = async (i: number, name: string) => ({ name, bytes: new Uint8Array(await files[i].arrayBuffer()) });
  if (layout.kind === "idx") {
    return await Promise.all(
      Object.values(layout.files).map((i) => read(i, paths[i].slice(paths[i].lastIndexOf("/") + 1))),
    );
  }
  return await Promise.all(layout.images.map((e) => read(e.file, e.name)));
}

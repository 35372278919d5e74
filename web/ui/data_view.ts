// The data chooser: Fashion-MNIST from this server, the synthetic shapes, or the user's own
// files (IDX files, or an image folder chosen with the folder picker or dropped on the page).
// The user's files are classified by name at once (data_files.ts), so a wrong choice is said
// before anything is read.
import { byId } from "./dom.ts";
import { classifyFiles, type FileLayout } from "./data_files.ts";
import type { DataChoice } from "./trainer_port.ts";

export const FASHION_MNIST_URL = "/data/fashion-mnist/";

export class DataView {
  private files: File[] = [];
  private paths: string[] = [];
  private layout?: FileLayout;

  constructor() {
    for (const id of ["data-files-input", "data-folder-input"]) {
      byId<HTMLInputElement>(id).addEventListener("change", (e) => {
        const input = e.target as HTMLInputElement;
        this.setFiles([...(input.files ?? [])], (f) => f.webkitRelativePath || f.name);
      });
    }
    const drop = byId("data-drop");
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", async (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const found = await droppedFiles(e.dataTransfer);
      this.setFiles(found.map((f) => f.file), (_f, i) => found[i].path);
    });
    this.radios().forEach((r) => r.addEventListener("change", () => this.showStatus()));
    this.showStatus();
  }

  private radios(): HTMLInputElement[] {
    return [...document.querySelectorAll<HTMLInputElement>('input[name="data-source"]')];
  }

  private kind(): string {
    return this.radios().find((r) => r.checked)?.value ?? "fashion-mnist";
  }

  /** Follows a spec that names a data set the page offers (a preset was chosen); the user's files stay chosen. */
  follow(specDataName: string): void {
    if (this.kind() === "files") return;
    const r = this.radios().find((x) => x.value === specDataName);
    if (!r) return;
    r.checked = true;
    this.showStatus();
  }

  private setFiles(files: File[], pathOf: (f: File, i: number) => string): void {
    this.files = files;
    this.paths = files.map(pathOf);
    this.layout = classifyFiles(this.paths);
    const own = this.radios().find((r) => r.value === "files");
    if (own) own.checked = true;
    this.showStatus();
  }

  private showStatus(): void {
    const status = byId("data-status");
    const kind = this.kind();
    let text = "", bad = false;
    if (kind === "fashion-mnist") text = "Fashion-MNIST, 60 000 training and 10 000 test images, from this server.";
    else if (kind === "synthetic") text = "Synthetic shapes: 1 000 training and 200 test images of 16×16, drawn here.";
    else if (!this.layout) text = "Choose IDX files or an image folder, or drop them on the box.";
    else if (this.layout.kind === "error") [text, bad] = [this.layout.message, true];
    else if (this.layout.kind === "idx") text = "Four IDX files (train and t10k images and labels).";
    else {
      const l = this.layout;
      text = `${l.images.length} images in ${l.classNames.length} classes (${l.classNames.slice(0, 6).join(", ")}${
        l.classNames.length > 6 ? ", …" : ""
      })${l.explicitSplit ? ", with train/ and test/" : "; the last fifth of each class is held out for testing"}.`;
    }
    status.textContent = text;
    status.className = bad ? "bad" : "";
  }

  /** The data as chosen; throws with the chooser's message when the user's files are not usable. */
  choice(): DataChoice {
    const kind = this.kind();
    if (kind === "fashion-mnist") return { kind, baseUrl: new URL(FASHION_MNIST_URL, location.href).href };
    if (kind === "synthetic") return { kind };
    if (!this.layout) throw Object.assign(new Error("no files were chosen for the data"), { name: "DataError" });
    if (this.layout.kind === "error") throw Object.assign(new Error(this.layout.message), { name: "DataError" });
    return { kind: "files", files: this.files, paths: this.paths };
  }

  /**
   * The spec's data name for this choice (report.json and the checkpoint record it, and a
   * terminal --resume reads it); undefined for the user's files, whose name the spec keeps.
   */
  specDataName(): string | undefined {
    const kind = this.kind();
    return kind === "files" ? undefined : kind;
  }
}

/** Every file under the dropped items, with its path (folders walked through the entries API). */
async function droppedFiles(dt: DataTransfer | null): Promise<{ file: File; path: string }[]> {
  if (!dt) return [];
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isFile) {
      const file = await new Promise<File>((ok, no) => (e as FileSystemFileEntry).file(ok, no));
      out.push({ file, path });
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      // readEntries returns the folder in batches until an empty one
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, no) => reader.readEntries(ok, no));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, path);
      }
    }
  };
  for (const e of entries) await walk(e, "");
  return out;
}

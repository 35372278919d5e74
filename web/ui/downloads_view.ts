// Links to the run folder's files (checkpoint.safetensors, metrics.jsonl, report.json …), made
// from the bytes the run wrote, so what is downloaded is byte for byte what a terminal run
// writes in its folder.
import { byId, el } from "./dom.ts";
import type { RunFile } from "./trainer_port.ts";

const TYPES: Record<string, string> = {
  ".json": "application/json",
  ".jsonl": "application/jsonl",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

let urls: string[] = [];

export function showDownloads(files: RunFile[]): void {
  urls.forEach((u) => URL.revokeObjectURL(u));
  urls = [];
  const list = byId("downloads-list");
  byId("downloads").hidden = files.length === 0;
  list.replaceChildren(...files.map((f) => {
    const ext = f.name.slice(f.name.lastIndexOf("."));
    const url = URL.createObjectURL(
      new Blob([f.bytes as BlobPart], { type: TYPES[ext] ?? "application/octet-stream" }),
    );
    urls.push(url);
    return el("li", {}, el("a", { href: url, download: f.name }, f.name), ` (${sizeText(f.bytes.length)})`);
  }));
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

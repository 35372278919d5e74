// Bundles the pages' scripts for the browser with Deno's own bundler (`deno bundle --platform
// browser`): every web/NAME.ts that has a web/NAME.html beside it is a page, and becomes
// dist/NAME.js (with a linked source map; code shared by pages, and each dynamic import, in
// further .js files in dist/), so a new page needs only its two files.
//
// Deno's bundler leaves a `node:` import in the output as an import the browser cannot load, and
// still exits 0; so the module graph is checked first (`deno info --json`), and a page that reaches
// a `node:` module through static imports fails here, naming the chain of imports that leads to
// it. A dynamic import (platform/current.ts loads platform/node.ts only under Deno, Bun or Node)
// stays in a chunk the page loads only if the import runs.
//
//   deno run -A web/build.ts [--outdir DIR]
import { dirname, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

export const WEB_DIR = dirname(fromFileUrl(import.meta.url));
const ROOT = dirname(WEB_DIR);
export const DIST_DIR = join(WEB_DIR, "dist");

/** The pages: names NAME with both web/NAME.ts and web/NAME.html, sorted. */
export function pageNames(dir = WEB_DIR): string[] {
  const files = new Set([...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name));
  return [...files].filter((f) => f.endsWith(".ts") && files.has(f.replace(/\.ts$/, ".html")))
    .map((f) => f.replace(/\.ts$/, "")).sort();
}

export interface Built {
  pages: string[];
  outdir: string;
  ms: number;
}

/** Bundles every page of `dir` into `outdir` (emptied first). Throws naming the page and the cause. */
export async function buildWeb(outdir = DIST_DIR, dir = WEB_DIR): Promise<Built> {
  const t0 = performance.now();
  const pages = pageNames(dir);
  if (!pages.length) {
    throw new Error(`web/build.ts: no page in ${dir} (a page is NAME.ts with NAME.html beside it)`);
  }
  const entries = pages.map((p) => join(dir, `${p}.ts`));
  const chains = await nodeImportChains(entries);
  if (chains.length) {
    throw new Error(
      `web/build.ts: a page imports Node's built-in modules, which a browser cannot load:\n  ${
        chains.join("\n  ")
      }\nImport a module below the one that reaches node: (or one that takes what it needs as an argument).`,
    );
  }
  await Deno.remove(outdir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  // code splitting keeps each dynamic import (the server platform's node: modules) in a chunk of
  // its own, loaded only if the import runs; without it they would be hoisted into the page
  const out = await deno([
    "bundle",
    "--platform",
    "browser",
    "--code-splitting",
    "--sourcemap=linked",
    "--outdir",
    outdir,
    ...entries,
  ]);
  if (!out.ok) throw new Error(`web/build.ts: deno bundle failed:\n${out.stderr}`);
  for (const p of pages) {
    const js = join(outdir, `${p}.js`);
    await Deno.stat(js).catch(() => {
      throw new Error(`web/build.ts: deno bundle wrote no ${relative(ROOT, js)}:\n${out.stderr}`);
    });
    // anything the page loads at start from outside the bundle would fail in the page at load time
    const external = await staticImports(outdir, `${p}.js`);
    if (external.length) throw new Error(`web/build.ts: ${p}.js still imports ${external.join(", ")}`);
  }
  return { pages, outdir, ms: performance.now() - t0 };
}

/** What `file` in `outdir` and the chunks it imports statically import from outside `outdir`. */
async function staticImports(outdir: string, file: string): Promise<string[]> {
  const external: string[] = [];
  const seen = new Set<string>();
  const queue = [file];
  while (queue.length) {
    const f = queue.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = await Deno.readTextFile(join(outdir, f));
    for (const m of text.matchAll(/^import\b[^;]*?["']([^"']+)["']/gm)) {
      if (m[1].startsWith("./")) queue.push(m[1].slice(2));
      else external.push(m[1]);
    }
  }
  return external;
}

/**
 * One line per module the entries reach (through code imports, not type imports) that imports
 * node: modules itself: the shortest chain to it, then what it imports, e.g.
 * "web/x.ts → runtime/y.ts → node:fs, node:path".
 */
export async function nodeImportChains(entries: string[]): Promise<string[]> {
  // deno info takes one file at a time
  const infos = await Promise.all(entries.map(async (entry) => {
    const out = await deno(["info", "--json", entry]);
    if (!out.ok) throw new Error(`web/build.ts: deno info ${entry} failed:\n${out.stderr}`);
    return JSON.parse(out.stdout) as {
      roots: string[];
      modules: { specifier: string; dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }[];
    };
  }));
  const info = { roots: infos.flatMap((i) => i.roots), modules: infos.flatMap((i) => i.modules) };
  // a dynamic import is loaded only when it runs: platform/current.ts imports platform/node.ts only
  // under Deno, Bun or Node, and the bundle keeps it in a chunk of its own that a page never loads
  const deps = new Map(
    info.modules.map((m) => [m.specifier, (m.dependencies ?? []).flatMap((d) => d.isDynamic ? [] : d.code ?? [])]),
  );
  const name = (s: string) => s.startsWith("file:") ? relative(ROOT, fromFileUrl(s)) : s;
  const lines: string[] = [];
  const seen = new Set<string>();
  const queue = info.roots.map((r) => [r]);
  while (queue.length) {
    const path = queue.shift()!;
    const at = path[path.length - 1];
    if (seen.has(at) || at.startsWith("node:")) continue;
    seen.add(at);
    const next = (deps.get(at) ?? []).map((d) => d.specifier);
    const builtins = next.filter((d) => d.startsWith("node:"));
    if (builtins.length) lines.push(`${path.map(name).join(" → ")} → ${builtins.join(", ")}`);
    for (const d of next) queue.push([...path, d]);
  }
  return lines;
}

async function deno(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { ok: r.success, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--outdir");
  const unknown = Deno.args.filter((a, j) => a !== "--outdir" && j !== i + 1);
  if (unknown.length || (i >= 0 && !Deno.args[i + 1])) {
    console.error(`usage: deno run -A web/build.ts [--outdir DIR]   (unexpected: ${Deno.args.join(" ")})`);
    Deno.exit(2);
  }
  try {
    const b = await buildWeb(i >= 0 ? Deno.args[i + 1] : DIST_DIR);
    console.log(`built ${b.pages.map((p) => `${p}.js`).join(", ")} into ${b.outdir} (${b.ms.toFixed(0)} ms)`);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}

// The repository stands alone: no source, test or document points to notes outside it, every
// docs/ page that is named exists, and every "decision N" names one of the decisions that
// docs/architecture.md numbers.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const SKIP = new Set(["node_modules", ".git", "runs", "scratch", "results"]);

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (/\.(ts|md|json|sh)$/.test(name)) out.push(path);
  }
  return out;
}

Deno.test("no pointer leaves the repository; named docs exist; decisions are the numbered ones", () => {
  const architecture = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
  const decisions = [...architecture.matchAll(/^(\d+)\. \*\*/gm)].map((m) => Number(m[1]));
  assert.deepEqual(decisions, decisions.map((_, i) => i + 1), "decisions are numbered 1, 2, …");
  const problems: string[] = [];
  const all = files(ROOT);
  assert.ok(all.length > 100, `walked ${all.length} files`);
  for (const path of all) {
    if (path.endsWith("docs_test.ts")) continue; // this file spells the patterns out
    const rel = relative(ROOT, path);
    readFileSync(path, "utf8").split("\n").forEach((line, i) => {
      const at = `${rel}:${i + 1}`;
      for (const m of line.matchAll(/\b(DESIGN|RECIPES|SEED)\.md\b/g)) problems.push(`${at}: points to ${m[0]}`);
      for (const m of line.matchAll(/\bdocs\/([\w.-]+\.(?:md|ts))/g)) {
        try {
          statSync(join(ROOT, "docs", m[1]));
        } catch {
          problems.push(`${at}: docs/${m[1]} does not exist`);
        }
      }
      for (const m of line.matchAll(/\bdecision (\d+)/gi)) {
        if (!decisions.includes(Number(m[1]))) problems.push(`${at}: decision ${m[1]} is not in docs/architecture.md`);
        if (!/architecture\.md/.test(line)) problems.push(`${at}: "${m[0]}" does not say where (docs/architecture.md)`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

// A page that still names a file after it was renamed or moved sends the reader to a command
// that fails, so every path a page names is checked against the tree.
const TOP_DIRS = readdirSync(ROOT).filter((n) => !SKIP.has(n) && statSync(join(ROOT, n)).isDirectory());
const REPO_PATH = new RegExp(
  `(?<![\\w/.-])((?:${TOP_DIRS.map((d) => d.replace(".", "\\.")).join("|")})/[\\w./-]*\\.(?:ts|md|sh|py))`,
  "g",
);

Deno.test("every repository file a page names (README.md, docs/, bench/GPU.md) exists, as do its relative links", () => {
  const pages = files(ROOT).filter((p) => p.endsWith(".md"));
  assert.ok(pages.some((p) => p.endsWith("README.md")) && pages.some((p) => p.endsWith("architecture.md")));
  const problems: string[] = [];
  let named = 0;
  for (const page of pages) {
    const rel = relative(ROOT, page);
    readFileSync(page, "utf8").split("\n").forEach((line, i) => {
      for (const m of line.matchAll(REPO_PATH)) {
        named++;
        if (!existsSync(join(ROOT, m[1]))) problems.push(`${rel}:${i + 1}: ${m[1]} does not exist`);
      }
      for (const m of line.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(m[1])) continue; // a web address
        if (!existsSync(join(dirname(page), m[1]))) problems.push(`${rel}:${i + 1}: link ${m[1]} does not exist`);
      }
    });
  }
  assert.ok(named > 50, `only ${named} repository paths found: the pattern no longer matches the pages`);
  assert.deepEqual(problems, []);
});

// docs/index.md is the way in: a page it does not list is a page no reader finds, so every
// page of docs/ (and the library example) must be linked from it by its file name.
Deno.test("docs/index.md links every page of docs/", () => {
  const index = readFileSync(join(ROOT, "docs/index.md"), "utf8");
  const linked = new Set([...index.matchAll(/\]\(([\w.-]+)\)/g)].map((m) => m[1]));
  const pages = readdirSync(join(ROOT, "docs")).filter((n) => /\.(md|ts)$/.test(n) && n !== "index.md");
  assert.ok(pages.length >= 4, `docs/ holds ${pages.length} pages`);
  assert.deepEqual(pages.filter((n) => !linked.has(n)), [], "pages of docs/ missing from docs/index.md");
});

// The README and docs/ stand alone: a web address would send the reader out of the repository,
// where the page may change or vanish. The page's own server on this machine (loopback) is not one.
Deno.test("README.md and docs/ name no web address", () => {
  const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).map((n) => `docs/${n}`)];
  const problems: string[] = [];
  for (const page of pages) {
    readFileSync(join(ROOT, page), "utf8").split("\n").forEach((line, i) => {
      const web = /\b(?:https?|ftp):\/\/\S+|\bwww\.\w\S*/g;
      for (const m of line.matchAll(web)) {
        if (/^https?:\/\/(?:127\.0\.0\.1|localhost)[:/]/.test(m[0])) continue;
        problems.push(`${page}:${i + 1}: ${m[0]}`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

// A code excerpt in the README is copied from a file the text just named; if the file changes,
// the excerpt must follow (the library example has its own check in tests/library_test.ts).
Deno.test("every TypeScript excerpt in the README is the text of the file named just before it", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const problems: string[] = [];
  let excerpts = 0;
  for (const m of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    if (m[1].startsWith("// Using ssl-webgpu from another project")) continue;
    excerpts++;
    const before = readme.slice(Math.max(0, m.index! - 400), m.index!);
    const named = [...before.matchAll(REPO_PATH)].map((p) => p[1]).filter((p) => p.endsWith(".ts")).at(-1);
    if (!named) problems.push(`excerpt ${excerpts}: no .ts file named before it`);
    else if (!readFileSync(join(ROOT, named), "utf8").includes(m[1])) {
      problems.push(`excerpt ${excerpts}: not in ${named}`);
    }
  }
  assert.ok(excerpts > 0, "the README shows a code excerpt");
  assert.deepEqual(problems, []);
});

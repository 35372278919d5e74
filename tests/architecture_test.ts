// The dataflow runs one way (spec → graph → compiled step → GPU): the product's folders stand in
// one bottom-to-top order (docs/architecture.md, "Layers and dataflow"), and a module imports only
// from its own folder or a folder below it. Every folder must have its place in the order, so a new
// folder cannot slip in unchecked, and the folder-level import graph has no cycle.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/** The floors, bottom first: each imports only the ones before it. */
export const LAYERS = [
  "platform", // files, the process, the WebGPU entry point: node:fs/Dawn under Deno, Bun, Node; a page's own
  "kernels", // the op table: shape rules, float64 references, VJPs, WGSL
  "ir", // Graph and Tensor, and autodiff (a graph → graph transformation)
  "cpu", // the float64 reference interpreter of a graph
  "io", // safetensors, checkpoints, run folders, atomic writes
  "report", // PNG/SVG/terminal output
  "data", // data sets and the epoch order on the host
  "dsl", // the spec: schema, builders, presets, flags, the spec's own checks
  "nn", // layers and encoders as graph-building functions
  "losses", // losses as graph-building functions
  "compiler", // graph → program
  "step", // spec → graph (and the checks that need it), the training step, the one entry point
  "runtime", // program → GPU
  "train", // the training run (it does not evaluate: the run's top does)
  "eval", // kNN and linear probe of an encoder, and the host metrics (eval/metrics/)
  "run", // a run from the top: train, then evaluate, then report; the command line as a function
  "pipelines", // one runnable file per method
  "examples", // hybrids and the λ-free study
  "export", // the PyTorch program writer and the studies comparing with it
  "tools", // command lines around a run
  "bench", // benchmarks
  "web", // the pages: a static server, the bundler, pages that run the compiler on the browser's GPU
];

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Source folders of the product: every top-level folder holding TypeScript, except the suite and docs. */
function productFolders(): string[] {
  return readdirSync(ROOT).filter((d) =>
    !d.startsWith(".") && !["node_modules", "tests", "docs", "runs", "results", "scratch"].includes(d) &&
    statSync(join(ROOT, d)).isDirectory() && files(join(ROOT, d)).length > 0
  );
}

function importGraph(): Map<string, string[]> {
  const all = LAYERS.flatMap((d) => files(join(ROOT, d)));
  const graph = new Map<string, string[]>();
  for (const f of all) {
    const src = readFileSync(f, "utf8");
    const specs = [...src.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']/gms)].map((m) => m[1]);
    const dynamic = [...src.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)].map((m) => m[1]);
    graph.set(f, specs.concat(dynamic).map((s) => resolve(dirname(f), s)).filter((d) => d.endsWith(".ts")));
  }
  return graph;
}

const folder = (f: string) => relative(ROOT, f).split("/")[0];

Deno.test("every product folder has its place in the layer order", () => {
  const missing = productFolders().filter((d) => !LAYERS.includes(d));
  if (missing.length) {
    throw new Error(`folders without a floor in LAYERS (and docs/architecture.md): ${missing.join(", ")}`);
  }
  const gone = LAYERS.filter((d) => !productFolders().includes(d));
  if (gone.length) throw new Error(`LAYERS names folders that do not exist: ${gone.join(", ")}`);
});

/** Imports from a folder above the importer's, as "from → to" lines. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [f, deps] of graph) {
    const from = LAYERS.indexOf(folder(f));
    for (const d of deps) {
      if (LAYERS.indexOf(folder(d)) > from) {
        bad.push(`${relative(ROOT, f)} → ${relative(ROOT, d)} (${folder(f)} is below ${folder(d)})`);
      }
    }
  }
  return bad;
}

/** Cycles of the folder-level import graph, as "a → b → a" lines. */
function folderCycles(graph: Map<string, string[]>): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [f, deps] of graph) {
    for (const d of deps) {
      if (folder(d) === folder(f)) continue;
      if (!edges.has(folder(f))) edges.set(folder(f), new Set());
      edges.get(folder(f))!.add(folder(d));
    }
  }
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (a: string, stack: string[]) => {
    state.set(a, 1);
    stack.push(a);
    for (const b of edges.get(a) ?? []) {
      if (state.get(b) === 1) cycles.push(stack.slice(stack.indexOf(b)).concat(b).join(" → "));
      else if (!state.get(b)) visit(b, stack);
    }
    stack.pop();
    state.set(a, 2);
  };
  for (const a of edges.keys()) if (!state.get(a)) visit(a, []);
  return cycles;
}

Deno.test("no module imports from a folder above its own", () => {
  const bad = upwardImports(importGraph());
  if (bad.length) throw new Error(`imports that reach back up:\n  ${bad.join("\n  ")}`);
});

Deno.test("the folders' import graph has no cycle", () => {
  const cycles = folderCycles(importGraph());
  if (cycles.length) throw new Error(`folder cycles:\n  ${cycles.join("\n  ")}`);
});

Deno.test("the checks see an upward import and a folder cycle", () => {
  const at = (p: string) => join(ROOT, p);
  const graph = new Map([
    [at("ir/graph.ts"), [at("step/build.ts"), at("kernels/op.ts")]],
    [at("step/build.ts"), [at("ir/graph.ts")]],
    [at("train/loop.ts"), [at("eval/knn.ts")]],
  ]);
  if (
    upwardImports(graph).join("; ") !==
      "ir/graph.ts → step/build.ts (ir is below step); train/loop.ts → eval/knn.ts (train is below eval)"
  ) {
    throw new Error(`upward imports: ${upwardImports(graph).join("; ")}`);
  }
  if (folderCycles(graph).join("; ") !== "ir → step → ir") throw new Error(`cycles: ${folderCycles(graph).join("; ")}`);
});

/**
 * Folders that are command-line programs (never loaded by a page): they may use node:*, Deno.*
 * and the webgpu package directly. Everything else reaches files, the process and Dawn through
 * platform/, so the core runs unchanged in a page. web/ is here for its server and bundler; its
 * pages are checked by web/build.ts, which refuses a page whose imports reach a node: module.
 */
export const COMMAND_LINE = ["examples", "export", "tools", "bench", "web"];

/** The source with comments blanked, and strings too unless `keepStrings` (an import names its module in one). */
function blank(src: string, keepStrings: boolean): string {
  const spaces = (m: string) => m.replace(/[^\n]/g, " ");
  return src.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (m, str) => str === undefined ? spaces(m) : keepStrings ? str : str[0] + spaces(str.slice(1, -1)) + str[0],
  );
}

/** "file:line: what" for each use of the runtime that only platform/ may make. */
export function runtimeUses(path: string, src: string): string[] {
  const rules: [RegExp, string, boolean][] = [
    [/\b(?:from|import)\s*\(?\s*["']node:[^"']+["']/g, "imports node:*", true],
    [/\bDeno\s*\./g, "uses Deno.*", false],
    [/\b(?:from|import)\s*\(?\s*["']webgpu["']/g, "imports the webgpu package", true],
  ];
  const out: string[] = [];
  for (const [re, what, keepStrings] of rules) {
    const code = blank(src, keepStrings);
    for (const m of code.matchAll(re)) out.push(`${path}:${code.slice(0, m.index).split("\n").length}: ${what}`);
  }
  return out;
}

Deno.test("only platform/ (and the command-line folders) touch node:*, Deno.* or the webgpu package", () => {
  const bad = LAYERS.filter((d) => d !== "platform" && !COMMAND_LINE.includes(d))
    .flatMap((d) => files(join(ROOT, d)))
    .flatMap((f) => runtimeUses(relative(ROOT, f), readFileSync(f, "utf8")));
  if (bad.length) {
    throw new Error(`runtime-specific code outside platform/ (a page cannot load it):\n  ${bad.join("\n  ")}`);
  }
});

Deno.test("the runtime check sees imports and Deno.* in code, not in comments or strings", () => {
  const src = [
    `import { readFileSync } from "node:fs";`,
    `// import process from "node:process";  Deno.exit(1)`,
    `/* Deno.args */ const s = "Deno.exit() // not code";`,
    `const gpu = await import("webgpu");`,
    `export { x } from 'node:path'; Deno.exit(0);`,
  ].join("\n");
  const got = runtimeUses("m.ts", src);
  const want = [
    "m.ts:1: imports node:*",
    "m.ts:5: imports node:*",
    "m.ts:5: uses Deno.*",
    "m.ts:4: imports the webgpu package",
  ];
  if (got.join("; ") !== want.join("; ")) throw new Error(`runtimeUses: ${got.join("; ")}`);
});

/** The modules `entry` loads before it runs: its static imports, transitively (dynamic ones are left out). */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const src = blank(readFileSync(f, "utf8"), true);
    for (const m of src.matchAll(/^(?:import|export)\b(?!\s+type\b)[^;]*?\bfrom\s+["'](\.[^"']+)["']/gms)) {
      visit(resolve(dirname(f), m[1]));
    }
  };
  visit(entry);
  return [...seen];
}

Deno.test("a page can load mod.ts: nothing it imports statically imports node:* or webgpu", () => {
  const reached = staticClosure(join(ROOT, "mod.ts"));
  if (reached.length < 100) throw new Error(`the walk found only ${reached.length} modules`);
  if (!reached.includes(join(ROOT, "platform/browser.ts")) || reached.includes(join(ROOT, "platform/node.ts"))) {
    throw new Error("mod.ts should reach platform/browser.ts, and platform/node.ts only by a dynamic import");
  }
  const bad = reached.flatMap((f) => runtimeUses(relative(ROOT, f), readFileSync(f, "utf8")));
  if (bad.length) throw new Error(`loaded by a page through mod.ts:\n  ${bad.join("\n  ")}`);
});

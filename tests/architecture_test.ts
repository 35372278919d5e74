// The dataflow runs one way (spec → graph → compiled step → GPU): the import graph of the
// product's modules has no cycle across files of different folders, and no folder imports a
// layer above it (the edges listed below are the ones that would reach back up).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const PRODUCT = ["bench", "compiler", "cpu", "data", "dsl", "eval", "examples", "export", "io", "ir", "kernels", "losses", "nn", "pipelines", "report", "runtime", "step", "tools", "train"];

/** folder → folders it must not import from */
const FORBIDDEN: Record<string, string[]> = {
  kernels: ["ir", "compiler", "step", "train", "eval", "runtime", "dsl", "nn", "losses", "pipelines"],
  ir: ["compiler", "step", "train", "eval", "runtime", "dsl", "nn", "losses", "pipelines"],
  compiler: ["step", "train", "eval", "runtime", "dsl", "nn", "losses", "pipelines"],
  nn: ["compiler", "step", "train", "eval", "runtime", "pipelines"],
  losses: ["compiler", "step", "train", "eval", "runtime", "pipelines"],
  step: ["train", "eval", "runtime", "pipelines"],
  runtime: ["step", "train", "eval", "pipelines"],
  eval: ["train", "pipelines"],
  train: ["pipelines"],
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

function importGraph(): Map<string, string[]> {
  const all = PRODUCT.flatMap((d) => files(join(ROOT, d))).concat(join(ROOT, "mod.ts"));
  const graph = new Map<string, string[]>();
  for (const f of all) {
    const src = readFileSync(f, "utf8");
    const deps = [...src.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']/gms)].map((m) => resolve(dirname(f), m[1]));
    graph.set(f, deps.filter((d) => d.endsWith(".ts")));
  }
  return graph;
}

const folder = (f: string) => relative(ROOT, f).split("/")[0];

Deno.test("no folder imports a layer above it", () => {
  const bad: string[] = [];
  for (const [f, deps] of importGraph()) {
    for (const d of deps) if (FORBIDDEN[folder(f)]?.includes(folder(d))) bad.push(`${relative(ROOT, f)} → ${relative(ROOT, d)}`);
  }
  if (bad.length) throw new Error(`imports that reach back up:\n  ${bad.join("\n  ")}`);
});

Deno.test("no import cycle runs through files of different folders", () => {
  const graph = importGraph();
  const state = new Map<string, 1 | 2>();
  const cycles: string[][] = [];
  const visit = (f: string, stack: string[]) => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 1) cycles.push(stack.slice(stack.indexOf(d)).concat(d));
      else if (!state.get(d)) visit(d, stack);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.get(f)) visit(f, []);
  // a cycle inside one folder (ir/graph.ts ⇄ ir/tensor.ts: one concept, two files) is allowed
  const crossing = cycles.filter((c) => new Set(c.map(folder)).size > 1);
  if (crossing.length) throw new Error(`cycles across folders:\n  ${crossing.map((c) => c.map((x) => relative(ROOT, x)).join(" → ")).join("\n  ")}`);
});

// What a spec may ask for. A spec of valid form can still be absurd in size (an encoder with
// 13 million layers, a loss nested 1 000 deep, 10 000 branches): graph building would then hang
// at full CPU, fill the memory, or overflow the stack in one of the recursive walks over the
// loss (the schema, the loss checks, the lowering). These limits are checked on the raw input,
// before the schema and before any graph is built, by loops with an explicit stack (no
// recursion, so the check itself cannot overflow), and a spec over one of them is refused with
// the path and the limit. Each limit is far above any real method: ResNet-50 has 50 layers,
// multi-crop uses 8–10 views, the largest loss in the project has 5 nodes.
//
// | limit                | max        | where                                   |
// |----------------------|------------|-----------------------------------------|
// | specFileBytes        | 1 MiB      | a spec file (--spec, a checkpoint's)    |
// | jsonDepth            | 256        | nesting of any JSON value in the spec   |
// | views                | 64         | views                                   |
// | modules              | 64         | modules                                 |
// | layersPerModule      | 256        | modules.<m>.widths / .channels / .path  |
// | expandedPath         | 64         | a module path after seq expansion       |
// | branches             | 64         | branches, branches[i].path              |
// | queues               | 64         | queues                                  |
// | lossDepth            | 64         | nesting of loss nodes                   |
// | lossNodes            | 4 096      | loss nodes in all                       |
import { joinPath, type SpecIssue } from "./error.ts";

/** The limits of the table above, by name. */
export const SPEC_LIMITS = {
  specFileBytes: 1 << 20,
  jsonDepth: 256,
  views: 64,
  modules: 64,
  layersPerModule: 256,
  expandedPath: 64,
  branches: 64,
  queues: 64,
  lossDepth: 64,
  lossNodes: 4096,
} as const;

export type SpecLimit = keyof typeof SPEC_LIMITS;

const over = (path: string, got: string, limit: SpecLimit): SpecIssue => ({
  path,
  message: `${got}, more than the limit of ${SPEC_LIMITS[limit]} (dsl/limits.ts ${limit})`,
});

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);

/** Whether a value nests deeper than `max` objects and arrays (iterative: any depth is safe). */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (!x || typeof x !== "object") continue;
    if (d + 1 > max) return true;
    for (const e of Object.values(x)) if (e && typeof e === "object") stack.push([e, d + 1]);
  }
  return false;
}

/** Refuses a spec file's text before it is parsed (`bytes`: its size). */
export function specFileIssue(bytes: number): SpecIssue | undefined {
  if (bytes <= SPEC_LIMITS.specFileBytes) return undefined;
  return over("", `the spec is ${bytes} bytes (a real one is a few kB)`, "specFileBytes");
}

/**
 * Every limit a raw (not yet schema-checked) spec exceeds. Only counts what has the expected
 * form; anything else is left to the schema, which then meets a value of bounded size.
 */
export function limitIssues(input: Record<string, unknown>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const count = (path: string, x: unknown, what: string, limit: SpecLimit) => {
    const n = Array.isArray(x) ? x.length : isObject(x) ? Object.keys(x).length : 0;
    if (n > SPEC_LIMITS[limit]) issues.push(over(path, `${n} ${what}`, limit));
  };
  count("views", input.views, "views", "views");
  count("branches", input.branches, "branches", "branches");
  count("queues", input.queues, "queues", "queues");
  count("modules", input.modules, "modules", "modules");
  if (isObject(input.modules)) {
    for (const [name, m] of Object.entries(input.modules)) {
      if (!isObject(m)) continue;
      for (const field of ["widths", "channels", "path"]) {
        count(`${joinPath("modules", name)}.${field}`, m[field], `layers`, "layersPerModule");
      }
    }
    const size = expandedSizes(input.modules);
    for (const [name, n] of size) {
      if (n > SPEC_LIMITS.expandedPath) {
        const at = `${joinPath("modules", name)}.path`;
        issues.push(over(at, `expands to ${n} modules (a path visits each module once)`, "expandedPath"));
      }
    }
  }
  if (Array.isArray(input.branches) && input.branches.length <= SPEC_LIMITS.branches) {
    input.branches.forEach((b, i) => {
      if (isObject(b)) count(`branches[${i}].path`, b.path, "modules in the path", "expandedPath");
    });
  }
  if ("loss" in input) issues.push(...lossIssues(input.loss));
  // last, as the catch-all: any value nested this deep would make the schema recurse as deep
  if (!issues.length && deeperThan(input, SPEC_LIMITS.jsonDepth)) {
    issues.push(over("", `nested more than ${SPEC_LIMITS.jsonDepth} levels deep`, "jsonDepth"));
  }
  return issues;
}

/**
 * Leaf modules each seq module expands to, without expanding anything: a seq that lists another
 * seq twice doubles its size, so a few lines of JSON can describe 64^64 layers. Sizes are
 * summed in dependency order with an explicit stack; a module on a cycle or an unknown name
 * counts 0 (validate.ts reports those).
 */
function expandedSizes(modules: Record<string, unknown>): Map<string, number> {
  const size = new Map<string, number>();
  const pathOf = (name: string): unknown[] | undefined => {
    const m = modules[name];
    return isObject(m) && m.kind === "seq" && Array.isArray(m.path) ? m.path : undefined;
  };
  const onStack = new Set<string>();
  for (const root of Object.keys(modules)) {
    if (!pathOf(root) || size.has(root)) continue;
    const stack: string[] = [root];
    while (stack.length) {
      const name = stack[stack.length - 1];
      onStack.add(name);
      const pending = pathOf(name)!.find((n): n is string =>
        typeof n === "string" && !!pathOf(n) && !size.has(n) && !onStack.has(n)
      );
      if (pending !== undefined) {
        stack.push(pending);
        continue;
      }
      let n = 0;
      for (const x of pathOf(name)!) {
        if (typeof x !== "string" || !Object.hasOwn(modules, x)) continue;
        n += pathOf(x) ? size.get(x) ?? 0 : 1;
      }
      size.set(name, Math.min(n, Number.MAX_SAFE_INTEGER));
      onStack.delete(name);
      stack.pop();
    }
  }
  return size;
}

/** The loss's node count and nesting depth, walked with an explicit stack (a count over the limit is a lower bound). */
function lossIssues(loss: unknown): SpecIssue[] {
  let nodes = 0, deepest = 0;
  const stack: [unknown, number][] = [[loss, 1]];
  // a built (not parsed) loss may share sub-expressions: stop counting once over the limit
  while (stack.length && nodes <= SPEC_LIMITS.lossNodes) {
    const [x, depth] = stack.pop()!;
    if (!x || typeof x !== "object") continue;
    if (Array.isArray(x)) {
      for (const e of x) stack.push([e, depth]);
      continue;
    }
    nodes++;
    deepest = Math.max(deepest, depth);
    for (const e of Object.values(x)) stack.push([e, depth + 1]);
  }
  const issues: SpecIssue[] = [];
  if (deepest > SPEC_LIMITS.lossDepth) {
    issues.push(over("loss", `nested ${deepest} nodes deep`, "lossDepth"));
  }
  if (nodes > SPEC_LIMITS.lossNodes) {
    issues.push(over("loss", `${stack.length ? "over " : ""}${nodes} nodes`, "lossNodes"));
  }
  return issues;
}

// validateSpecStructure: the spec layer's own gate (builders' pipeline(), loadSpec, the CLI). First
// the valibot schema (form: types, ranges, unknown fields), then the semantic checks that a schema
// cannot express (references, cycles, widths, EMA/queue consistency). What needs the graph stage
// (the loss lowered shapes-only through the op table, a stem's minimum view size) is checked by
// step/validate.ts validateSpec, which runs these checks and its own as one gate; both report
// all problems as one SpecError naming their paths.
import * as v from "valibot";
import { joinPath, show, SpecError, type SpecIssue } from "./error.ts";
import { limitIssues } from "./limits.ts";
import { DATA_KINDS, parseDataName } from "../data/names.ts";
import { expandPath, moduleOutDim, viewImageShape } from "./resolve.ts";
import { type Branch, type PipelineSpec, PipelineSpecSchema, SPEC_VERSION } from "./schema.ts";

export interface ValidateOptions {
  /**
   * The spec is untrusted input (a JSON file, a checkpoint): it may not choose where the
   * program reads. Its data set is named by kind only (`cifar10`, not `cifar10:/some/dir` or a
   * folder); the location is the user's to give on the command line (--data). Run names are
   * always one path segment (schema.ts RUN_NAME_RE), so no spec picks where the run writes.
   */
  untrusted?: boolean;
  /** further checks of a spec that passed these, reported with them (step/validate.ts: the graph checks) */
  graphIssues?: (spec: PipelineSpec) => SpecIssue[];
}

/** Checks `input` and returns the spec with defaults filled in; throws SpecError otherwise. */
export function validateSpecStructure(input: unknown, file?: string, opts: ValidateOptions = {}): PipelineSpec {
  if (!input || typeof input !== "object" || Array.isArray(input)) {
    throw new SpecError(
      { path: "", message: `expected a pipeline spec object {version, name, …}, got ${show(input)}` },
      file,
    );
  }
  // A spec of another version would fail in confusing ways below; say the real reason first.
  if ("version" in input && input.version !== SPEC_VERSION) {
    throw new SpecError({
      path: "version",
      message: `unsupported spec version ${show(input.version)}; this build reads version ${SPEC_VERSION}`,
    }, file);
  }
  // Before the schema: its walk over the loss recurses, and graph building would hang on an absurd size.
  const limits = limitIssues(input as Record<string, unknown>);
  if (limits.length) throw new SpecError(limits, file);
  const r = v.safeParse(PipelineSpecSchema, input);
  if (!r.success) throw new SpecError(r.issues.map(schemaIssue), file);
  const issues = semanticIssues(r.output, opts.graphIssues);
  if (opts.untrusted) issues.push(...untrustedIssues(r.output));
  if (issues.length) throw new SpecError(issues, file);
  return r.output;
}

/** What an untrusted spec may not do (see ValidateOptions.untrusted). */
export function untrustedIssues(spec: PipelineSpec): SpecIssue[] {
  const { kind, arg } = parseDataName(spec.data.name);
  if (!arg && DATA_KINDS.includes(kind)) return [];
  const known = DATA_KINDS.includes(kind);
  return [{
    path: "data.name",
    message: `${show(spec.data.name)} ${
      known ? "names a folder" : "is not a data-set kind"
    }: a spec file names its data set by kind only (${
      DATA_KINDS.join(", ")
    }) and the location is given on the command line, e.g. --data ${known ? kind : "cifar10"}:<dir> or --data <folder>`,
  }];
}

/** A valibot issue as {path, message}; the schema's own messages already say what was expected. */
function schemaIssue(issue: v.BaseIssue<unknown>): SpecIssue {
  let path = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    path = joinPath(path, typeof key === "number" ? key : String(key));
  }
  return { path, message: issue.message };
}

const list = (names: Iterable<string>) => [...names].join(", ") || "none";

/** Every semantic problem of a schema-valid spec, in spec order, without duplicates. */
export function semanticIssues(spec: PipelineSpec, graphIssues?: (spec: PipelineSpec) => SpecIssue[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  checkNames(spec, issues);
  checkModules(spec, issues);
  checkBranches(spec, issues);
  checkQueues(spec, issues);
  if (graphIssues) issues.push(...graphIssues(spec));
  checkTraining(spec, issues);
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\n${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** View names are unique; branch and queue names share one namespace (the loss refers to both). */
function checkNames(spec: PipelineSpec, issues: SpecIssue[]) {
  const views = new Map<string, string>();
  spec.views.forEach((x, i) => {
    const at = `views[${i}].name`;
    if (views.has(x.name)) {
      issues.push({ path: at, message: `duplicate view name '${x.name}' (also ${views.get(x.name)})` });
    } else views.set(x.name, at);
  });
  const refs = new Map<string, string>();
  const add = (name: string, at: string) => {
    if (refs.has(name)) {
      issues.push({
        path: at,
        message: `duplicate name '${name}' (also ${refs.get(name)}); branches and queues share one namespace`,
      });
    } else refs.set(name, at);
  };
  spec.branches.forEach((b, i) => add(b.name, `branches[${i}].name`));
  spec.queues.forEach((q, i) => add(q.name, `queues[${i}].name`));
}

/** seq modules refer to existing modules and do not contain themselves. */
function checkModules(spec: PipelineSpec, issues: SpecIssue[]) {
  const cycles = new Set<string>(); // each cycle once, at the first module of it met
  for (const [name, m] of Object.entries(spec.modules)) {
    if (m.kind !== "seq") continue;
    m.path.forEach((n, j) => {
      const at = `${joinPath("modules", name)}.path[${j}]`;
      if (!spec.modules[n]) {
        issues.push({ path: at, message: `unknown module '${n}' (modules: ${list(Object.keys(spec.modules))})` });
        return;
      }
      const cycle = findCycle(spec, n, [name]);
      const key = cycle && [...new Set(cycle)].sort().join(",");
      if (cycle && !cycles.has(key!)) {
        cycles.add(key!);
        issues.push({ path: at, message: `module cycle: ${cycle.join(" → ")}` });
      }
    });
  }
}

/** A path of seq references from `name` back to stack[0], or undefined. */
function findCycle(spec: PipelineSpec, name: string, stack: string[]): string[] | undefined {
  if (name === stack[0]) return [...stack, name];
  if (stack.includes(name)) return undefined; // a cycle not through stack[0]: reported from its own module
  const m = spec.modules[name];
  if (!m || m.kind !== "seq") return undefined;
  for (const n of m.path) {
    const c = findCycle(spec, n, [...stack, name]);
    if (c) return c;
  }
  return undefined;
}

/** Each branch: its view, its module path (known, each module once, widths that chain), its EMA. */
function checkBranches(spec: PipelineSpec, issues: SpecIssue[]) {
  const flattens = new Map<string, { at: string; side: number }>();
  const emaTaus = new Map<string, { at: string; tau: string }>();
  spec.branches.forEach((b, i) => {
    const at = `branches[${i}]`;
    checkBranchView(spec, b, at, issues);
    const leaves = branchLeaves(spec, b, at, issues);
    if (!leaves || !checkVisitsOnce(leaves, at, issues)) return;
    leaves.forEach((n, k) => {
      checkTakesImages(spec, leaves, k, at, issues);
      checkMlpInput(spec, b, leaves, k, at, issues);
      checkFlattenSide(spec, b, n, k, at, flattens, issues);
    });
    if (b.ema) checkEma(spec, b, leaves, at, emaTaus, issues);
  });
}

function checkBranchView(spec: PipelineSpec, b: Branch, at: string, issues: SpecIssue[]) {
  const viewNames = spec.views.map((x) => x.name);
  if (!viewNames.includes(b.view)) {
    issues.push({ path: `${at}.view`, message: `unknown view '${b.view}' (views: ${list(viewNames)})` });
  }
}

/** The branch's leaf modules; undefined (reported here, or at the seq module) when the path is broken. */
function branchLeaves(spec: PipelineSpec, b: Branch, at: string, issues: SpecIssue[]): string[] | undefined {
  let broken = false;
  b.path.forEach((n, j) => {
    if (spec.modules[n]) return;
    const known = list(Object.keys(spec.modules));
    issues.push({ path: `${at}.path[${j}]`, message: `unknown module '${n}' (modules: ${known})` });
    broken = true;
  });
  return broken ? undefined : expandPath(spec.modules, b.path); // undefined for seq cycles, reported at the seq
}

/** A path is a chain of distinct parameterized layers: each module once. */
function checkVisitsOnce(leaves: string[], at: string, issues: SpecIssue[]): boolean {
  const twice = leaves.find((n, k) => leaves.indexOf(n) !== k);
  if (!twice) return true;
  issues.push({
    path: `${at}.path`,
    message: `module '${twice}' appears twice in the expanded path (${
      leaves.join(" → ")
    }); a path visits each module once`,
  });
  return false;
}

/** cnn and resnet18 take images, so only the first module of a path may be one. */
function checkTakesImages(spec: PipelineSpec, leaves: string[], k: number, at: string, issues: SpecIssue[]) {
  const n = leaves[k], m = spec.modules[n];
  if ((m.kind === "cnn" || m.kind === "resnet18") && k > 0) {
    issues.push({
      path: `${at}.path`,
      message: `'${n}' (${m.kind}) takes images, so it must come first in the path, not after '${leaves[k - 1]}'`,
    });
  }
}

/** An mlp's declared input width matches what feeds it: the module before, or the flattened view. */
function checkMlpInput(spec: PipelineSpec, b: Branch, leaves: string[], k: number, at: string, issues: SpecIssue[]) {
  const n = leaves[k], m = spec.modules[n];
  if (m.kind !== "mlp" || m.in === undefined) return;
  if (k > 0) {
    const prevOut = moduleOutDim(spec.modules[leaves[k - 1]]);
    if (prevOut !== undefined && m.in !== prevOut) {
      issues.push({
        path: `${joinPath("modules", n)}.in`,
        message: `'${n}' expects input width ${m.in} but '${leaves[k - 1]}' outputs ${prevOut} (in ${at} '${b.name}')`,
      });
    }
    return;
  }
  const [c, h, w] = viewImageShape(spec, b.view);
  if (c !== undefined && h !== undefined && w !== undefined && m.in !== c * h * w) {
    issues.push({
      path: `${joinPath("modules", n)}.in`,
      message: `'${n}' expects input width ${m.in} but view '${b.view}' gives ${c}×${h}×${w} = ${
        c * h * w
      } values (in ${at} '${b.name}')`,
    });
  }
}

/** An mlp that flattens images has one input width, so every view feeding it has one side. */
function checkFlattenSide(
  spec: PipelineSpec,
  b: Branch,
  n: string,
  k: number,
  at: string,
  flattens: Map<string, { at: string; side: number }>,
  issues: SpecIssue[],
) {
  if (k !== 0 || spec.modules[n].kind !== "mlp") return;
  const [, h, w] = viewImageShape(spec, b.view);
  if (h === undefined) return;
  const prev = flattens.get(n);
  if (!prev) flattens.set(n, { at, side: h });
  else if (prev.side !== h) {
    issues.push({
      path: `${at}.view`,
      message:
        `'${n}' (mlp) flattens its input, but view '${b.view}' is ${h}×${w} while ${prev.at} feeds it ${prev.side}×${prev.side}`,
    });
  }
}

/** An ema branch follows an online (non-ema) branch, uses only its modules, and shares its τ. */
function checkEma(
  spec: PipelineSpec,
  b: Branch,
  leaves: string[],
  at: string,
  emaTaus: Map<string, { at: string; tau: string }>,
  issues: SpecIssue[],
) {
  const of = b.ema!.of;
  const online = spec.branches.find((x) => x.name === of);
  if (!online) {
    const names = spec.branches.map((x) => x.name);
    issues.push({ path: `${at}.ema.of`, message: `unknown branch '${of}' (branches: ${list(names)})` });
    return;
  }
  if (of === b.name) {
    const message = "a branch cannot be an EMA of itself; name the online branch it follows";
    issues.push({ path: `${at}.ema.of`, message });
    return;
  }
  if (online.ema) {
    issues.push({
      path: `${at}.ema.of`,
      message: `branch '${of}' is itself an ema branch; name the online branch it follows (ema of '${online.ema.of}')`,
    });
    return;
  }
  const onlineLeaves = expandPath(spec.modules, online.path) ?? [];
  const missing = leaves.find((n) => !onlineLeaves.includes(n));
  if (missing) {
    issues.push({
      path: `${at}.path`,
      message: `'${missing}' is not in the path of branch '${of}' (${onlineLeaves.join(" → ")}), so it has no EMA copy`,
    });
  }
  const tau = JSON.stringify(b.ema!.tau);
  const prev = emaTaus.get(of);
  if (!prev) emaTaus.set(of, { at: `${at}.ema.tau`, tau });
  else if (prev.tau !== tau) {
    issues.push({
      path: `${at}.ema.tau`,
      message: `differs from ${prev.at}; all ema branches of '${of}' share one EMA copy and one τ schedule`,
    });
  }
}

function checkQueues(spec: PipelineSpec, issues: SpecIssue[]) {
  const names = spec.branches.map((b) => b.name);
  spec.queues.forEach((q, i) => {
    if (!names.includes(q.of)) {
      issues.push({ path: `queues[${i}].of`, message: `unknown branch '${q.of}' (branches: ${list(names)})` });
    }
    if (q.size % spec.batch !== 0) {
      const fix = Math.max(1, Math.round(q.size / spec.batch)) * spec.batch;
      issues.push({
        path: `queues[${i}].size`,
        message:
          `${q.size} is not a multiple of the batch ${spec.batch}: each step enqueues a whole batch (e.g. use ${fix})`,
      });
    }
  });
}

function checkTraining(spec: PipelineSpec, issues: SpecIssue[]) {
  spec.optimizer.fixedLr.forEach((n, i) => {
    if (!spec.modules[n]) {
      issues.push({
        path: `optimizer.fixedLr[${i}]`,
        message: `unknown module '${n}' (modules: ${list(Object.keys(spec.modules))})`,
      });
    }
  });
  if (spec.schedule.warmupEpochs > spec.epochs) {
    issues.push({
      path: "schedule.warmupEpochs",
      message:
        `warmup of ${spec.schedule.warmupEpochs} epochs is longer than the run (${spec.epochs} epochs); shorten it (--warmup)`,
    });
  }
  const n = spec.data.trainLimit;
  // a one-class run has no kNN evaluation (run/evaluation.ts), so eval.knnK does not bind it
  if (n !== undefined && spec.eval.knnK > n && spec.data.oneClass === undefined) {
    issues.push({
      path: "eval.knnK",
      message: `${spec.eval.knnK} neighbours but only ${n} training images (data.trainLimit); raise --train-limit ` +
        `to at least ${spec.eval.knnK}, or set eval.knnK in a spec file given with --spec (no flag sets it)`,
    });
  }
  if (n !== undefined && n < spec.batch) {
    issues.push({ path: "data.trainLimit", message: `${n} training images cannot fill one batch of ${spec.batch}` });
  }
}

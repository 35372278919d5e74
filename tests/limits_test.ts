// deno-lint-ignore-file no-explicit-any -- the tests build specs past their types on purpose
// Specs of valid form but absurd size are refused before the schema and before any graph is
// built, fast, with the path and the limit (dsl/limits.ts); real depths pass.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpecError } from "../dsl/error.ts";
import { loadSpec, parseSpecJSON } from "../dsl/io.ts";
import { SPEC_LIMITS } from "../dsl/limits.ts";
import { presets } from "../dsl/presets.ts";
import { validateSpec } from "../step/validate.ts";

const bt = () => structuredClone(presets.barlowTwins({ data: "synthetic", imageSize: 8, batch: 8 })) as any;

/** Validates `spec`, expecting a SpecError within `ms` whose first issue is at `path` naming `limit`. */
function refused(spec: unknown, path: string, limit: keyof typeof SPEC_LIMITS, ms = 2000) {
  const t0 = performance.now();
  let err: unknown;
  try {
    validateSpec(spec);
  } catch (e) {
    err = e;
  }
  const took = performance.now() - t0;
  assert.ok(err instanceof SpecError, `expected a SpecError, got ${err}`);
  assert.equal(err.path, path, err.message);
  assert.match(err.message, new RegExp(`more than the limit of ${SPEC_LIMITS[limit]} \\(dsl/limits\\.ts ${limit}\\)`));
  assert.ok(took < ms, `took ${took.toFixed(0)} ms`);
}

Deno.test("a loss nested 1 000 deep is refused at 'loss' by the depth limit, not by a stack overflow", () => {
  const s = bt();
  let loss: unknown = { op: "barlowTwins", a: "z1", b: "z2", lambda: 0.005 };
  for (let i = 0; i < 1000; i++) loss = { op: "neg", args: [loss] };
  s.loss = loss;
  refused(s, "loss", "lossDepth");
  // a million deep: the limit check itself walks without recursion
  for (let i = 0; i < 1_000_000; i++) loss = { op: "neg", args: [loss] };
  s.loss = loss;
  refused(s, "loss", "lossDepth");
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  refused({ ...bt(), data: deep }, "", "jsonDepth");
});

Deno.test("10 000 branches used by the loss are refused at 'branches'", () => {
  const s = bt();
  s.branches = Array.from(
    { length: 10_000 },
    (_, i) => ({ name: `b${i}`, view: "v1", path: ["encoder", "projector"] }),
  );
  s.loss = { op: "add", args: s.branches.map((b: any) => ({ op: "mean", args: [b.name] })) };
  let err: SpecError | undefined;
  try {
    validateSpec(s);
  } catch (e) {
    err = e as SpecError;
  }
  assert.ok(err instanceof SpecError, String(err));
  assert.deepEqual(err.issues.map((i) => i.path), ["branches", "loss"]);
  assert.match(err.issues[0].message, /^10000 branches, more than the limit of 64/);
  assert.match(err.issues[1].message, /^over 4097 nodes, more than the limit of 4096/);
});

Deno.test("a built loss sharing its sub-expressions (2^40 nodes as a tree) is refused without walking them all", () => {
  const s = bt();
  let loss: unknown = { op: "mean", args: ["z1"] };
  for (let i = 0; i < 40; i++) loss = { op: "add", args: [loss, loss] };
  s.loss = loss;
  refused(s, "loss", "lossNodes");
});

Deno.test("an encoder of 13 million layers is refused at once, naming the module's field", () => {
  const s = bt();
  s.modules.encoder.widths = new Array(13_000_000).fill(8);
  refused(s, "modules.encoder.widths", "layersPerModule", 3000);
});

Deno.test("a seq that lists another seq twice, nested, cannot expand to 64^k layers", () => {
  const s = bt();
  s.modules.l0 = { kind: "seq", path: ["encoder"] };
  for (let k = 1; k < 30; k++) s.modules[`l${k}`] = { kind: "seq", path: [`l${k - 1}`, `l${k - 1}`] };
  s.branches[0].path = ["l29"];
  refused(s, "modules.l7.path", "expandedPath"); // l6 expands to 64
});

Deno.test("ResNet-50-like depths and many views pass the limits", () => {
  const s = bt();
  s.modules.encoder.widths = new Array(50).fill(16);
  s.modules.projector.widths = [16, 16];
  s.modules.encoder.in = 64;
  s.views = Array.from({ length: 10 }, (_, i) => ({ name: i < 2 ? s.views[i].name : `crop${i}`, aug: s.views[0].aug }));
  const ok = validateSpec(s);
  assert.equal((ok.modules.encoder as any).widths.length, 50);
  validateSpec({ ...bt(), modules: { ...bt().modules, encoder: { kind: "cnn", channels: new Array(50).fill(8) } } });
});

Deno.test("a spec file over 1 MiB is refused by its size, before it is read or parsed", () => {
  const dir = mkdtempSync(join(tmpdir(), "limits-test-"));
  const file = join(dir, "huge.json");
  const s = bt();
  s.modules.encoder.widths = new Array(6_000_000).fill(8); // ~12 MB of JSON
  writeFileSync(file, JSON.stringify(s));
  const t0 = performance.now();
  assert.throws(
    () => loadSpec(file),
    (e: unknown) =>
      e instanceof SpecError && e.file === file &&
      /^.*huge\.json: the spec is 1200\d{4} bytes \(a real one is a few kB\), more than the limit of 1048576/.test(
        e.message,
      ),
  );
  assert.ok(performance.now() - t0 < 1000);
  assert.throws(() => parseSpecJSON("x".repeat(SPEC_LIMITS.specFileBytes + 1), "blob"), /blob: the spec is 1048577 /);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("from the command line: a spec over a limit exits 2 with the path and the limit, no stack trace", async () => {
  const dir = mkdtempSync(join(tmpdir(), "limits-test-"));
  const file = join(dir, "deep.json");
  const s = bt();
  for (let i = 0; i < 1000; i++) s.loss = { op: "neg", args: [s.loss] };
  writeFileSync(file, JSON.stringify(s));
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "pipelines/barlow.ts", "--spec", file, "--data", "synthetic", "--out", join(dir, "run")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  Deno.removeSync(dir, { recursive: true });
  assert.equal(r.code, 2, err);
  assert.match(
    err,
    /deep\.json: loss: nested 1001 nodes deep, more than the limit of 64 \(dsl\/limits\.ts lossDepth\)/,
  );
  assert.doesNotMatch(err, /\n\s+at |Maximum call stack/);
});

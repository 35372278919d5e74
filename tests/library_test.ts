// ssl-webgpu as a library: the README's example (docs/library_example.ts, shown verbatim in the
// README) builds, validates and trains a spec through mod.ts; here for a few steps.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainMyMethod } from "../docs/library_example.ts";
import { readMetrics } from "../report/metrics.ts";

const EXAMPLE = new URL("../docs/library_example.ts", import.meta.url);
const README = new URL("../README.md", import.meta.url);

Deno.test("the README shows the library example exactly as it is tested", () => {
  const file = readFileSync(EXAMPLE, "utf8").replace('from "../mod.ts"', 'from "./ssl-webgpu/mod.ts"');
  const readme = readFileSync(README, "utf8");
  const block = /```ts\n(\/\/ Using ssl-webgpu from another project[\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has the library example block");
  assert.equal(block[1], file);
});

Deno.test("library example: a spec built and validated in user code trains through mod.ts (12 steps, synthetic)", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "library-")), "run");
  const losses = await trainMyMethod(out, 12);
  assert.ok(losses.length > 0 && losses.every(Number.isFinite), `losses ${losses}`);
  const steps = readMetrics(join(out, "metrics.jsonl")).filter((r) => typeof r.loss === "number").map((r) => r.step);
  assert.ok(steps.length > 0 && (steps.at(-1) as number) <= 11, `logged steps ${steps}`);
  assert.ok(existsSync(join(out, "checkpoint.safetensors")));
});

Deno.test("the package publishes: `deno publish --dry-run` checks every export for slow types and passes", async () => {
  const r = await new Deno.Command(Deno.execPath(), { args: ["publish", "--dry-run", "--allow-dirty"], stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, text.slice(-3000));
  assert.match(text, /Success Dry run complete/);
  assert.doesNotMatch(text, /^error/m);
});

// One gate before any work (step/validate.ts): the spec layer's checks and the graph stage's
// (the loss lowered shapes-only, the ImageNet stem's view size) report together, whoever asks —
// validateSpec, the flags, or train() handed a spec object that skipped the builders — and
// train() asks before it reads data, touches the run folder or opens a device.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { eye, matmul, mean } from "../dsl/builders.ts";
import { parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import { presets } from "../dsl/presets.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpecStructure } from "../dsl/validate.ts";
import { graphIssues, validateSpec } from "../step/validate.ts";
import { train } from "../train/trainer.ts";

const bt = () => presets.barlowTwins({ data: "synthetic", imageSize: 8, proj: [6, 5], batch: 4 });

/** A spec whose loss names a branch that does not exist (only the graph stage sees it). */
function brokenLoss(): PipelineSpec {
  const s = structuredClone(bt());
  (s.loss as { b: string }).b = "z9";
  return s;
}

Deno.test("the spec layer alone passes a loss it cannot read; the gate names its path", () => {
  validateSpecStructure(brokenLoss()); // dsl/ knows no op table: no error here
  assert.deepEqual(graphIssues(brokenLoss()).map((i) => i.path), ["loss.b"]);
  assert.throws(
    () => validateSpec(brokenLoss()),
    (e: unknown) => e instanceof SpecError && e.path === "loss.b" && /'z9'/.test(e.message),
  );
});

Deno.test("a flag that breaks the loss is named with the loss's problem", () => {
  // a loss written from primitives for D = 5: a narrower projector breaks it
  const preset = validateSpec({ ...bt(), loss: mean(matmul("z1", eye(5))) });
  const err = (() => {
    try {
      parseFlags(["--proj", "6,4"], preset, { graphIssues });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof SpecError, `expected a SpecError, got ${err}`);
  assert.match(err.message, /contraction sizes differ/);
  assert.match(err.message, /after applying --proj/);
});

Deno.test("train() refuses a spec that fails the gate before it reads data or writes the run folder", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "spec_gate_test_" });
  const out = join(dir, "run");
  try {
    // the data set does not exist either: the spec's problem must come first
    const spec = { ...brokenLoss(), data: { ...brokenLoss().data, name: `cifar10:${join(dir, "nowhere")}` } };
    await assert.rejects(
      train({ spec, out, log: () => {} }),
      (e: unknown) => e instanceof SpecError && e.path === "loss.b",
    );
    assert.equal(existsSync(out), false, "the refused run created its folder");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

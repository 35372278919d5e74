// Ten training steps in both engines from one checkpoint on the same views: every pipeline's
// optimizer (SGD with a fixed-lr predictor, LARS with bias lr or clipping, AdamW for a loss of
// every primitive), warmup-cosine lr, EMA copies with their τ schedule, BN running statistics
// and MoCo's queue end within 1e-3 (per tensor, max |Δ| / max |value|) of the project's.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type ProjectSteps, projectSteps, testImages } from "./util/torch_gpu.ts";
import {
  exportSpec,
  maxAbsDiff,
  readTensors,
  relErr,
  requireTorch,
  runCases,
  tempDir,
  writeTensors,
} from "./util/torch.ts";
import { extraSpecs, smallSpecs, zeroGradientParams } from "./util/torch_specs.ts";

const TOL = 1e-3;

/**
 * The scale a running mean is measured on: the features' running std as well as the mean
 * itself (a feature whose batch mean is zero in exact arithmetic, e.g. after a BN without
 * affine and a Linear without bias, has a running mean of pure rounding noise).
 */
const featureScale = (mean: Float32Array, variance: Float32Array) =>
  Math.max(...Array.from(mean, Math.abs), ...Array.from(variance, (v) => Math.sqrt(Math.max(v, 0))));
const STEPS = 10;

Deno.test("torch export: 10 training steps end where the project's end, for every pipeline and AdamW", async () => {
  requireTorch();
  const root = tempDir("train");
  const img = { c: 3, h: 8, w: 8 };
  const all = [...await smallSpecs(16, 8), ...await extraSpecs(16, 8)];
  const specs = all.filter(({ name }) => name.startsWith("pipelines/") || name.includes("AdamW"));
  const geometry = { stepsPerEpoch: 10, totalSteps: 40 };
  const start = 3;
  const project: { name: string; spec: PipelineSpec; ref: ProjectSteps }[] = [];
  const cases: { out: string; [k: string]: unknown }[] = [];
  for (const [i, { name, spec }] of specs.entries()) {
    const dir = join(root, `case${i}`);
    const ref = await projectSteps(
      spec,
      img,
      (s) => testImages(spec.batch, img, 100 * i + s),
      start,
      STEPS,
      geometry,
      join(dir, "run"),
    );
    writeTensors(join(dir, "views.safetensors"), Object.fromEntries(ref.views));
    cases.push({
      kind: "steps",
      program: exportSpec(spec, dir, "program"),
      checkpoint: join(dir, "run"),
      views: join(dir, "views.safetensors"),
      start,
      count: STEPS,
      spe: geometry.stepsPerEpoch,
      total: geometry.totalSteps,
      out: join(dir, "torch.safetensors"),
    });
    project.push({ name, spec, ref });
  }
  runCases(root, cases);
  const report: string[] = [];
  project.forEach(({ name, spec, ref }, i) => {
    const got = readTensors(cases[i].out);
    const lossErr = Math.max(...ref.losses.map((l, k) => Math.abs(got.losses.data[k] - l) / Math.abs(l)));
    // optimizer state driven by a gradient that is zero in exact arithmetic is rounding noise
    const noise = [...zeroGradientParams(spec)].flatMap((p) => [`${p}.momentum`, `${p}.adam_m`, `${p}.adam_v`]);
    let worst = 0, moved = 0;
    for (const [tname, want] of ref.final) {
      assert(`state.${tname}` in got, `${name}: torch has no ${tname}`);
      if (noise.includes(tname)) continue;
      const e = tname.endsWith(".running_mean")
        ? maxAbsDiff(got[`state.${tname}`].data, want) /
          featureScale(want, ref.final.get(tname.replace(/mean$/, "var"))!)
        : relErr(got[`state.${tname}`].data, want);
      assert(e <= TOL, `${name}: ${tname} after ${STEPS} steps: relative error ${e.toExponential(2)}`);
      worst = Math.max(worst, e);
      moved = Math.max(moved, relErr(ref.state.get(tname)!, want));
    }
    assert(moved > 1e-2, `${name}: the steps barely changed the state (${moved}); the comparison would prove nothing`);
    report.push(
      `${name}: ${ref.final.size} tensors, worst ${worst.toExponential(1)} (state moved ${
        moved.toExponential(1)
      }), losses within ${lossErr.toExponential(1)}`,
    );
  });
  console.log(report.join("\n"));
});

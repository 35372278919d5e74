// PyTorch parity of the loss and of every parameter gradient of a list of specs: the project
// draws the views and computes loss and gradients on the GPU from a checkpoint of perturbed
// state; the exported program loads that checkpoint, takes the same views, and must give the
// same loss and gradients within 1e-4 (relative, f32; per tensor, max |Δ| / max |g|).
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ProjectGradients, projectGradients, testImages } from "./torch_gpu.ts";
import { exportSpec, readTensors, relErr, requireTorch, runCases, tempDir, writeTensors } from "./torch.ts";
import { type SmallSpec, zeroGradientParams } from "./torch_specs.ts";

const TOL = 1e-4;
/** A gradient that is zero in exact arithmetic must stay below this fraction of its layer's weight gradient. */
const NOISE = 1e-5;
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** Asserts loss and gradient parity for every spec (8×8 RGB images); returns one summary line per spec. */
export async function checkTorchGradients(specs: SmallSpec[], tag = "grads"): Promise<string[]> {
  requireTorch();
  const root = tempDir(tag);
  const geometry = { stepsPerEpoch: 10, totalSteps: 40 };
  const project: { name: string; ref: ProjectGradients }[] = [];
  const cases: { kind: string; program: string; checkpoint: string; views: string; out: string }[] = [];
  for (const [i, { name, spec }] of specs.entries()) {
    const dir = join(root, `case${i}`);
    const img = { c: 3, h: 8, w: 8 };
    const ref = await projectGradients(spec, img, testImages(spec.batch, img, 11 + i), 7, geometry, join(dir, "run"));
    writeTensors(join(dir, "views.safetensors"), Object.fromEntries(ref.views));
    cases.push({
      kind: "grads",
      program: exportSpec(spec, dir, "program"),
      checkpoint: join(dir, "run"),
      views: join(dir, "views.safetensors"),
      out: join(dir, "torch.safetensors"),
    });
    project.push({ name, ref });
  }
  runCases(root, cases);
  const report: string[] = [];
  project.forEach(({ name, ref }, i) => {
    const got = readTensors(cases[i].out);
    const lossErr = Math.abs(got.loss.data[0] - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30);
    assert(
      lossErr <= TOL,
      `${name}: loss ${got.loss.data[0]} (torch) vs ${ref.loss} (project): relative error ${lossErr.toExponential(2)}`,
    );
    const names = [...ref.grads.keys()].sort();
    assert.deepEqual(
      Object.keys(got).filter((k) => k.startsWith("grad.")).map((k) => k.slice(5)).sort(),
      names,
      `${name}: parameters`,
    );
    let worst = 0;
    const zero = zeroGradientParams(specs[i].spec);
    for (const p of names) {
      const mine = got[`grad.${p}`].data, theirs = ref.grads.get(p)!.data;
      if (zero.has(p)) {
        const layer = maxAbs(ref.grads.get(p.replace(/bias$/, "weight"))!.data);
        for (const [who, g] of [["torch", mine], ["project", theirs]] as const) {
          assert(
            maxAbs(g) <= NOISE * layer,
            `${name}: ${p} has a zero gradient in exact arithmetic, but ${who} gives ${
              maxAbs(g).toExponential(2)
            } (weight gradient ${layer.toExponential(2)})`,
          );
        }
        continue;
      }
      const e = relErr(mine, theirs);
      assert(e <= TOL, `${name}: gradient of ${p}: relative error ${e.toExponential(2)}`);
      worst = Math.max(worst, e);
    }
    report.push(
      `${name}: loss ${ref.loss.toPrecision(6)} (rel. err ${
        lossErr.toExponential(1)
      }), ${names.length} gradients, worst ${worst.toExponential(1)}`,
    );
  });
  return report;
}

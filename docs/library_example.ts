// Using ssl-webgpu from another project: build a spec with the builders, check its JSON form,
// train it. In your project, import from the path of ssl-webgpu's mod.ts (below it is this
// repository's). tests/library_test.ts runs this file and checks that the README shows it.
import { aug, barlowTwins, branch, cosine, crop, lars, mlp } from "../mod.ts"; // the spec builders
import { pipeline, train, validateSpec, views } from "../mod.ts";

/** Trains a small λ-free Barlow Twins on the synthetic set; returns the logged losses. */
export async function trainMyMethod(out: string, steps = 20): Promise<number[]> {
  const spec = pipeline({
    name: "my-barlow",
    method: "barlowTwins",
    data: "synthetic", // 16×16 gray shapes, generated: nothing to download
    views: views(aug({ crop: crop(16, [0.5, 1]), flip: 0.5 })), // v1 and v2, same recipe
    modules: {
      encoder: mlp([64], { lastBn: true, lastRelu: true }),
      projector: mlp([64, 32], { bias: false }),
    },
    branches: [branch("z1", "v1", ["encoder", "projector"]), branch("z2", "v2", ["encoder", "projector"])],
    loss: barlowTwins("z1", "z2", "mean"), // λ = 1/(D−1)
    optimizer: lars({ lr: 0.2, weightDecay: 1e-4 }),
    schedule: cosine(0.1),
    batch: 32,
    epochs: 1,
    steps,
    eval: { knnK: 20 },
  });
  // A spec is data: its JSON (a file, a message) validates back to the same spec; a mistake
  // throws a SpecError naming the path inside the spec.
  const again = validateSpec(JSON.parse(JSON.stringify(spec)));
  const run = await train({ spec: again, out });
  run.dispose(); // frees what the run holds on the device (the compiled step, the data sets)
  return run.losses.map((l) => l.loss);
}

if (import.meta.main) console.log(await trainMyMethod("runs/my-barlow"));

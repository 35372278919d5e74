// The per-layer conv sweep (bench/conv_tiles.ts) times the layers a step really computes: one
// node per layer shape and op, named as the profile names them, without the images' gradient
// (the first conv's input gradient is in the graph but nothing dispatches it).
import assert from "node:assert/strict";
import { distinctConvs } from "../bench/conv_tiles.ts";
import { cnnBtSpec } from "../bench/cnn_step.ts";
import { convShapeKey } from "../bench/profile_convs.ts";
import { compileStep, trainingGraph } from "../step/build.ts";

Deno.test("conv sweep: the small CNN step's eight conv layers, no gradient of the images", () => {
  const { spec, image } = cnnBtSpec({ batch: 4 });
  const t = trainingGraph(spec, image);
  const program = compileStep(t, { features: { subgroups: true, f16: false } }).program;
  const layers = distinctConvs(t.graph, program).map((n) => convShapeKey(t.graph, n)).sort();
  // the two views of 4 images run as one batch of 8
  assert.deepEqual(layers, [
    "conv2d N8 1→32 28×28 k3",
    "conv2d N8 32→64 14×14 k3",
    "conv2d N8 64→128 7×7 k3",
    "conv2dGradInput N8 32→64 14×14 k3",
    "conv2dGradInput N8 64→128 7×7 k3",
    "conv2dGradWeight N8 1→32 28×28 k3",
    "conv2dGradWeight N8 32→64 14×14 k3",
    "conv2dGradWeight N8 64→128 7×7 k3",
  ]);
  // the graph does hold the images' gradient: the program leaves it out
  assert.ok(t.graph.nodes.some((n) => n.op === "conv2dGradInput" && convShapeKey(t.graph, n).includes("1→32")));
});

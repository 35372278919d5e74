// The tile probe (bench/tile_probe.ts) times edited copies of the lavapipe tile: each copy must
// still be an edit of the kernel the matmul builds today (a rule that stopped matching would time
// the unedited tile under another name), and the tile it starts from must compute the product, as
// must the copy that reads A as vec4s (a candidate, not only a timing).
import assert from "node:assert/strict";
import { bindProbe, probeKernels } from "../bench/tile_probe.ts";
import { getGpu } from "./util/gpu.ts";

const M = 40, N = 128, K = 24;
const GPU = await getGpu();

Deno.test("tile probe: every copy is an edit of the tile as built, every name distinct", () => {
  const ks = probeKernels(M, N, K);
  assert.equal(ks[0].name, "as built");
  assert.equal(new Set(ks.map((k) => k.name)).size, ks.length);
  assert.equal(new Set(ks.map((k) => k.wgsl)).size, ks.length, "two kernels of the probe are the same program");
});

Deno.test("tile probe: a rule that no longer matches the kernel is an error", () => {
  // N = 4 columns: the tile is one lane's (t16x1), without the 32-row tile the vec4-A copy rewrites
  assert.throws(() => probeKernels(M, 4, K), /no longer matches/);
});

Deno.test({
  name: "tile probe: the tile as built and its vec4-A copy equal float64; the hoisted-loads copy does not",
  ignore: !GPU.features.subgroups, // the probe times the subgroup tile
}, async () => {
  const a = new Float32Array(K * M).map((_, i) => Math.sin(i * 0.37));
  const b = new Float32Array(K * N).map((_, i) => Math.cos(i * 0.11));
  const ref = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) ref[m * N + n] += a[k * M + m] * b[k * N + n];
  }
  const kernels = probeKernels(M, N, K);
  const probe = await bindProbe(GPU.device, kernels.slice(0, 3), a, b, M * N);
  const err = (y: Float32Array) => Math.max(...y.map((v, i) => Math.abs(v - ref[i])));
  assert.deepEqual(kernels.slice(0, 3).map((k) => k.name), [
    "as built",
    "loads before the loop",
    "A as one vec4 per lane",
  ]);
  await probe.run(0, 1);
  assert.ok(err(await probe.read()) < 1e-5);
  await probe.run(1, 1); // every step reads the operands' first row
  assert.ok(err(await probe.read()) > 0.1);
  await probe.run(2, 1);
  assert.ok(err(await probe.read()) < 1e-5);
  probe.destroy();
});

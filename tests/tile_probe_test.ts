// The tile probe (bench/tile_probe.ts) times edited copies of the lavapipe tile: each copy must
// still be an edit of the kernel the matmul builds today (a rule that stopped matching would time
// the unedited tile under another name), and the tile it starts from must compute the product.
import assert from "node:assert/strict";
import { probeKernels } from "../bench/tile_probe.ts";
import { awaitGpu } from "../runtime/wait.ts";
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
  // N = 4 columns: the tile is one lane's (t16x1), with no subgroupBroadcast for that copy to remove
  assert.throws(() => probeKernels(M, 4, K), /no longer matches/);
});

/** C = AᵀB on the GPU through `wgsl` (A [K, M], B [K, N]) */
async function product(dev: GPUDevice, wgsl: string, wg: [number, number, number], a: Float32Array, b: Float32Array) {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const bufs = [a, b, new Float32Array(M * N)].map((d) => {
    const buf = dev.createBuffer({ size: d.byteLength, usage });
    dev.queue.writeBuffer(buf, 0, d);
    return buf;
  });
  const pipe = dev.createComputePipeline({
    layout: "auto",
    compute: { module: dev.createShaderModule({ code: wgsl }), entryPoint: "main" },
  });
  const read = dev.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(
    0,
    dev.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.dispatchWorkgroups(...wg);
  pass.end();
  enc.copyBufferToBuffer(bufs[2], 0, read, 0, M * N * 4);
  dev.queue.submit([enc.finish()]);
  await awaitGpu(read.mapAsync(GPUMapMode.READ));
  const y = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  return y;
}

Deno.test({
  name: "tile probe: the tile as built equals float64; the copy reading A at one address does not",
  ignore: !GPU.features.subgroups, // the probe times the subgroup tile
}, async () => {
  const dev = GPU.device;
  const a = new Float32Array(K * M).map((_, i) => Math.sin(i * 0.37));
  const b = new Float32Array(K * N).map((_, i) => Math.cos(i * 0.11));
  const ref = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) ref[m * N + n] += a[k * M + m] * b[k * N + n];
  }
  const [built, uniformA] = probeKernels(M, N, K);
  const err = (y: Float32Array) => Math.max(...y.map((v, i) => Math.abs(v - ref[i])));
  assert.ok(err(await product(dev, built.wgsl, built.workgroups, a, b)) < 1e-5);
  assert.ok(err(await product(dev, uniformA.wgsl, uniformA.workgroups, a, b)) > 0.1);
});

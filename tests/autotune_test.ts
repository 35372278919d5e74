// The autotuner beyond matmul (convolutions and large reductions: timing, float64 spot checks,
// cache, the compile-time picker), the per-adapter defaults that keep llvmpipe on its own
// kernels, and GPU timestamps of single dispatches (runtime/timestamps.ts).
import assert from "node:assert/strict";
import { Graph } from "../ir/graph.ts";
import { convCandidates, defaultConvVariant } from "../kernels/conv/variants.ts";
import { LARGE_REDUCTION } from "../kernels/reduce.ts";
import {
  chooseVariant,
  isTunedOp,
  pickVariants,
  readCache,
  tuneOp,
  variantCandidates,
  variantKey,
  writeCacheEntry,
} from "../runtime/autotune.ts";
import { prepareOp, runOp } from "../runtime/op_runner.ts";
import { noise, spotCheckOp } from "../runtime/spot_check.ts";
import { PassTimer, timeDispatches } from "../runtime/timestamps.ts";
import { awaitGpu } from "../runtime/wait.ts";
import { getGpu } from "./util/gpu.ts";

// the adapter's features, known before the tests register: a test whose feature is missing is a named skip
const FEATURES = (await getGpu()).features;

const CONV_X = [2, 8, 9, 9], CONV_W = [12, 8, 3, 3], CONV_ATTRS = { pad: 1 };

Deno.test("autotune conv: every candidate (lavapipe and GPU tiles) is checked against float64 and timed", async () => {
  const gpu = await getGpu();
  const o = { adapter: gpu.description, features: gpu.features, budgetMs: 10 };
  const candidates = ["default", "sg16x1", "t4x4", "gemm64x64x16t4x4"].filter((v) =>
    gpu.features.subgroups || !v.startsWith("sg")
  );
  for (
    const [op, shapes, attrs] of [
      ["conv2d", [CONV_X, CONV_W], CONV_ATTRS],
      ["conv2dGradWeight", [CONV_X, [2, 12, 9, 9]], { ...CONV_ATTRS, wShape: CONV_W }],
      ["conv2dGradInput", [[2, 12, 5, 5], CONV_W], { stride: 2, pad: 1, inShape: CONV_X }],
    ] as const
  ) {
    const r = await awaitGpu(tuneOp(gpu.device, op, shapes.map((s) => [...s]), attrs, { ...o, candidates }));
    assert.deepEqual(Object.keys(r.ms).sort(), [...candidates].sort(), op);
    assert.ok(candidates.every((v) => Number.isFinite(r.ms[v]) && r.ms[v] > 0), `${op}: ${JSON.stringify(r.ms)}`);
    assert.equal(r.ms[r.variant], Math.min(...Object.values(r.ms)), op);
  }
});

Deno.test("spot checks fail on a wrong output, and the tuner drops failing candidates", async () => {
  const gpu = await getGpu();
  const shapes = [CONV_X, CONV_W];
  const data = shapes.map((sh, i) => noise(sh.reduce((a, b) => a * b, 1), 50 + i));
  const m = await prepareOp(gpu.device, "conv2d", shapes, CONV_ATTRS, "gemm64x64x16t4x4", gpu.features, data);
  let out: Float32Array;
  try {
    out = await awaitGpu(runOp(gpu.device, m));
  } finally {
    m.destroy();
  }
  assert.ok(spotCheckOp("conv2d", shapes, CONV_ATTRS, data, out, "f32", Infinity) <= 1);
  // one output off by 1e-3 of its size, or the f32 result held to the f16-input contract: both caught
  const bad = out.slice();
  bad[137] += 1e-3 * Math.max(1, Math.abs(bad[137]));
  assert.ok(spotCheckOp("conv2d", shapes, CONV_ATTRS, data, bad, "f32", Infinity) > 1);
  assert.ok(spotCheckOp("conv2d", shapes, CONV_ATTRS, data, out, "f16", Infinity) > 1);
  // a candidate that cannot run is skipped; with none left the tuner says so
  const err = await awaitGpu(
    tuneOp(gpu.device, "conv2d", shapes, CONV_ATTRS, {
      adapter: gpu.description,
      features: gpu.features,
      budgetMs: 5,
      candidates: ["gemm64x64x6t4x4"],
    }),
  ).catch((e: Error) => e.message);
  assert.match(String(err), /no variant ran correctly for conv2d/);
});

Deno.test("autotune reductions: the split of a large sum is timed and checked", async () => {
  const gpu = await getGpu();
  const shape = [1031, 1030]; // > LARGE_REDUCTION elements, nothing a multiple of 4
  assert.ok(shape[0] * shape[1] >= LARGE_REDUCTION && isTunedOp("sum", [shape]) && !isTunedOp("sum", [[1000, 1000]]));
  const candidates = ["default", "single", "split32"];
  const r = await awaitGpu(tuneOp(gpu.device, "sum", [shape], { axes: [0] }, {
    adapter: gpu.description,
    features: gpu.features,
    budgetMs: 10,
    candidates,
  }));
  assert.ok(candidates.every((v) => Number.isFinite(r.ms[v])), JSON.stringify(r.ms));
});

Deno.test("per-adapter defaults: lavapipe keeps its conv kernels, GPUs get the shared-memory tiles", () => {
  assert.equal(defaultConvVariant(true), undefined);
  assert.equal(defaultConvVariant(false), "gemm64x64x16t4x4");
  const cpu = convCandidates({ cpuAdapter: true, subgroups: true, f16: true });
  assert.ok(cpu.includes(undefined) && !cpu.some((v) => v?.startsWith("gemm")), JSON.stringify(cpu));
  const gpuList = convCandidates({ cpuAdapter: false, subgroups: true, f16: true });
  assert.ok(
    gpuList.every((v) => v === undefined || (v.startsWith("gemm") && !v.endsWith("-f16"))),
    JSON.stringify(gpuList),
  );
  assert.ok(
    convCandidates({ cpuAdapter: false, subgroups: true, f16: true, precision: "f16" }).every((v) =>
      v?.endsWith("-f16")
    ),
  );
  assert.deepEqual(convCandidates({ cpuAdapter: false, subgroups: true, f16: false, precision: "f16" }), []);
  // no subgroups: only the lavapipe variants that do without
  assert.ok(
    convCandidates({ cpuAdapter: true, subgroups: false, f16: false }).every((v) =>
      v === undefined || v.startsWith("t")
    ),
  );
  assert.deepEqual(variantCandidates("sum", "llvmpipe", { subgroups: true }, "f16"), []);
});

Deno.test("one tuning path from the op table: tuned ops and cache keys (earlier .cache/autotune.json files still hit)", () => {
  // the keys as the separate matmul and op paths wrote them
  assert.equal(variantKey("gpu", "matmul", [[33, 17], [65, 17]], { transB: true }), "gpu | 33x65x17 NT");
  assert.equal(
    variantKey("gpu", "matmul", [[2, 3, 5, 7], [7, 9]], {}, "f16-exact"),
    "gpu | 5x9x7 NN b2x3:1x1 f16-exact",
  );
  assert.equal(
    variantKey("gpu", "conv2d", [CONV_X, CONV_W], CONV_ATTRS),
    "gpu | conv2d [2, 8, 9, 9] [12, 8, 3, 3] pad=1",
  );
  assert.equal(
    variantKey("gpu", "sum", [[1031, 1030]], { axes: [1], keepdims: false }),
    "gpu | sum [1031, 1030] axes=[1]",
  );
  // matmul, convolutions and large reductions are tuned; nothing else
  assert.ok(isTunedOp("matmul", [[2, 3], [3, 4]]) && isTunedOp("conv2dGradWeight", [CONV_X, CONV_X]));
  assert.ok(!isTunedOp("add", [[2], [2]]) && !isTunedOp("softmax", [[4, 4]]));
  assert.throws(() => variantKey("gpu", "add", [[2], [2]], {}), /'add' has no kernel variants/);
  // the matmul's candidates: naive last, f16-exact = the f16 ones then the f32 ones
  const f = { subgroups: true, f16: true };
  const f32 = variantCandidates("matmul", "llvmpipe", f), f16 = variantCandidates("matmul", "llvmpipe", f, "f16");
  assert.equal(f32.at(-1), "naive");
  assert.deepEqual(variantCandidates("matmul", "llvmpipe", f, "f16-exact"), [...f16, ...f32]);
  assert.ok(f16.length > 0 && f16.every((n) => !f32.includes(n)), JSON.stringify(f16));
  // conv candidates name the op's own lowering "default"
  assert.deepEqual(variantCandidates("conv2d", "llvmpipe", f), [
    "default",
    "sg16x1",
    "sg32x2",
    "sg16x1c",
    "sg32x2c",
    "sg64x1",
    "sg64x1c",
    "sg8x2",
    "t16x1",
    "t4x4",
    "wino2",
    "wino4",
  ]);
});

Deno.test("autotune cache and picker: conv and large reductions by adapter + shape; llvmpipe defaults untuned", async () => {
  const gpu = await getGpu();
  const cachePath = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const o = { adapter: gpu.description, features: gpu.features, cachePath, budgetMs: 5 };
    // untuned on this CPU adapter: the op's own lowering
    assert.equal(await chooseVariant(gpu.device, "conv2d", [CONV_X, CONV_W], CONV_ATTRS, o), undefined);
    // a cached pick is returned without timing; a name this adapter cannot use is ignored
    const key = variantKey(gpu.description, "conv2d", [CONV_X, CONV_W], CONV_ATTRS);
    writeCacheEntry(key, { variant: "t4x4", ms: {}, at: "test" }, cachePath);
    assert.equal(await chooseVariant(gpu.device, "conv2d", [CONV_X, CONV_W], CONV_ATTRS, o), "t4x4");
    writeCacheEntry(key, { variant: "gemm999", ms: {}, at: "test" }, cachePath);
    assert.equal(await chooseVariant(gpu.device, "conv2d", [CONV_X, CONV_W], CONV_ATTRS, o), undefined);
    // tuning writes the winner
    const big = [1031, 1030];
    const tuned = await awaitGpu(chooseVariant(gpu.device, "sum", [big], { axes: [1] }, { ...o, tune: true }));
    const entry = readCache(cachePath).entries[variantKey(gpu.description, "sum", [big], { axes: [1] })];
    assert.ok(entry && (entry.variant === "default" ? undefined : entry.variant) === tuned, JSON.stringify(entry));

    // default-valued attrs do not split keys: a graph's {axes, keepdims: false} finds the entry
    assert.equal(
      variantKey("a", "sum", [big], { axes: [1], keepdims: false }),
      variantKey("a", "sum", [big], { axes: [1] }),
    );
    assert.notEqual(
      variantKey("a", "sum", [big], { axes: [1], keepdims: true }),
      variantKey("a", "sum", [big], { axes: [1] }),
    );
    // the compile-time picker answers for every tuned node of a graph, and nothing else
    writeCacheEntry(key, { variant: "t4x4", ms: {}, at: "test" }, cachePath);
    const g = new Graph();
    const x = g.input("x", CONV_X), w = g.input("w", CONV_W);
    g.output("y", g.add("conv2d", [x, w], CONV_ATTRS));
    g.output("s", g.input("b", big).sum([1]));
    g.output("small", g.input("c", [4, 5]).sum([1]));
    const pick = await pickVariants(gpu.device, g, o);
    assert.equal(pick("conv2d", [CONV_X, CONV_W], CONV_ATTRS), "t4x4");
    assert.equal(pick("sum", [big], { axes: [1] }), tuned);
    assert.equal(pick("sum", [[4, 5]], { axes: [1] }), undefined);
    assert.equal(pick("add", [[1], [1]], {}), undefined);
  } finally {
    await Deno.remove(cachePath);
  }
});

Deno.test({
  name: "timestamps: per-dispatch GPU times, one pass each, in submission order",
  ignore: !FEATURES.timestamps,
  fn: async () => {
    const gpu = await getGpu();
    const { device } = gpu;
    // a loop of `n` dependent FMAs per invocation over 16 384 invocations
    const pipe = (n: number) =>
      device.createComputePipeline({
        layout: "auto",
        compute: {
          entryPoint: "main",
          module: device.createShaderModule({
            code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var a = x[g.x];
  for (var i = 0u; i < ${n}u + u32(arrayLength(&x) == 0u); i++) { a = fma(a, 1.0001, 0.5); }
  x[g.x] = a;
}`,
          }),
        },
      });
    const buf = device.createBuffer({ size: 4 * 16384, usage: GPUBufferUsage.STORAGE });
    const rec = (p: GPUComputePipeline) => (pass: GPUComputePassEncoder) => {
      pass.setPipeline(p);
      pass.setBindGroup(
        0,
        device.createBindGroup({
          layout: p.getBindGroupLayout(0),
          entries: [{ binding: 0, resource: { buffer: buf } }],
        }),
      );
      pass.dispatchWorkgroups(256);
    };
    const small = rec(pipe(100)), large = rec(pipe(3200));
    try {
      await timeDispatches(device, [small, large]); // compiles
      // Another process on the CPU adapter can only add time to a slot, so the fastest of a
      // few repeats is what each dispatch costs; a slot holding the wrong pass's time would
      // still break the ordering below.
      const t = [Infinity, Infinity, Infinity];
      for (let r = 0; r < 5; r++) {
        const once = (await timeDispatches(device, [small, large, small]))!;
        assert.equal(once.length, 3);
        assert.ok(once.every((s) => s > 0 && s < 10), JSON.stringify(once));
        once.forEach((s, i) => t[i] = Math.min(t[i], s));
      }
      // 32× the arithmetic: far more than twice the time
      assert.ok(t[1] > 2 * Math.max(t[0], t[2]), `small ${t[0]} s, large ${t[1]} s, small ${t[2]} s`);
      const timer = PassTimer.create(device, 2)!;
      assert.throws(() => timer.writes(2), /pass 2 of 2/);
      timer.destroy();
    } finally {
      buf.destroy();
    }
  },
});

Deno.test("picker: f16-exact operands (roundF16 outputs) may take f16-input variants; an f32 node of the same shapes keeps f32", async () => {
  const gpu = await getGpu();
  const cachePath = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const o = { adapter: gpu.description, features: gpu.features, cachePath };
    const A = [24, 20], B = [20, 28];
    // cached winners per precision: an f16 tile for f16-exact operands, the llvmpipe kernel for f32
    writeCacheEntry(variantKey(gpu.description, "matmul", [A, B], {}, "f16-exact"), {
      variant: "gemm64x64x16t4x4-f16",
      ms: {},
      at: "test",
    }, cachePath);
    writeCacheEntry(
      variantKey(gpu.description, "matmul", [A, B], {}),
      { variant: "blocked", ms: {}, at: "test" },
      cachePath,
    );
    const mixed = new Graph();
    const a = mixed.input("a", A).op("roundF16"), b = mixed.input("b", B).op("roundF16");
    mixed.output("y", a.matmul(b));
    assert.equal((await pickVariants(gpu.device, mixed, o))("matmul", [A, B], {}), "gemm64x64x16t4x4-f16");
    // the same shapes once more with unrounded operands: the f32 choice serves both nodes
    const both = new Graph();
    const x = both.input("x", A), w = both.input("w", B);
    both.output("y16", x.op("roundF16").matmul(w.op("roundF16")));
    both.output("y32", x.matmul(w));
    assert.equal((await pickVariants(gpu.device, both, o))("matmul", [A, B], {}), "blocked");
    // and an explicit precision overrides the detection
    assert.equal((await pickVariants(gpu.device, mixed, { ...o, precision: "f32" }))("matmul", [A, B], {}), "blocked");
  } finally {
    await Deno.remove(cachePath);
  }
});

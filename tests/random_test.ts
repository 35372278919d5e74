import assert from "node:assert/strict";
import { boxMuller } from "../kernels/random.ts";
import { ShapeError } from "../kernels/op.ts";
import { DOMAIN_RAND, mulhilo, philox4x32, philoxDraw, u32Below, u32ToUnit } from "../kernels/wgsl/philox.ts";
import { assertClose, cpuOp } from "./util/check.ts";
import { runGraphGPU, runOpGPU } from "./util/gpu.ts";
import { Graph } from "../ir/graph.ts";
import { evaluate } from "../cpu/reference.ts";

// Random123's kat_vectors for philox4x32-10: counter, key → output
const KAT: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [
    0x408f276d,
    0x41c83b0e,
    0xa20bc7c6,
    0x6d5451fd,
  ]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [
    0xd16cfe09,
    0x94fdcceb,
    0x5001e420,
    0x24126ea1,
  ]],
];

Deno.test("philox4x32-10 reproduces Random123's known-answer vectors", () => {
  for (const [c, k, want] of KAT) assert.deepStrictEqual(philox4x32(c, k), want);
});

Deno.test("mulhilo equals the exact 64-bit product", () => {
  for (let i = 0; i < 2000; i++) {
    const a = philox4x32([i, 0, 0, 0], [1, 2])[0], b = philox4x32([i, 1, 0, 0], [1, 2])[1];
    const p = BigInt(a) * BigInt(b);
    assert.deepStrictEqual(mulhilo(a, b), [Number(p >> 32n), Number(p & 0xffffffffn)]);
  }
  assert.deepStrictEqual(mulhilo(0xffffffff, 0xffffffff), [0xfffffffe, 1]);
  assert.deepStrictEqual(u32Below(0xffffffff, 24), 23);
  assert.deepStrictEqual(u32Below(0, 24), 0);
});

const SC = { seed: 1234, step: 7 };
const shape = [7, 13, 5];

Deno.test("randUniform: element i is u32ToUnit of Philox word 0 at counter (i, step, 0, rand)", () => {
  const r = cpuOp("randUniform", [], { shape, stream: 3 }, SC);
  assert.deepStrictEqual(r.length, 455);
  for (const i of [0, 1, 100, 454]) {
    assert.deepStrictEqual(r[i], u32ToUnit(philoxDraw(1234, 3, i, 7, 0, DOMAIN_RAND, 0)[0]));
  }
});

Deno.test("randUniform statistics: mean 1/2, variance 1/12, no lag-1 correlation", () => {
  const r = cpuOp("randUniform", [], { shape: [97, 103], stream: 0 }, SC);
  const n = r.length;
  let m = 0, v = 0, c = 0, lo = 1, hi = 0;
  for (let i = 0; i < n; i++) {
    m += r[i] / n;
    lo = Math.min(lo, r[i]);
    hi = Math.max(hi, r[i]);
  }
  for (let i = 0; i < n; i++) v += (r[i] - m) ** 2 / n;
  for (let i = 1; i < n; i++) c += (r[i] - m) * (r[i - 1] - m) / (n * v);
  assert(lo >= 0 && hi < 1, `range [${lo}, ${hi}]`);
  // 5-sigma bounds for n = 9991
  assert(Math.abs(m - 0.5) < 5 * Math.sqrt(1 / 12 / n), `mean ${m}`);
  assert(Math.abs(v - 1 / 12) < 5 * Math.sqrt(1 / 180 / n), `variance ${v}`);
  assert(Math.abs(c) < 5 / Math.sqrt(n), `lag-1 correlation ${c}`);
});

/** standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |err| < 1.5e-7) */
function phi(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x) / Math.SQRT2);
  const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
      Math.exp(-x * x / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

Deno.test("randNormal is standard normal (Kolmogorov–Smirnov) and Box–Muller of the same words", () => {
  const r = cpuOp("randNormal", [], { shape: [97, 103], stream: 5 }, SC);
  assert.deepStrictEqual(r[17], boxMuller(philoxDraw(1234, 5, 17, 7, 0, DOMAIN_RAND, 0)));
  const s = Float64Array.from(r).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) d = Math.max(d, Math.abs(phi(s[i]) - (i + 0.5) / s.length));
  // KS critical value at 0.1% is 1.95/sqrt(n)
  assert(d < 1.95 / Math.sqrt(s.length), `KS statistic ${d}`);
});

Deno.test("RNG determinism: same (seed, step, stream) identical; step, seed and stream each change it", () => {
  const a = cpuOp("randUniform", [], { shape, stream: 1 }, SC);
  assert.deepStrictEqual(cpuOp("randUniform", [], { shape, stream: 1 }, SC), a);
  assert.notDeepStrictEqual(cpuOp("randUniform", [], { shape, stream: 1 }, { ...SC, step: 8 }), a);
  assert.notDeepStrictEqual(cpuOp("randUniform", [], { shape, stream: 1 }, { ...SC, seed: 1235 }), a);
  assert.notDeepStrictEqual(cpuOp("randUniform", [], { shape, stream: 2 }, SC), a);
});

Deno.test("RNG ops reject bad attrs and missing scalars with clear errors", () => {
  assert.throws(
    () => cpuOp("randUniform", [], { shape: [3, 0] }, SC),
    (e: Error) => e instanceof ShapeError && e.message.includes("attrs.shape"),
  );
  assert.throws(
    () => cpuOp("randNormal", [], { shape: [3], stream: -1 }, SC),
    (e: Error) => e instanceof ShapeError && e.message.includes("attrs.stream"),
  );
  assert.throws(
    () => cpuOp("randNormal", [], { shape: [3] }, { seed: 1 }),
    (e: Error) => e instanceof Error && e.message.includes("'seed' and 'step'"),
  );
});

Deno.test("GPU randUniform is bit-identical to the reference; randNormal within f32 accuracy", async () => {
  const sc = { seed: 0xdeadbeef, step: 123456 };
  for (const stream of [0, 9]) {
    const want = cpuOp("randUniform", [], { shape, stream }, sc);
    const got = await runOpGPU("randUniform", [], { shape, stream }, sc);
    assertClose(got, want, { rtol: 0, atol: 0 }, `randUniform stream ${stream}`);
  }
  const want = cpuOp("randNormal", [], { shape, stream: 4 }, sc);
  const got = await runOpGPU("randNormal", [], { shape, stream: 4 }, sc);
  assertClose(got, want, { rtol: 1e-5, atol: 3e-6 }, "randNormal");
});

Deno.test("GPU: RNG ops fuse with other elementwise ops (Philox library included once)", async () => {
  const g = new Graph();
  const x = g.input("x", [7, 13, 5]);
  const u = g.add("randUniform", [], { shape: [7, 13, 5], stream: 1 });
  const z = g.add("randNormal", [], { shape: [13, 5], stream: 2 });
  g.output("y", u.mul(2).add(z).mul(x));
  const leaves = new Map([["x", Float64Array.from({ length: 455 }, (_, i) => (i % 7) - 3)]]);
  const sc = { seed: 99, step: 4 };
  const want = evaluate(g, { leaves, scalars: sc })[g.outputs.get("y")!];
  const got = (await runGraphGPU(g, leaves, sc)).get("y")!;
  assertClose(got, want, { rtol: 1e-5, atol: 1e-5 }, "fused rand");
});

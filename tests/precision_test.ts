// Mixed-precision ops (kernels/precision.ts): roundF16 on the GPU equals the float64 reference
// rounding to binary16 (ties to even, subnormals, overflow to ±∞), and isFinite flags ±∞ and NaN.
import { roundF16 } from "../kernels/precision.ts";
import { cpuOp } from "./util/check.ts";
import { runOpGPU } from "./util/gpu.ts";

/** f32 values around every kind of f16 boundary: ties, subnormals, the largest values, overflow. */
function probes(): number[] {
  const v: number[] = [
    0,
    -0,
    1,
    -1,
    0.1,
    1 / 3,
    65504,
    -65504,
    65519,
    65520,
    -65520,
    1e6,
    2 ** -24,
    2 ** -25,
    1.5 * 2 ** -25,
    2 ** -14,
    2 ** -15 * 1.000001,
  ];
  // exact halfway points between neighbouring f16 values (ties to even) and a hair either side
  for (const base of [1, 2048, 0.001, 6e-5, 3e4]) {
    const e = Math.floor(Math.log2(base)), ulp = 2 ** (Math.max(-14, e) - 10);
    for (let k = 0; k < 6; k++) {
      const mid = (Math.floor(base / ulp) + k + 0.5) * ulp;
      v.push(mid, Math.fround(mid * (1 + 2 ** -22)), Math.fround(mid * (1 - 2 ** -22)), -mid);
    }
  }
  for (let i = 0; i < 200; i++) v.push(Math.fround(Math.sin(i * 12.9898) * 10 ** ((i % 12) - 6)));
  return v.map(Math.fround);
}

Deno.test("roundF16: GPU equals the float64 reference on ties, subnormals, the f16 range's edge and overflow", async () => {
  const xs = probes();
  const got = await runOpGPU("roundF16", [{ shape: [xs.length], data: Float64Array.from(xs) }]);
  const want = cpuOp("roundF16", [{ shape: [xs.length], data: Float64Array.from(xs) }]);
  xs.forEach((x, i) => {
    if (!Object.is(got[i], Math.fround(want[i])) && !(got[i] === 0 && want[i] === 0)) {
      throw new Error(`roundF16(${x}): GPU ${got[i]}, reference ${want[i]}`);
    }
  });
  // spot checks of the reference against known binary16 facts
  const checks: [number, number][] = [
    [65504, 65504],
    [65519, 65504],
    [65520, Infinity],
    [1 + 2 ** -11, 1],
    [1 + 3 * 2 ** -11, 1 + 2 ** -9],
    [2 ** -25, 0],
    [3 * 2 ** -26, 2 ** -24],
    [0.1, 0.0999755859375],
  ];
  for (const [x, r] of checks) if (roundF16(x) !== r) throw new Error(`roundF16(${x}) = ${roundF16(x)}, expected ${r}`);
});

Deno.test("isFinite: 1 for finite values, 0 for ±∞ and NaN, on the GPU as in the reference", async () => {
  const xs = [0, -1, 3.4e38, -3.4e38, 1e-45, Infinity, -Infinity, NaN];
  const got = await runOpGPU("isFinite", [{ shape: [xs.length], data: Float64Array.from(xs) }]);
  if (Array.from(got).join() !== "1,1,1,1,1,0,0,0") throw new Error(`isFinite: ${Array.from(got)}`);
});

// Ops for mixed precision. roundF16 rounds an f32 value to the nearest binary16 value (ties to
// even, ±∞ past the f16 range), so a matmul or conv fed rounded operands computes what an
// f16-input, f32-accumulate kernel computes: a product of two f16 values is exact in f32. It is
// done on the f32's bits: a round trip through f16 (pack2x16float) is folded away as an identity
// by shader compilers that treat float conversions as inexact (lavapipe does). isFinite
// is 1 for a finite value and 0 for ±∞ or NaN, decided on the bits (comparisons with NaN are not
// dependable in shaders), for the overflow check of dynamic loss scaling.
import type { OpDef } from "./op.ts";

const F16_MAX_ROUNDING = 65520; // f16's largest finite value is 65504; from 65520 on, rounding gives ∞

/** The binary16 value nearest to x (ties to even), as a number; ±∞ beyond the f16 range. */
export function roundF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= F16_MAX_ROUNDING) return x > 0 ? Infinity : -Infinity;
  // spacing of f16 values around a: 2^(e−10) for normal numbers, 2^−24 for subnormals
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can round up just below a power of two
  else if (2 ** (e + 1) <= a) e++;
  e = Math.max(-14, e);
  const ulp = 2 ** (e - 10);
  const q = a / ulp, fl = Math.floor(q), frac = q - fl;
  const r = (frac > 0.5 || (frac === 0.5 && fl % 2 === 1) ? fl + 1 : fl) * ulp;
  return x < 0 ? -r : r;
}

/**
 * Rounds the f32 mantissa to the bits binary16 keeps at this exponent: 10 for f16 normals
 * (|x| ≥ 2^−14), fewer below, down to the subnormal spacing 2^−24; adding half a unit less one
 * plus the kept lowest bit, then clearing, is round-half-to-even (a carry moves the exponent up,
 * as it should). Values from 65520 on become ±∞, NaN stays NaN.
 */
const ROUND_F16_WGSL = /* wgsl */ `
fn roundF16(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let sign = b & 0x80000000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  if (a >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); }
  let e = i32(a >> 23u) - 127;
  if (e < -25) { return bitcast<f32>(sign); }
  if (e == -25) { return bitcast<f32>(sign | select(0u, 0x33800000u, a > 0x33000000u)); }
  let drop = u32(13 + max(0, -14 - e));
  let r = (a + ((1u << (drop - 1u)) - 1u) + ((a >> drop) & 1u)) & ~((1u << drop) - 1u);
  return bitcast<f32>(sign | r);
}
`;

export const PRECISION: Record<string, OpDef> = {
  roundF16: {
    kind: "elementwise",
    shape: ([s]) => s,
    cpu: ({ ins: [x] }) => x.map(roundF16),
    ew: ([x]) => `roundF16(${x})`,
    lib: ROUND_F16_WGSL,
    // the rounding is treated as the identity for gradients (the straight-through convention)
    vjp: ({ g }) => [g],
    doc: "roundF16(x): x rounded to the nearest f16 value (ties to even), ±∞ past the f16 range",
  },
  isFinite: {
    kind: "elementwise",
    shape: ([s]) => s,
    cpu: ({ ins: [x] }) => x.map((v) => (Number.isFinite(v) ? 1 : 0)),
    ew: ([x]) => `select(0.0, 1.0, (bitcast<u32>(${x}) & 0x7f800000u) != 0x7f800000u)`,
    vjp: () => [null],
    doc: "isFinite(x): 1 where x is finite, 0 where it is ±∞ or NaN",
  },
};

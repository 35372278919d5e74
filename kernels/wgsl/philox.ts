// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based RNG, so any thread can draw its own numbers from (counter, key) with no state.
// The WGSL text and the TS twin below compute the same u32 words bit for bit, which is what
// makes "same seed → same numbers on any adapter" hold and lets the float64 CPU references of
// the RNG and augmentation ops reproduce the GPU's random stream exactly.
//
// Project convention for keys and counters (docs/architecture.md, decision 6: determinism):
//   key     = (seed, stream)              seed: per-step scalar, stream: op attribute
//   counter = (index, step, view, domain << 16 | block)
// `index` is the element (RNG ops) or sample (augmentation), `block` picks one of several
// 4-word draws for the same index, and `domain` separates op families so that an augmentation
// and an RNG op given the same stream never share numbers.

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** Counter domains (top 16 bits of counter word 3). */
export const DOMAIN_RAND = 1;
export const DOMAIN_AUGMENT = 2;

/** High and low 32 bits of a 32×32-bit product, from 16-bit halves (each partial product < 2^32). */
export function mulhilo(a: number, b: number): [number, number] {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, hl = ah * bl, lh = al * bh, hh = ah * bh;
  const cross = (ll >>> 16) + (hl & 0xffff) + lh; // < 2^32 exactly (max 0xffffffff)
  const hi = (hh + (hl >>> 16) + Math.floor(cross / 65536)) >>> 0;
  const lo = (((cross & 0xffff) * 65536) + (ll & 0xffff)) >>> 0;
  return [hi, lo];
}

/** Philox4x32-10 of counter c (4 u32) under key k (2 u32); returns 4 u32 words. */
export function philox4x32(c: ArrayLike<number>, k: ArrayLike<number>): [number, number, number, number] {
  let c0 = c[0] >>> 0, c1 = c[1] >>> 0, c2 = c[2] >>> 0, c3 = c[3] >>> 0;
  let k0 = k[0] >>> 0, k1 = k[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const [h0, l0] = mulhilo(PHILOX_M0, c0);
    const [h1, l1] = mulhilo(PHILOX_M1, c2);
    const n0 = (h1 ^ c1 ^ k0) >>> 0, n2 = (h0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = l1;
    c2 = n2;
    c3 = l0;
  }
  return [c0, c1, c2, c3];
}

/** The project's keyed draw: 4 u32 words for (seed, stream; index, step, view, domain, block). */
export function philoxDraw(
  seed: number,
  stream: number,
  index: number,
  step: number,
  view: number,
  domain: number,
  block: number,
): [number, number, number, number] {
  return philox4x32([index, step, view, ((domain << 16) | (block & 0xffff)) >>> 0], [seed, stream]);
}

/** u32 → uniform in [0, 1) with 24 bits: exactly representable in f32, so GPU and CPU agree bit for bit. */
export const u32ToUnit = (w: number): number => (w >>> 8) * 5.9604644775390625e-8;
/** u32 → uniform in (0, 1]: never 0, safe under log (Box–Muller). */
export const u32ToUnitOpen = (w: number): number => ((w >>> 8) + 1) * 5.9604644775390625e-8;
/** Unbiased-enough integer in [0, m) from a u32: floor(w·m / 2^32), the high word of w·m. */
export const u32Below = (w: number, m: number): number => Math.floor(((w >>> 0) * m) / 4294967296);
/** Bernoulli(p) decided on integers, so f32 and f64 can never disagree: (w >> 8) < round(p·2^24). */
export const bernoulliThreshold = (p: number): number => Math.round(Math.min(1, Math.max(0, p)) * 16777216);
export const u32Bernoulli = (w: number, p: number): boolean => (w >>> 8) < bernoulliThreshold(p);

const hex = (v: number) => `0x${v.toString(16)}u`;

/**
 * WGSL twin: `philox4x32(c, k) -> vec4<u32>`, `philoxDraw(seed, stream, index, step, view, tag)`
 * where tag = domain << 16 | block, and the same u32 → float / integer helpers as above.
 */
export const PHILOX_WGSL = /* wgsl */ `
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u; let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let hl = ah * bl; let lh = al * bh; let hh = ah * bh;
  let mid = (ll >> 16u) + (hl & 0xffffu) + lh;
  return vec2<u32>(hh + (hl >> 16u) + (mid >> 16u), (mid << 16u) | (ll & 0xffffu));
}
fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2<u32>(${hex(PHILOX_W0)}, ${hex(PHILOX_W1)}); }
    let a = mulhilo(${hex(PHILOX_M0)}, c.x);
    let b = mulhilo(${hex(PHILOX_M1)}, c.z);
    c = vec4<u32>(b.x ^ c.y ^ k.x, b.y, a.x ^ c.w ^ k.y, a.y);
  }
  return c;
}
fn philoxDraw(seed: u32, stream: u32, index: u32, step: u32, view: u32, tag: u32) -> vec4<u32> {
  return philox4x32(vec4<u32>(index, step, view, tag), vec2<u32>(seed, stream));
}
fn u32ToUnit(w: u32) -> f32 { return f32(w >> 8u) * 5.9604644775390625e-8; }
fn u32ToUnitOpen(w: u32) -> f32 { return f32((w >> 8u) + 1u) * 5.9604644775390625e-8; }
fn u32Below(w: u32, m: u32) -> u32 { return mulhilo(w, m).x; }
`;

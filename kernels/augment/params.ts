// Per-sample random parameters of one view, drawn from Philox keyed by (seed, stream) with
// counter (sample, step, view, augment-domain | block). `drawParams` (TS) and `paramsWgsl`
// (one GPU thread per sample) compute the same numbers: every discrete choice is made on
// integers (Bernoulli thresholds, randint by high-word multiply, the permutation), and the crop
// arithmetic is rounded to f32 step by step in TS so both sides round box sizes alike.
import { f32Literal } from "../elementwise.ts";
import { bernoulliThreshold, DOMAIN_AUGMENT, philoxDraw, u32Below, u32Bernoulli, u32ToUnit } from "../wgsl/philox.ts";
import { type AugmentSpec, BLOCK, CROP_ATTEMPTS, P, roundHalfEven } from "./spec.ts";

const f = Math.fround;

/** The 24 orders of the 4 jitter ops, by Lehmer code k (same decoding in WGSL). */
export function jitterOrder(k: number): number[] {
  const left = [0, 1, 2, 3], order: number[] = [];
  for (const base of [6, 2, 1]) {
    order.push(left.splice(Math.floor(k / base), 1)[0]);
    k %= base;
  }
  order.push(left[0]);
  return order;
}

/** jitterOrder(k) for k = 0..23, packed 2 bits per position (position 0 in the low bits). */
const ORDER_TABLE = Array.from(
  { length: 24 },
  (_, k) => jitterOrder(k).reduce((acc, op, pos) => acc | (op << (2 * pos)), 0),
);

/** Uniform factor in [lo, hi) as torchvision draws it (f32 twin: lo + (hi − lo)·u). */
const lerp = (lo: number, hi: number, w: number) => lo + (hi - lo) * u32ToUnit(w);

/** Parameters of every sample as a flat [N, P.COUNT] array (contrast means left 0). */
export function drawParams(s: AugmentSpec, seed: number, step: number): Float64Array {
  const out = new Float64Array(s.N * P.COUNT);
  for (let n = 0; n < s.N; n++) {
    const p = out.subarray(n * P.COUNT, (n + 1) * P.COUNT);
    const draw = (block: number) => philoxDraw(seed, s.stream, n, step, s.view, DOMAIN_AUGMENT, block);
    [p[P.I], p[P.J], p[P.H], p[P.W]] = cropBox(s, draw);
    const sw = draw(BLOCK.SWITCH), fa = draw(BLOCK.FACTORS), bl = draw(BLOCK.BLUR);
    p[P.FLIP] = u32Bernoulli(sw[0], s.flip) ? 1 : 0;
    p[P.GRAY] = u32Bernoulli(sw[3], s.grayscale) ? 1 : 0;
    p[P.SOLAR] = u32Bernoulli(bl[2], s.solarize) ? 1 : 0;
    const j = s.jitter;
    p[P.JITTER] = j && u32Bernoulli(sw[1], j.p) ? 1 : 0;
    if (j) {
      p[P.BRIGHT] = lerp(Math.max(0, 1 - j.brightness), 1 + j.brightness, fa[0]);
      p[P.CONTRAST] = lerp(Math.max(0, 1 - j.contrast), 1 + j.contrast, fa[1]);
      p[P.SAT] = lerp(Math.max(0, 1 - j.saturation), 1 + j.saturation, fa[2]);
      p[P.HUE] = lerp(-j.hue, j.hue, fa[3]);
      jitterOrder(u32Below(sw[2], 24)).forEach((op, k) => (p[P.ORDER + k] = op));
    }
    const b = s.blur;
    p[P.SIGMA] = b && u32Bernoulli(bl[0], b.p) ? lerp(b.sigma[0], b.sigma[1], bl[1]) : 0;
    p[P.HO] = s.Ho;
    p[P.WO] = s.Wo;
  }
  return out;
}

/** torchvision RandomResizedCrop.get_params: up to 10 tries, then the centred fallback. */
function cropBox(s: AugmentSpec, draw: (b: number) => number[]): [number, number, number, number] {
  const { H, W } = s;
  if (!s.crop) return [0, 0, H, W];
  const c = s.crop;
  const area = f(H * W), sLo = f(c.scale[0]), sD = f(c.scale[1] - c.scale[0]);
  const rLo = f(c.logRatio[0]), rD = f(c.logRatio[1] - c.logRatio[0]);
  for (let t = 0; t < CROP_ATTEMPTS; t++) {
    const d = draw(BLOCK.CROP + t);
    const target = f(area * f(sLo + f(sD * u32ToUnit(d[0]))));
    const aspect = f(Math.exp(f(rLo + f(rD * u32ToUnit(d[1])))));
    const w = roundHalfEven(f(Math.sqrt(f(target * aspect))));
    const h = roundHalfEven(f(Math.sqrt(f(target / aspect))));
    if (w > 0 && w <= W && h > 0 && h <= H) return [u32Below(d[2], H - h + 1), u32Below(d[3], W - w + 1), h, w];
  }
  return c.fallback;
}

/**
 * WGSL body (after `let i = sample index`) that writes sample i's parameters to PARAMS.
 * Needs PHILOX_WGSL; `seed`/`step` are u32 expressions from the step uniform.
 */
export function paramsWgsl(s: AugmentSpec, seed: string, step: string): string {
  const L = f32Literal;
  const tag = (DOMAIN_AUGMENT << 16) >>> 0;
  const at = (slot: number) => `PARAMS[i * ${P.COUNT}u + ${slot}u]`;
  const bern = (word: string, p: number) => `select(0.0, 1.0, (${word} >> 8u) < ${bernoulliThreshold(p)}u)`;
  const nblocks = BLOCK.BLUR + 1;
  const lines: string[] = [
    `  let seed = ${seed}; let step = ${step};`,
    `  for (var k = 0u; k < ${P.COUNT}u; k++) { PARAMS[i * ${P.COUNT}u + k] = 0.0; }`,
    // All Philox blocks in one loop whose bound the compiler cannot see (arrayLength(PARAMS) ≥
    // N·P.COUNT > ${nblocks}), so Philox is inlined once rather than ${nblocks} times: a smaller
    // shader. Drawing blocks a sample does not use costs little at one thread per sample.
    `  var words: array<vec4<u32>, ${nblocks}>;`,
    `  let nblocks = min(${nblocks}u, arrayLength(&PARAMS));`,
    `  for (var b = 0u; b < nblocks; b++) { words[b] = philoxDraw(seed, ${s.stream}u, i, step, ${s.view}u, ${tag}u + b); }`,
  ];
  if (s.crop) {
    const c = s.crop, [fi, fj, fh, fw] = c.fallback;
    lines.push(
      `  var box = vec4<u32>(${fi}u, ${fj}u, ${fh}u, ${fw}u);`,
      `  for (var t = 0u; t < ${CROP_ATTEMPTS}u; t++) {`,
      `    let d = words[${BLOCK.CROP}u + t];`,
      `    let tarea = ${L(s.H * s.W)} * (${L(c.scale[0])} + ${L(c.scale[1] - c.scale[0])} * u32ToUnit(d.x));`,
      `    let aspect = exp(${L(c.logRatio[0])} + ${L(c.logRatio[1] - c.logRatio[0])} * u32ToUnit(d.y));`,
      `    let w = round(sqrt(tarea * aspect)); let h = round(sqrt(tarea / aspect));`,
      `    if (w > 0.0 && w <= ${L(s.W)} && h > 0.0 && h <= ${L(s.H)}) {`,
      `      let hh = u32(h); let ww = u32(w);`,
      `      box = vec4<u32>(u32Below(d.z, ${s.H + 1}u - hh), u32Below(d.w, ${s.W + 1}u - ww), hh, ww);`,
      `      break;`,
      `    }`,
      `  }`,
    );
  } else {
    lines.push(`  let box = vec4<u32>(0u, 0u, ${s.H}u, ${s.W}u);`);
  }
  lines.push(
    `  ${at(P.HO)} = ${s.Ho}.0; ${at(P.WO)} = ${s.Wo}.0;`,
    `  ${at(P.I)} = f32(box.x); ${at(P.J)} = f32(box.y); ${at(P.H)} = f32(box.z); ${at(P.W)} = f32(box.w);`,
    `  let sw = words[${BLOCK.SWITCH}];`,
    `  let bl = words[${BLOCK.BLUR}];`,
    `  ${at(P.FLIP)} = ${bern("sw.x", s.flip)};`,
    `  ${at(P.GRAY)} = ${bern("sw.w", s.grayscale)};`,
    `  ${at(P.SOLAR)} = ${bern("bl.z", s.solarize)};`,
  );
  const j = s.jitter;
  if (j) {
    const fac = (slot: number, lo: number, hi: number, word: string) =>
      `  ${at(slot)} = ${L(lo)} + ${L(hi - lo)} * u32ToUnit(${word});`;
    lines.push(
      `  ${at(P.JITTER)} = ${bern("sw.y", j.p)};`,
      `  let fa = words[${BLOCK.FACTORS}];`,
      fac(P.BRIGHT, Math.max(0, 1 - j.brightness), 1 + j.brightness, "fa.x"),
      fac(P.CONTRAST, Math.max(0, 1 - j.contrast), 1 + j.contrast, "fa.y"),
      fac(P.SAT, Math.max(0, 1 - j.saturation), 1 + j.saturation, "fa.z"),
      fac(P.HUE, -j.hue, j.hue, "fa.w"),
      // Lehmer code → permutation via a table of the 24 orders packed 2 bits per position
      `  let orders = array<u32, 24>(${ORDER_TABLE.map((v) => `${v}u`).join(", ")});`,
      `  let code = orders[u32Below(sw.z, 24u)];`,
      `  for (var pos = 0u; pos < 4u; pos++) { PARAMS[i * ${P.COUNT}u + ${P.ORDER}u + pos] = f32((code >> (2u * pos)) & 3u); }`,
    );
  }
  const b = s.blur;
  if (b) {
    lines.push(
      `  if ((bl.x >> 8u) < ${bernoulliThreshold(b.p)}u) {`,
      `    ${at(P.SIGMA)} = ${L(b.sigma[0])} + ${L(b.sigma[1] - b.sigma[0])} * u32ToUnit(bl.y);`,
      `  }`,
    );
  }
  return lines.join("\n") + "\n";
}

// Pixel colour transforms with torchvision's tensor semantics (functional_tensor.py): each
// jitter op is a clamped blend; hue goes through HSV; grayscale uses ITU-R 601 weights.
// On one channel, saturation, hue and grayscale are no-ops and contrast blends with the mean.
// TS functions work in place on one pixel's channels; COLOR_WGSL is the same maths on vec3.

const GRAY_WEIGHTS = [0.2989, 0.587, 0.114] as const;
/** Jitter op ids as stored in the per-sample order slots. */
export const JIT = { BRIGHTNESS: 0, CONTRAST: 1, SATURATION: 2, HUE: 3 } as const;

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
export const gray = (v: number[]) => GRAY_WEIGHTS[0] * v[0] + GRAY_WEIGHTS[1] * v[1] + GRAY_WEIGHTS[2] * v[2];

/** blend(img, other, f) = clamp(f·img + (1 − f)·other) per channel */
function blend(v: number[], other: number, f: number): void {
  for (let c = 0; c < v.length; c++) v[c] = clamp01(f * v[c] + (1 - f) * other);
}

/** torchvision adjust_hue on one RGB pixel. */
export function adjustHue(v: number[], hf: number): void {
  const [r, g, b] = v;
  const maxc = Math.max(r, g, b), minc = Math.min(r, g, b);
  const eqc = maxc === minc, cr = maxc - minc;
  const s = cr / (eqc ? 1 : maxc);
  const crd = eqc ? 1 : cr;
  const rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
  let h = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
  h = h / 6 + 1;
  h -= Math.floor(h);
  h += hf;
  h -= Math.floor(h);
  const h6 = h * 6, i = Math.floor(h6), fr = h6 - i, sec = i % 6;
  const p = clamp01(maxc * (1 - s)), q = clamp01(maxc * (1 - s * fr)), t = clamp01(maxc * (1 - s * (1 - fr)));
  v[0] = [maxc, q, p, p, t, maxc][sec];
  v[1] = [t, maxc, maxc, q, p, p][sec];
  v[2] = [p, p, t, maxc, maxc, q][sec];
}

/**
 * One jitter op on one pixel; `mean` is contrast's per-image grayscale mean. A hue shift of
 * exactly 0 (hue strength 0) is skipped, as torchvision skips disabled ops.
 */
export function jitterOp(op: number, v: number[], factor: number, mean: number): void {
  if (op === JIT.BRIGHTNESS) blend(v, 0, factor);
  else if (op === JIT.CONTRAST) blend(v, mean, factor);
  else if (v.length === 3 && op === JIT.SATURATION) blend(v, gray(v), factor);
  else if (v.length === 3 && op === JIT.HUE && factor !== 0) adjustHue(v, factor);
}

export function toGray(v: number[]): void {
  if (v.length === 3) v.fill(gray(v));
}

export function solarize(v: number[]): void {
  for (let c = 0; c < v.length; c++) if (v[c] >= 0.5) v[c] = 1 - v[c];
}

/** WGSL twins on vec3<f32> (channels beyond C are carried but ignored). */
export const COLOR_WGSL = /* wgsl */ `
fn gray3(v: vec3<f32>) -> f32 { return dot(v, vec3<f32>(${GRAY_WEIGHTS.join(", ")})); }
fn blend3(v: vec3<f32>, other: f32, f: f32) -> vec3<f32> { return clamp(f * v + (1.0 - f) * other, vec3<f32>(0.0), vec3<f32>(1.0)); }
fn adjustHue(v: vec3<f32>, hf: f32) -> vec3<f32> {
  let maxc = max(v.x, max(v.y, v.z)); let minc = min(v.x, min(v.y, v.z));
  let eqc = maxc == minc; let cr = maxc - minc;
  let s = cr / select(maxc, 1.0, eqc);
  let crd = select(cr, 1.0, eqc);
  let rc = (maxc - v.x) / crd; let gc = (maxc - v.y) / crd; let bc = (maxc - v.z) / crd;
  var h: f32;
  if (maxc == v.x) { h = bc - gc; } else if (maxc == v.y) { h = 2.0 + rc - bc; } else { h = 4.0 + gc - rc; }
  h = h / 6.0 + 1.0; h = h - floor(h);
  h = h + hf; h = h - floor(h);
  let h6 = h * 6.0; let fi = floor(h6); let fr = h6 - fi; let sec = u32(fi) % 6u;
  let p = clamp(maxc * (1.0 - s), 0.0, 1.0);
  let q = clamp(maxc * (1.0 - s * fr), 0.0, 1.0);
  let t = clamp(maxc * (1.0 - s * (1.0 - fr)), 0.0, 1.0);
  switch sec {
    case 0u: { return vec3<f32>(maxc, t, p); }
    case 1u: { return vec3<f32>(q, maxc, p); }
    case 2u: { return vec3<f32>(p, maxc, t); }
    case 3u: { return vec3<f32>(p, q, maxc); }
    case 4u: { return vec3<f32>(t, p, maxc); }
    default: { return vec3<f32>(maxc, p, q); }
  }
}
fn solarize3(v: vec3<f32>) -> vec3<f32> { return select(v, vec3<f32>(1.0) - v, v >= vec3<f32>(0.5)); }
`;

/** WGSL: apply jitter op `op` to v with factor f; C-specialised (saturation/hue vanish for C = 1). */
export function jitterOpWgsl(C: number): string {
  const rgb = C === 3
    ? `    case ${JIT.SATURATION}u: { return blend3(v, gray3(v), f); }\n    case ${JIT.HUE}u: { return select(adjustHue(v, f), v, f == 0.0); }\n`
    : "";
  return /* wgsl */ `
fn jitterOp(op: u32, v: vec3<f32>, f: f32, mean: f32) -> vec3<f32> {
  switch op {
    case ${JIT.BRIGHTNESS}u: { return blend3(v, 0.0, f); }
    case ${JIT.CONTRAST}u: { return blend3(v, mean, f); }
${rgb}    default: { return v; }
  }
}
`;
}

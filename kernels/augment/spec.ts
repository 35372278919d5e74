// The `augment` op's attributes: one view's recipe. `normalizeAugment` validates them against
// the input shape, fills defaults, and returns the plain numbers every other augmentation file
// works from, so the float64 reference and the WGSL lowering can never read attrs differently.
import { type Attrs, fmtShape, type Shape, ShapeError } from "../op.ts";

/** One view's recipe (what a user or `viewAttrs` writes as the op's attrs). Probabilities in [0, 1]. */
export interface AugmentAttrs {
  /** random resized crop; without `scale` the whole image is resized to `size` */
  crop?: { scale?: [number, number]; ratio?: [number, number]; size?: [number, number] };
  /** horizontal flip probability */
  flip?: number;
  /** torchvision ColorJitter strengths, applied together with probability p, in random order */
  colorJitter?: { brightness?: number; contrast?: number; saturation?: number; hue?: number; p?: number };
  /** RandomGrayscale probability */
  grayscale?: number;
  /** gaussian blur: probability, σ range, odd kernel size */
  blur?: { p?: number; sigma?: [number, number]; kernel?: number };
  /** solarize (x ≥ 0.5 → 1 − x) probability */
  solarize?: number;
  /** view index: part of the RNG counter, so the two views of a sample differ */
  view?: number;
  /** RNG stream: part of the key, to decorrelate several augment ops sharing a view index */
  stream?: number;
}

/** Normalized, validated recipe plus the shapes: what the reference and the lowering read. */
export interface AugmentSpec {
  N: number;
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  /** null: no random crop (whole image) */
  crop: { scale: [number, number]; logRatio: [number, number]; fallback: [number, number, number, number] } | null;
  flip: number;
  /** null when off (p = 0 or every strength 0) */
  jitter: { brightness: number; contrast: number; saturation: number; hue: number; p: number } | null;
  grayscale: number;
  /** null when off */
  blur: { p: number; sigma: [number, number]; radius: number } | null;
  solarize: number;
  view: number;
  stream: number;
}

/** Per-sample parameter slots (f32) written by the parameter pass and read by the pixel passes. */
export const P = {
  // crop box: top, left, height, width (integers)
  I: 0,
  J: 1,
  H: 2,
  W: 3,
  FLIP: 4,
  /** 1 when colour jitter applies to this sample */
  JITTER: 5,
  // jitter factors, in the order of the op ids (so slot BRIGHT + op is op's factor)
  BRIGHT: 6,
  CONTRAST: 7,
  SAT: 8,
  HUE: 9,
  /** 4 slots: the jitter op applied at position k (0 brightness, 1 contrast, 2 saturation, 3 hue) */
  ORDER: 10,
  GRAY: 14,
  /** blur σ; 0 = no blur for this sample */
  SIGMA: 15,
  SOLAR: 16,
  /** contrast's grayscale mean, written by the mean pass */
  MEAN: 17,
  // Ho and Wo again, read by the shaders as loop bounds the compiler cannot see, so the row
  // loops are not fully unrolled (shader size stays independent of the image size)
  HO: 18,
  WO: 19,
  COUNT: 20,
} as const;

/** Philox blocks: 0..9 crop attempts (area, ratio, i, j), then the switches and factors. */
export const BLOCK = { CROP: 0, SWITCH: 10, FACTORS: 11, BLUR: 12 } as const;
export const CROP_ATTEMPTS = 10;

const isProb = (p: unknown): p is number => typeof p === "number" && p >= 0 && p <= 1;
const isPair = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isFinite(x)) && v[0] <= v[1];

/** Python's round (half to even), which is also WGSL's `round`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's RandomResizedCrop fallback when 10 attempts fail: the largest centred box whose
 * aspect ratio is clamped into the ratio range. Returns [i, j, h, w].
 */
function fallbackCrop(H: number, W: number, ratio: [number, number]): [number, number, number, number] {
  const inRatio = W / H;
  let w = W, h = H;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return [Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w];
}

export function normalizeAugment(op: string, inShapes: Shape[], attrs: Attrs): AugmentSpec {
  if (inShapes.length !== 1) throw new ShapeError(op, `takes one input (images [N, C, H, W]), got ${inShapes.length}`);
  const s = inShapes[0];
  if (s.length !== 4 || (s[1] !== 1 && s[1] !== 3)) {
    throw new ShapeError(op, `input must be images [N, C, H, W] with C = 1 or 3, got ${fmtShape(s)}`);
  }
  const [N, C, H, W] = s;
  const a = attrs as AugmentAttrs;
  const bad = (path: string, want: string, got: unknown): never => {
    throw new ShapeError(op, `attrs.${path} must be ${want}, got ${JSON.stringify(got)}`);
  };
  const prob = (
    path: string,
    v: unknown,
  ) => (v === undefined ? 0 : isProb(v) ? v : bad(path, "a probability in [0, 1]", v));
  const nonneg = (path: string, v: unknown) =>
    v === undefined ? 0 : typeof v === "number" && v >= 0 && Number.isFinite(v) ? v : bad(path, "a number ≥ 0", v);

  const size = a.crop?.size ?? [H, W];
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1)) {
    bad("crop.size", "[height, width] of positive integers", size);
  }
  const [Ho, Wo] = size;
  let crop: AugmentSpec["crop"] = null;
  if (a.crop?.scale !== undefined) {
    const scale = a.crop.scale, ratio = a.crop.ratio ?? [3 / 4, 4 / 3];
    if (!isPair(scale) || scale[0] <= 0) bad("crop.scale", "[lo, hi] with 0 < lo ≤ hi", scale);
    if (!isPair(ratio) || ratio[0] <= 0) bad("crop.ratio", "[lo, hi] with 0 < lo ≤ hi", ratio);
    crop = { scale, logRatio: [Math.log(ratio[0]), Math.log(ratio[1])], fallback: fallbackCrop(H, W, ratio) };
  } else if (a.crop?.ratio !== undefined) {
    bad("crop.ratio", "given together with crop.scale", a.crop.ratio);
  }

  let jitter: AugmentSpec["jitter"] = null;
  if (a.colorJitter) {
    const j = a.colorJitter;
    const strengths = {
      brightness: nonneg("colorJitter.brightness", j.brightness),
      contrast: nonneg("colorJitter.contrast", j.contrast),
      saturation: nonneg("colorJitter.saturation", j.saturation),
      hue: nonneg("colorJitter.hue", j.hue),
    };
    if (strengths.hue > 0.5) bad("colorJitter.hue", "in [0, 0.5]", j.hue);
    const p = j.p === undefined ? 1 : prob("colorJitter.p", j.p);
    const any = strengths.brightness + strengths.contrast + strengths.saturation + strengths.hue > 0;
    if (p > 0 && any) jitter = { ...strengths, p };
  }

  let blur: AugmentSpec["blur"] = null;
  if (a.blur) {
    const p = a.blur.p === undefined ? 1 : prob("blur.p", a.blur.p);
    const sigma = a.blur.sigma ?? [0.1, 2];
    if (!isPair(sigma) || sigma[0] <= 0) bad("blur.sigma", "[lo, hi] with 0 < lo ≤ hi", sigma);
    const k = a.blur.kernel ?? defaultBlurKernel(Math.min(Ho, Wo));
    if (!Number.isInteger(k) || k < 1 || k % 2 === 0) bad("blur.kernel", "an odd positive integer", k);
    const radius = (k - 1) / 2;
    if (radius >= Math.min(Ho, Wo)) {
      bad("blur.kernel", `smaller than twice the output size ${Ho}×${Wo} (reflect padding)`, k);
    }
    if (p > 0 && radius > 0) blur = { p, sigma, radius };
  }

  const view = a.view ?? 0, stream = a.stream ?? 0;
  if (!Number.isInteger(view) || view < 0 || view > 0xffffffff) bad("view", "an integer in [0, 2^32)", view);
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) bad("stream", "an integer in [0, 2^32)", stream);
  return {
    N,
    C,
    H,
    W,
    Ho,
    Wo,
    crop,
    jitter,
    blur,
    view,
    stream,
    flip: prob("flip", a.flip),
    grayscale: prob("grayscale", a.grayscale),
    solarize: prob("solarize", a.solarize),
  };
}

/** Blur kernel ≈ 10% of the image side, odd, at least 3 (BYOL: 23 for 224). */
function defaultBlurKernel(side: number): number {
  const k = Math.max(3, Math.round(side / 10));
  return k % 2 === 1 ? k : k + 1;
}

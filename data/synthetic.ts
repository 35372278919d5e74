// A small deterministic synthetic dataset: procedurally drawn shapes and textures.
//
// Each class is one pattern (stripes in three orientations, checkerboard, disc, ring,
// cross, square outline, radial gradient, corner blob); every image jitters the pattern's
// phase, position, size, contrast and background and adds a little noise, so the classes
// are learnable but not identical copies. With the default jitter a 1-nearest-neighbour on
// raw pixels separates them (tested), which makes it a quick end-to-end check of training
// and kNN evaluation without any files. Image i of a split depends only on
// (seed, split, i), so changing the number of images never changes the others.
import { DataError, type Dataset, type Split } from "./dataset.ts";

export const SYNTHETIC_CLASSES = [
  "h-stripes",
  "v-stripes",
  "d-stripes",
  "checker",
  "disc",
  "ring",
  "cross",
  "square",
  "radial",
  "blob",
];

export interface SyntheticOptions {
  /** Train / test image counts (default 1000 / 200). */
  train?: number;
  test?: number;
  /** Image side, or [h, w] (default 16). */
  size?: number | [number, number];
  /** 1 (gray) or 3 (a random per-image tint) channels (default 1). */
  channels?: 1 | 3;
  /** 2..10 classes (default 4). */
  classes?: number;
  /** Standard deviation of the added Gaussian pixel noise (default 0.05). */
  noise?: number;
  seed?: number;
}

/** mulberry32 seeded from a hash of (seed, split, index). */
function rngFor(seed: number, split: number, index: number): () => number {
  let a = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(split + 1, 0xc2b2ae35) ^
    Math.imul(index + 1, 0x27d4eb2f);
  a = Math.imul(a ^ (a >>> 16), 0x45d9f3b) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Intensity in [0, 1] of class `k`'s pattern at (u, v) ∈ [0,1]², given jitter parameters. */
function pattern(k: number, u: number, v: number, p: { phase: number; cx: number; cy: number; r: number }): number {
  const TAU = 2 * Math.PI, f = 3;
  const dx = u - p.cx, dy = v - p.cy, rad = Math.hypot(dx, dy);
  const soft = (d: number) => 1 / (1 + Math.exp(d / 0.03)); // ≈1 inside (d < 0), ≈0 outside
  switch (k) {
    case 0:
      return 0.5 + 0.5 * Math.cos(TAU * (f * v + p.phase));
    case 1:
      return 0.5 + 0.5 * Math.cos(TAU * (f * u + p.phase));
    case 2:
      return 0.5 + 0.5 * Math.cos(TAU * ((f * (u + v)) / 1.4 + p.phase));
    case 3:
      return Math.cos(TAU * (2 * dx + 0.25)) * Math.cos(TAU * (2 * dy + 0.25)) > 0 ? 1 : 0;
    case 4:
      return soft(rad - p.r);
    case 5:
      return soft(Math.abs(rad - p.r) - 0.07);
    case 6:
      return soft(Math.min(Math.abs(dx), Math.abs(dy)) - 0.08);
    case 7:
      return soft(Math.abs(Math.max(Math.abs(dx), Math.abs(dy)) - p.r) - 0.06);
    case 8:
      return Math.max(0, 1 - rad / (1.6 * p.r));
    default:
      return Math.exp(-((u - 0.25 - (p.cx - 0.5)) ** 2 + (v - 0.25 - (p.cy - 0.5)) ** 2) / (2 * 0.12 ** 2));
  }
}

function makeSplit(
  n: number,
  split: number,
  name: string,
  h: number,
  w: number,
  c: number,
  classes: number,
  noise: number,
  seed: number,
): Dataset {
  const images = new Float32Array(n * c * h * w);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rnd = rngFor(seed, split, i);
    const k = i % classes; // balanced, and any prefix is balanced too
    labels[i] = k;
    const p = {
      phase: 0.15 * rnd(),
      cx: 0.5 + 0.12 * (rnd() - 0.5),
      cy: 0.5 + 0.12 * (rnd() - 0.5),
      r: 0.28 + 0.06 * (rnd() - 0.5),
    };
    const contrast = 0.6 + 0.4 * rnd(), bg = 0.15 * rnd();
    // Gray: equal weights; colour: a moderate random tint shared by the image's pixels.
    const tint = Array.from({ length: c }, () => (c === 1 ? 1 : 0.6 + 0.4 * rnd()));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const val = bg + contrast * pattern(k, (x + 0.5) / w, (y + 0.5) / h, p);
        for (let ch = 0; ch < c; ch++) {
          // Box–Muller noise from the same stream keeps the image a pure function of (seed, split, i).
          const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
          const px = val * tint[ch] + noise * g;
          images[((i * c + ch) * h + y) * w + x] = px < 0 ? 0 : px > 1 ? 1 : px;
        }
      }
    }
  }
  return { name, images, labels, n, c, h, w, classes, classNames: SYNTHETIC_CLASSES.slice(0, classes) };
}

/** Image side and channels when the options leave them out. */
export const SYNTHETIC_DEFAULTS = { size: 16, channels: 1 } as const;

export function makeSynthetic(opts: SyntheticOptions = {}): Split {
  const d = SYNTHETIC_DEFAULTS.size;
  const [h, w] = typeof opts.size === "number" ? [opts.size, opts.size] : opts.size ?? [d, d];
  const c = opts.channels ?? SYNTHETIC_DEFAULTS.channels,
    classes = opts.classes ?? 4,
    noise = opts.noise ?? 0.05,
    seed = opts.seed ?? 0;
  const nTrain = opts.train ?? 1000, nTest = opts.test ?? 200;
  const bad = (what: string) => new DataError(`synthetic: ${what}`);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 4 && w >= 4)) {
    throw bad(`size ${h}×${w} must be integers ≥ 4`);
  }
  if (c !== 1 && c !== 3) throw bad(`channels must be 1 or 3, got ${c}`);
  if (!(Number.isInteger(classes) && classes >= 2 && classes <= SYNTHETIC_CLASSES.length)) {
    throw bad(`classes must be an integer in 2..${SYNTHETIC_CLASSES.length}, got ${classes}`);
  }
  for (const [k, v] of [["train", nTrain], ["test", nTest]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) throw bad(`${k} count ${v} must be a non-negative integer`);
  }
  if (!(noise >= 0)) throw bad(`noise ${noise} must be ≥ 0`);
  return {
    train: makeSplit(nTrain, 0, "synthetic/train", h, w, c, classes, noise, seed),
    test: makeSplit(nTest, 1, "synthetic/test", h, w, c, classes, noise, seed),
  };
}

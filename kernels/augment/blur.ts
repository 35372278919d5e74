// Gaussian blur with a per-sample σ, as torchvision's gaussian_blur: taps at integer offsets
// −r..r weighted exp(−t²/2σ²) and normalised, reflect padding (edge not repeated), applied
// separably (rows then columns) — the same result as the 2-D kernel it factors.
import { P } from "./spec.ts";

/** Normalised 1-D gaussian weights for offsets −r..r. */
export function gaussianWeights(sigma: number, r: number): number[] {
  const w: number[] = [];
  for (let t = -r; t <= r; t++) w.push(Math.exp(-0.5 * (t / sigma) * (t / sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Reflect an out-of-range index into [0, n): −1 → 1, n → n − 2 (needs r < n). */
export const reflect = (k: number, n: number) => (k < 0 ? -k : k >= n ? 2 * (n - 1) - k : k);

/** Blur one H×W plane in place (separable, reflect padding). */
export function blurPlane(x: Float64Array, H: number, W: number, sigma: number, r: number): void {
  const w = gaussianWeights(sigma, r);
  const tmp = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += w[t + r] * x[y * W + reflect(c + t, W)];
      tmp[y * W + c] = s;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += w[t + r] * tmp[reflect(y + t, H) * W + c];
      x[y * W + c] = s;
    }
  }
}

/**
 * WGSL body of one blur direction, one thread per line (`let i` = line index): a row of the
 * [N, C, Ho, Wo] image when `horizontal`, else a column. The σ of the line's sample comes from
 * PARAMS (0 → copy); the 2r+1 weights are computed once per line; the line length is read
 * from PARAMS too (see P.HO in spec.ts). Reads SRC, writes DST;
 * `after` post-processes the C-vector `v` (with `pb` = the sample's params offset) before the store.
 */
export function blurPassWgsl(
  C: number,
  Ho: number,
  Wo: number,
  r: number,
  horizontal: boolean,
  count: number,
  after = "",
): string {
  const plane = Ho * Wo;
  const [lines, len, stride, cross] = horizontal ? [Ho, Wo, 1, Wo] : [Wo, Ho, Wo, 1];
  const ch = [...Array(C).keys()];
  return /* wgsl */ `
  let n = i / ${lines}u;
  let base = n * ${C * plane}u + (i % ${lines}u) * ${cross}u;
  let pb = n * ${count}u;
  let sigma = PARAMS[pb + ${P.SIGMA}u];
  let lineLen = min(i32(PARAMS[pb + ${horizontal ? P.WO : P.HO}u]), ${len});
  var w: array<f32, ${2 * r + 1}>;
  var wsum = 0.0;
  for (var t = 0; t <= ${2 * r}; t++) {
    let d = f32(t - ${r}) / max(sigma, 1e-30);
    w[t] = select(exp(-0.5 * d * d), f32(t == ${r}), sigma == 0.0);
    wsum += w[t];
  }
  for (var pos = 0; pos < lineLen; pos++) {
    var v = vec3<f32>(0.0);
    for (var t = 0; t <= ${2 * r}; t++) {
      var k = pos + t - ${r};
      if (k < 0) { k = -k; } else if (k >= ${len}) { k = ${2 * (len - 1)} - k; }
      let at = base + u32(k) * ${stride}u;
${ch.map((c) => `      v[${c}] += w[t] * SRC[at + ${c * plane}u];`).join("\n")}
    }
    v = v / wsum;
${after}
    let o = base + u32(pos) * ${stride}u;
${ch.map((c) => `    DST[o + ${c * plane}u] = v[${c}];`).join("\n")}
  }
`;
}

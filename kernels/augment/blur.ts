// Gaussian blur with a per-sample σ, as torchvision's gaussian_blur: taps at integer offsets
// −r..r weighted exp(−t²/2σ²) and normalised, reflect padding (edge not repeated), applied
// separably (rows then columns) — the same result as the 2-D kernel it factors.

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
 * WGSL body of one blur direction for pixel (n, oy, ox) with `let i` = pixel index:
 * reads SRC, writes DST (both [N, C, Ho, Wo]); σ from PARAMS (0 → copy). `horizontal`
 * walks columns, otherwise rows. `after` post-processes the C-vector `v` before the store.
 */
export function blurPassWgsl(
  C: number,
  Ho: number,
  Wo: number,
  r: number,
  horizontal: boolean,
  sigmaSlot: number,
  count: number,
  after = "",
): string {
  const plane = Ho * Wo;
  const len = horizontal ? Wo : Ho, stride = horizontal ? 1 : Wo;
  const ch = [...Array(C).keys()];
  return /* wgsl */ `
  let n = i / ${plane}u; let pix = i % ${plane}u;
  let pos = ${horizontal ? `pix % ${Wo}u` : `pix / ${Wo}u`};
  let base = n * ${C * plane}u + pix - pos * ${stride}u;
  let sigma = PARAMS[n * ${count}u + ${sigmaSlot}u];
  var v = vec3<f32>(0.0);
  if (sigma == 0.0) {
${ch.map((c) => `    v[${c}] = SRC[base + pos * ${stride}u + ${c * plane}u];`).join("\n")}
  } else {
    var wsum = 0.0;
    for (var t = -${r}; t <= ${r}; t++) {
      let w = exp(-0.5 * (f32(t) / sigma) * (f32(t) / sigma));
      var k = i32(pos) + t;
      if (k < 0) { k = -k; } else if (k >= ${len}) { k = ${2 * (len - 1)} - k; }
      let at = base + u32(k) * ${stride}u;
${ch.map((c) => `      v[${c}] += w * SRC[at + ${c * plane}u];`).join("\n")}
      wsum += w;
    }
    v = v / wsum;
  }
${after}
${ch.map((c) => `  DST[base + pos * ${stride}u + ${c * plane}u] = v[${c}];`).join("\n")}
`;
}

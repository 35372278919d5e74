// Antialiased bilinear resampling of CHW float planes (the PIL "BILINEAR" filter).
//
// Plain bilinear interpolation aliases badly when shrinking photos to 32×32; stretching the
// triangle filter by the scale factor averages every source pixel that maps into an output
// pixel, and reduces to ordinary bilinear (half-pixel centres) when enlarging.

/** Per-output-index source taps and normalised weights for resampling `inSize` → `outSize`. */
function taps(inSize: number, outSize: number): { start: Int32Array; weights: Float32Array[] } {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const start = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inSize, Math.ceil(center + support));
    const w = new Float32Array(hi - lo);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const t = 1 - Math.abs((j + 0.5 - center) / support);
      w[j - lo] = t > 0 ? t : 0;
      sum += w[j - lo];
    }
    for (let k = 0; k < w.length; k++) w[k] /= sum;
    start[i] = lo;
    weights.push(w);
  }
  return { start, weights };
}

/** Resizes `c` planes of h×w to oh×ow (separable: rows, then columns). */
export function resizePlanes(src: Float32Array, c: number, h: number, w: number, oh: number, ow: number): Float32Array {
  if (oh === h && ow === w) return src;
  const tx = taps(w, ow), ty = taps(h, oh);
  const mid = new Float32Array(c * h * ow);
  for (let p = 0; p < c * h; p++) {
    for (let x = 0; x < ow; x++) {
      const wt = tx.weights[x], s = p * w + tx.start[x];
      let acc = 0;
      for (let k = 0; k < wt.length; k++) acc += wt[k] * src[s + k];
      mid[p * ow + x] = acc;
    }
  }
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < oh; y++) {
      const wt = ty.weights[y], s = ty.start[y];
      for (let x = 0; x < ow; x++) {
        let acc = 0;
        for (let k = 0; k < wt.length; k++) acc += wt[k] * mid[(ch * h + s + k) * ow + x];
        out[(ch * oh + y) * ow + x] = acc;
      }
    }
  }
  return out;
}

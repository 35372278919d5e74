// Float64 reference of one augmented view: the same per-sample parameters as the GPU (drawn
// by drawParams from the same Philox words) and the same pixel maths, image by image.
import { blurPlane } from "./blur.ts";
import { gray, JIT, jitterOp, solarize, toGray } from "./color.ts";
import { sampleCrop } from "./geometry.ts";
import { drawParams } from "./params.ts";
import { type AugmentSpec, P } from "./spec.ts";

export function augmentCpu(
  s: AugmentSpec,
  x: Float64Array,
  seed: number,
  step: number,
): { out: Float64Array; params: Float64Array } {
  const { N, C, H, W, Ho, Wo } = s;
  const params = drawParams(s, seed, step);
  const plane = Ho * Wo;
  const out = new Float64Array(N * C * plane);
  for (let n = 0; n < N; n++) {
    const p = params.subarray(n * P.COUNT, (n + 1) * P.COUNT);
    const img = out.subarray(n * C * plane, (n + 1) * C * plane);
    const box = [p[P.I], p[P.J], p[P.H], p[P.W]];
    for (let c = 0; c < C; c++) {
      const src = x.subarray((n * C + c) * H * W, (n * C + c + 1) * H * W);
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          img[c * plane + oy * Wo + ox] = sampleCrop(src, W, box, Ho, Wo, oy, ox, p[P.FLIP] === 1);
        }
      }
    }
    // colour: per pixel, channels gathered into v and scattered back
    const perPixel = (f: (v: number[]) => void) => {
      const v = new Array<number>(C);
      for (let k = 0; k < plane; k++) {
        for (let c = 0; c < C; c++) v[c] = img[c * plane + k];
        f(v);
        for (let c = 0; c < C; c++) img[c * plane + k] = v[c];
      }
    };
    if (p[P.JITTER] === 1) {
      for (let pos = 0; pos < 4; pos++) {
        const op = p[P.ORDER + pos];
        let mean = 0;
        if (op === JIT.CONTRAST) {
          perPixel((v) => (mean += C === 3 ? gray(v) : v[0]));
          mean /= plane;
          p[P.MEAN] = mean;
        }
        const factor = p[P.BRIGHT + op];
        perPixel((v) => jitterOp(op, v, factor, mean));
      }
    }
    if (p[P.GRAY] === 1) perPixel(toGray);
    if (p[P.SIGMA] > 0) {
      for (let c = 0; c < C; c++) {
        blurPlane(img.subarray(c * plane, (c + 1) * plane), Ho, Wo, p[P.SIGMA], s.blur!.radius);
      }
    }
    if (p[P.SOLAR] === 1) perPixel(solarize);
  }
  return { out, params };
}

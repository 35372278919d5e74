// Random resized crop + horizontal flip as one resampling: output pixel (oy, ox) of a sample
// reads its crop box (i, j, h, w) with bilinear interpolation, half-pixel centres, coordinates
// clamped inside the box — torch's interpolate(mode="bilinear", align_corners=False) applied
// to the cropped image. No antialiasing: in the 28×28 convention crops are only ever enlarged,
// where bilinear and PIL's antialiased bilinear coincide. Flip mirrors the output column.

/** Source coordinate along one axis: the two taps and the weight of the second. */
function bilinearTaps(o: number, outLen: number, start: number, len: number): [number, number, number] {
  const src = Math.max(0, ((o + 0.5) * len) / outLen - 0.5);
  const i0 = Math.min(Math.floor(src), len - 1);
  const i1 = Math.min(i0 + 1, len - 1);
  return [start + i0, start + i1, src - i0];
}

/**
 * Resample channel plane `plane` (H×W, row-major) at output (oy, ox) of an Ho×Wo view of crop
 * box [i, j, h, w], mirrored when `flip`.
 */
export function sampleCrop(
  plane: ArrayLike<number>,
  W: number,
  box: ArrayLike<number>,
  Ho: number,
  Wo: number,
  oy: number,
  ox: number,
  flip: boolean,
): number {
  const [y0, y1, ly] = bilinearTaps(oy, Ho, box[0], box[2]);
  const [x0, x1, lx] = bilinearTaps(flip ? Wo - 1 - ox : ox, Wo, box[1], box[3]);
  const top = (1 - lx) * plane[y0 * W + x0] + lx * plane[y0 * W + x1];
  const bot = (1 - lx) * plane[y1 * W + x0] + lx * plane[y1 * W + x1];
  return (1 - ly) * top + ly * bot;
}

/**
 * WGSL: `fn sampleCrop(base: u32, box: vec4<f32>, oy: u32, ox: u32, flip: bool) -> f32` reading
 * X (the input images) at plane offset `base`; H×W input, Ho×Wo output baked in.
 */
export function geometryWgsl(W: number, Ho: number, Wo: number): string {
  return /* wgsl */ `
fn bilinearTaps(o: u32, outLen: f32, start: f32, len: f32) -> vec3<f32> {
  let src = max(0.0, (f32(o) + 0.5) * len / outLen - 0.5);
  let i0 = min(floor(src), len - 1.0);
  let i1 = min(i0 + 1.0, len - 1.0);
  return vec3<f32>(start + i0, start + i1, src - i0);
}
fn sampleCrop(base: u32, box: vec4<f32>, oy: u32, ox: u32, flip: bool) -> f32 {
  let ty = bilinearTaps(oy, ${Ho}.0, box.x, box.z);
  let tx = bilinearTaps(select(ox, ${Wo - 1}u - ox, flip), ${Wo}.0, box.y, box.w);
  let r0 = base + u32(ty.x) * ${W}u; let r1 = base + u32(ty.y) * ${W}u;
  let c0 = u32(tx.x); let c1 = u32(tx.y);
  let top = (1.0 - tx.z) * X[r0 + c0] + tx.z * X[r0 + c1];
  let bot = (1.0 - tx.z) * X[r1 + c0] + tx.z * X[r1 + c1];
  return (1.0 - ty.z) * top + ty.z * bot;
}
`;
}

// A diverging colormap for correlations: ColorBrewer RdBu (11 classes), blue = −1, red = +1.
//
// Linear interpolation between the 11 published stops placed at −1, −0.8, …, +1; values
// are clipped to [−1, 1]; NaN (e.g. the correlation of a dead, zero-variance feature) is
// black so it stands out from every real value.
export const RDBU: readonly [number, number, number][] = [
  [5, 48, 97],
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
  [103, 0, 31],
];
const NAN_COLOR: [number, number, number] = [0, 0, 0];

/** RGB bytes for v ∈ [−1, 1] (clipped). */
export function diverging(v: number): [number, number, number] {
  if (Number.isNaN(v)) return NAN_COLOR;
  const t = ((v < -1 ? -1 : v > 1 ? 1 : v) + 1) * 5; // 0..10
  const i = Math.min(9, Math.floor(t)), f = t - i;
  const a = RDBU[i], b = RDBU[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

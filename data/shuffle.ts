// The epoch's order on the host: which training images the step's gather takes, for data the
// host streams to the device in chunks (train/trainer.ts) and for tests and the PyTorch peer
// that must read the images in the very order the device does. The order itself is the gather
// op's keyed bijection (kernels/wgsl/shuffle.ts), so host and device cannot disagree.
import { shuffleIndex } from "../kernels/wgsl/shuffle.ts";

/** The images at positions [from, from + count) of epoch `epoch`'s shuffle of n images. */
export function epochRows(n: number, seed: number, epoch: number, from: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let k = 0; k < count; k++) out[k] = shuffleIndex(from + k, n, seed, epoch);
  return out;
}

/** The whole epoch's order. */
export function shuffleOrder(n: number, seed: number, epoch: number): Uint32Array {
  return epochRows(n, seed, epoch, 0, n);
}

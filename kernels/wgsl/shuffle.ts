// The epoch shuffle as a keyed bijection instead of a stored permutation: position i of epoch e
// holds image shuffleIndex(i, n, seed, e). Any thread (or the host: data/shuffle.ts) computes
// any position on its own, so nothing is uploaded per epoch and the batch gather runs inside
// the compiled step.
//
// Construction: a balanced Feistel network over the smallest even bit width covering n, whose
// round function is one Philox draw (domain DOMAIN_SHUFFLE) keyed by the seed, with the epoch
// and round in the counter; values ≥ n are walked through the cycle until they land in [0, n).
// A Feistel network is a bijection of [0, 2^bits) whatever its round function, and cycle walking
// restricts a bijection to a subset, so every epoch visits each image exactly once. The domain is
// < 4n, so the walk takes fewer than 4 rounds of the network on average.
import { philox4x32 } from "./philox.ts";

const DOMAIN_SHUFFLE = 3;
const SHUFFLE_ROUNDS = 6;

/** Half of the smallest even bit width w ≥ 2 with 2^w ≥ n. */
export function shuffleHalfBits(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
    throw new Error(`shuffle: n = ${n} must be an integer in [1, 2^32]`);
  }
  let bits = 2;
  while (2 ** bits < n) bits += 2;
  return bits / 2;
}

function feistel(x: number, half: number, seed: number, epoch: number): number {
  const mask = half === 16 ? 0xffff : (1 << half) - 1;
  let l = Math.floor(x / 2 ** half) & mask, r = x & mask;
  for (let k = 0; k < SHUFFLE_ROUNDS; k++) {
    const f = philox4x32([r, epoch, k, DOMAIN_SHUFFLE << 16], [seed, 0])[0] & mask;
    [l, r] = [r, (l ^ f) & mask];
  }
  return l * 2 ** half + r;
}

/** The image at position i (0 ≤ i < n) of epoch `epoch`'s shuffle of n images. */
export function shuffleIndex(i: number, n: number, seed: number, epoch: number): number {
  if (!(i >= 0 && i < n)) throw new Error(`shuffle: position ${i} outside [0, ${n})`);
  const half = shuffleHalfBits(n);
  let x = i;
  do x = feistel(x, half, seed >>> 0, epoch >>> 0); while (x >= n);
  return x;
}

/** WGSL twin of shuffleIndex; needs PHILOX_WGSL. `half` as from shuffleHalfBits(n). */
export const SHUFFLE_WGSL = /* wgsl */ `
fn shuffleIndex(i: u32, n: u32, half: u32, seed: u32, epoch: u32) -> u32 {
  let mask = (1u << half) - 1u;
  var x = i;
  loop {
    var l = (x >> half) & mask;
    var r = x & mask;
    for (var k = 0u; k < ${SHUFFLE_ROUNDS}u; k++) {
      let f = philox4x32(vec4<u32>(r, epoch, k, ${DOMAIN_SHUFFLE}u << 16u), vec2<u32>(seed, 0u)).x & mask;
      let nr = (l ^ f) & mask;
      l = r;
      r = nr;
    }
    x = (l << half) | r;
    if (x < n) { break; }
  }
  return x;
}
`;

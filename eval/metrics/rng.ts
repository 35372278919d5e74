// A seeded host generator for the float64 references (k-means++ seeding): the project's Philox4x32-10
// (kernels/wgsl/philox.ts) read as a stream, key (seed, stream), counter (draw index, 0, 0, domain).
// Counter-based, so restart r of a seed is stream r and does not depend on how many numbers the
// restarts before it drew: a run with one restart reproduces restart 0 of a run with many.
import { philox4x32 } from "../../kernels/wgsl/philox.ts";

/** Counter domain of host draws (top 16 bits of counter word 3); 1 and 2 are the GPU ops' (philox.ts). */
const DOMAIN_HOST = 3;

/** Uniform numbers in [0, 1) with 53 random bits, from Philox key (seed, stream). */
export function hostRng(seed: number, stream = 0): () => number {
  const key = [seed >>> 0, stream >>> 0];
  const tag = (DOMAIN_HOST << 16) >>> 0;
  let counter = 0, words: number[] = [], next = 4;
  return () => {
    if (next >= 4) {
      words = philox4x32([counter, Math.floor(counter / 4294967296), 0, tag], key);
      counter++;
      next = 0;
    }
    const hi = words[next] >>> 5, lo = words[next + 1] >>> 6; // 27 + 26 bits
    next += 2;
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

// Host-side initial values of persistent tensors, deterministic in (seed, tensor name).
import type { Init } from "../ir/graph.ts";

/** 32-bit FNV-1a of a string, to give every tensor its own stream */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** splitmix32 uniform [0, 1) generator */
export function stream(seed: number, name: string): () => number {
  let s = (hash(name) ^ Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Box–Muller normals of standard deviation `std` into `out` */
function normals(out: Float32Array, std: number, r: () => number): Float32Array {
  for (let i = 0; i < out.length; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export function initValues(
  init: Init,
  n: number,
  seed: number,
  name: string,
  lookup: (name: string) => Float32Array,
): Float32Array {
  const out = new Float32Array(n);
  switch (init.kind) {
    case "zeros":
      return out;
    case "ones":
      return out.fill(1);
    case "const":
      return out.fill(init.value);
    case "uniform": {
      const r = stream(seed, name);
      for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * init.bound;
      return out;
    }
    case "normal":
      return normals(out, init.std, stream(seed, name));
    case "unitRows": {
      if (n % init.width !== 0) throw new Error(`${name}: ${n} values are not rows of ${init.width}`);
      normals(out, 1, stream(seed, name));
      for (let r = 0; r < n; r += init.width) {
        let ss = 0;
        for (let j = r; j < r + init.width; j++) ss += out[j] * out[j];
        const inv = 1 / Math.sqrt(ss);
        for (let j = r; j < r + init.width; j++) out[j] *= inv;
      }
      return out;
    }
    case "copy":
      return Float32Array.from(lookup(init.of));
  }
}

// Counter-based random numbers as elementwise ops: every element draws its own Philox block
// from (seed, stream; element index, step), so the ops fuse like any other elementwise op,
// need no RNG state, and give the same numbers on every adapter and in the float64 reference.
// attrs: { shape: number[], stream: number }; per-step scalars 'seed' and 'step' (u32).
// No VJP: these ops have no inputs.
import { type CpuArgs, type EwCtx, type OpDef, RNG_SEED, RNG_STEP, type Shape, ShapeError, size } from "./op.ts";
import { DOMAIN_RAND, PHILOX_WGSL, philoxDraw, u32ToUnit, u32ToUnitOpen } from "./wgsl/philox.ts";

/** Counter word 3 of the RNG ops: their domain, block 0. */
const TAG = (DOMAIN_RAND << 16) >>> 0;

/**
 * −ln(u) for u ∈ (0, 1]. Near 1 a GPU's f32 log has an absolute (not relative) error of ~1e-8,
 * which sqrt(−2 ln u) turns into a ~1% error of small normals; there the series of −ln(1 − t),
 * t = 1 − u (exact in f32), is used instead: relative error < (1/16)^6/7 ≈ 1e-8.
 */
function negLog(u: number): number {
  const t = 1 - u;
  if (t >= 0.0625) return -Math.log(u);
  return t * (1 + t * (1 / 2 + t * (1 / 3 + t * (1 / 4 + t * (1 / 5 + t / 6)))));
}

/** Box–Muller on the first two words of a draw: sqrt(−2 ln u1)·cos(2π u2), u1 ∈ (0, 1], u2 ∈ [0, 1). */
export function boxMuller(w: ArrayLike<number>): number {
  return Math.sqrt(2 * negLog(u32ToUnitOpen(w[0]))) * Math.cos(2 * Math.PI * u32ToUnit(w[1]));
}

/** One WGSL library for both ops (the compiler includes a `lib` once per fused kernel). */
const RANDOM_WGSL = PHILOX_WGSL + /* wgsl */ `
fn negLog(u: f32) -> f32 {
  let t = 1.0 - u;
  if (t >= 0.0625) { return -log(u); }
  return t * (1.0 + t * (0.5 + t * (0.33333333 + t * (0.25 + t * (0.2 + t * 0.16666667)))));
}
fn philoxBoxMuller(w: vec4<u32>) -> f32 {
  return sqrt(2.0 * negLog(u32ToUnitOpen(w.x))) * cos(6.283185307179586 * u32ToUnit(w.y));
}
`;

/** Validated u32 stream id from attrs. */
function streamOf(op: string, attrs: Record<string, unknown>): number {
  const s = attrs.stream ?? 0;
  if (typeof s !== "number" || !Number.isInteger(s) || s < 0 || s > 0xffffffff) {
    throw new ShapeError(op, `attrs.stream must be an integer in [0, 2^32), got ${JSON.stringify(attrs.stream)}`);
  }
  return s;
}

/** Per-step u32 scalars 'seed' and 'step' for a float64 reference; missing ones are an error. */
export function seedStep(op: string, scalars: Record<string, number>): { seed: number; step: number } {
  const seed = scalars[RNG_SEED], step = scalars[RNG_STEP];
  if (seed === undefined || step === undefined) {
    throw new Error(
      `${op}: the per-step scalars '${RNG_SEED}' and '${RNG_STEP}' must be provided (got ${
        Object.keys(scalars).join(", ") || "none"
      })`,
    );
  }
  return { seed: seed >>> 0, step: step >>> 0 };
}

function randOp(
  name: string,
  sample: (w: [number, number, number, number]) => number,
  wgsl: (draw: string) => string,
): OpDef {
  return {
    kind: "elementwise",
    shape: (ins: Shape[], attrs) => {
      if (ins.length) throw new ShapeError(name, `takes no inputs, got ${ins.length}`);
      const s = attrs.shape as number[];
      if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ShapeError(name, `attrs.shape must be positive integers, got ${JSON.stringify(s)}`);
      }
      streamOf(name, attrs);
      return s;
    },
    cpu: ({ out, attrs, scalars }: CpuArgs) => {
      const { seed, step } = seedStep(name, scalars);
      const stream = streamOf(name, attrs);
      const r = new Float64Array(size(out));
      for (let i = 0; i < r.length; i++) r[i] = sample(philoxDraw(seed, stream, i, step, 0, DOMAIN_RAND, 0));
      return r;
    },
    ew: (_args, c: EwCtx) =>
      wgsl(
        `philoxDraw(${c.scalarU32(RNG_SEED)}, ${streamOf(name, c.attrs)}u, ${c.idx}, ${
          c.scalarU32(RNG_STEP)
        }, 0u, ${TAG}u)`,
      ),
    lib: RANDOM_WGSL,
    doc:
      `${name}(shape, stream): i.i.d. samples, element i from Philox4x32-10 counter (i, step, 0, ${TAG}), key (seed, stream)`,
  };
}

export const RANDOM: Record<string, OpDef> = {
  /** uniform on [0, 1) with 24-bit resolution (bit-exact between GPU and CPU) */
  randUniform: randOp("randUniform", (w) => u32ToUnit(w[0]), (d) => `u32ToUnit(${d}.x)`),
  /** standard normal by Box–Muller (agrees with the reference to f32 accuracy of log/cos) */
  randNormal: randOp("randNormal", boxMuller, (d) => `philoxBoxMuller(${d})`),
};

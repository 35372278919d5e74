// gatherBatch: the step's batch of images taken from a data set that lives on the device, so the
// host uploads the data once and nothing per step. Rows come either in the epoch's shuffled order
// (position first + b of the keyed bijection in wgsl/shuffle.ts) or in stored order (evaluation,
// and chunks the host streamed in already shuffled); stored-order rows past the end are zeros, so
// a short last batch needs no host padding. u8 data (image bytes, four to a word) are unpacked
// on the fly into byte/255, rounded exactly as the host readers round it (an integer-only
// construction of the f32: a multiply by 1/255 is off by one ulp for half the byte values), so
// the data set stays in its stored type on the device and the step sees the host's values.
import { grid } from "./layout.ts";
import {
  type Attrs,
  fmtShape,
  type KernelCtx,
  type Lowering,
  type OpDef,
  ShapeError,
  size,
  UNIFORM_DECL,
} from "./op.ts";
import { PHILOX_WGSL } from "./wgsl/philox.ts";
import { SHUFFLE_WGSL, shuffleHalfBits, shuffleIndex } from "./wgsl/shuffle.ts";

export interface GatherAttrs {
  /** rows per batch */
  batch: number;
  order: "shuffle" | "stored";
  /** element type of the data set input: u8 bytes become byte/255, f32 values are taken as they are */
  dtype: "u8" | "f32";
  /** names of the u32 step scalars: the position of row 0, and (shuffle) the seed and epoch */
  first: string;
  seed?: string;
  epoch?: string;
}

function check(attrs: Attrs): GatherAttrs {
  const a = attrs as unknown as GatherAttrs;
  if (!Number.isInteger(a.batch) || a.batch < 1) {
    throw new ShapeError("gatherBatch", `batch must be a positive integer, got ${a.batch}`);
  }
  if (a.order !== "shuffle" && a.order !== "stored") {
    throw new ShapeError("gatherBatch", `order must be "shuffle" or "stored", got ${a.order}`);
  }
  if (a.dtype !== "u8" && a.dtype !== "f32") {
    throw new ShapeError("gatherBatch", `dtype must be "u8" or "f32", got ${a.dtype}`);
  }
  if (
    typeof a.first !== "string" ||
    (a.order === "shuffle" && (typeof a.seed !== "string" || typeof a.epoch !== "string"))
  ) {
    throw new ShapeError("gatherBatch", "needs the names of its step scalars (first; seed and epoch when shuffled)");
  }
  return a;
}

function scalarOf(scalars: Record<string, number>, name: string): number {
  const v = scalars[name];
  if (v === undefined || !Number.isInteger(v) || v < 0) {
    throw new Error(`gatherBatch: step scalar '${name}' = ${v} is not a u32`);
  }
  return v;
}

function gatherKernel(c: KernelCtx): Lowering {
  const a = check(c.attrs);
  const n = c.inShapes[0][0], per = size(c.inShapes[0].slice(1));
  const first = c.scalarU32(a.first);
  const rowOf = a.order === "shuffle"
    ? `shuffleIndex(${first} + i, ${n}u, ${shuffleHalfBits(n)}u, ${c.scalarU32(a.seed!)}, ${c.scalarU32(a.epoch!)})`
    : `${first} + i`;
  const rows = grid(a.batch);
  const indices = {
    label: "gatherBatch.rows",
    wgsl: (a.order === "shuffle" ? PHILOX_WGSL + SHUFFLE_WGSL : "") + UNIFORM_DECL +
      `@group(0) @binding(0) var<storage, read_write> rows: array<u32>;\n` + rows.head + `  rows[i] = ${rowOf};\n}\n`,
    bindings: [{ buf: { kind: "tmp" as const, i: 0 }, write: true }],
    uniform: true,
    workgroups: rows.workgroups,
  };
  const px = grid(a.batch * per);
  const load = a.dtype === "u8"
    ? `  let at = r * ${per}u + j;\n  y[i] = byteToUnit((data[at >> 2u] >> ((at & 3u) * 8u)) & 0xffu);\n`
    : `  y[i] = data[r * ${per}u + j];\n`;
  const copy = {
    label: "gatherBatch.pixels",
    wgsl: (a.dtype === "u8" ? BYTE_TO_UNIT_WGSL : "") +
      `@group(0) @binding(0) var<storage, read> data: array<${a.dtype === "u8" ? "u32" : "f32"}>;\n` +
      `@group(0) @binding(1) var<storage, read> rows: array<u32>;\n` +
      `@group(0) @binding(2) var<storage, read_write> y: array<f32>;\n` + px.head +
      `  let r = rows[i / ${per}u]; let j = i % ${per}u;\n  if (r >= ${n}u) { y[i] = 0.0; return; }\n` + load + "}\n",
    bindings: [
      { buf: { kind: "in" as const, i: 0 }, write: false },
      { buf: { kind: "tmp" as const, i: 0 }, write: false },
      { buf: { kind: "out" as const }, write: true },
    ],
    workgroups: px.workgroups,
  };
  return { temps: [a.batch], passes: [indices, copy] };
}

/**
 * byte/255 as the f32 nearest to it, from integers alone: for v in [2^k, 2^(k+1)) the quotient lies
 * in [2^(k−8), 2^(k−7)) (255 is the one value that reaches 1), so the mantissa is v·2^(31−k)/255
 * rounded to nearest (no ties: 255 is odd), which fits u32 arithmetic. Checked for all 256 bytes.
 */
const BYTE_TO_UNIT_WGSL = /* wgsl */ `
fn byteToUnit(v: u32) -> f32 {
  if (v == 0u) { return 0.0; }
  if (v == 255u) { return 1.0; }
  let k = firstLeadingBit(v);
  var e = i32(k) - 8;
  var m = ((v << (31u - k)) + 127u) / 255u;
  if (m >= 0x1000000u) { m = m >> 1u; e = e + 1; }
  return bitcast<f32>((u32(e + 127) << 23u) | (m & 0x7fffffu));
}
`;

export const GATHER: Record<string, OpDef> = {
  gatherBatch: {
    kind: "kernel",
    shape: ([data], attrs) => {
      const a = check(attrs);
      if (!data || data.length < 2) {
        throw new ShapeError("gatherBatch", `needs a data set [N, ...], got ${data ? fmtShape(data) : "nothing"}`);
      }
      return [a.batch, ...data.slice(1)];
    },
    cpu: ({ ins: [data], inShapes: [s], attrs, scalars }) => {
      const a = check(attrs);
      const n = s[0], per = size(s.slice(1));
      const first = scalarOf(scalars, a.first);
      const out = new Float64Array(a.batch * per);
      for (let b = 0; b < a.batch; b++) {
        const r = a.order === "shuffle"
          ? shuffleIndex(first + b, n, scalarOf(scalars, a.seed!), scalarOf(scalars, a.epoch!))
          : first + b;
        if (r >= n) continue;
        for (let j = 0; j < per; j++) {
          out[b * per + j] = a.dtype === "u8" ? Math.fround(data[r * per + j] / 255) : data[r * per + j];
        }
      }
      return out;
    },
    // the data set is not differentiable: no gradient flows into it
    vjp: () => [null],
    kernel: gatherKernel,
    doc:
      "gatherBatch(data, {batch, order, dtype, first, seed?, epoch?}): one batch of rows of a device-resident data set",
  },
};

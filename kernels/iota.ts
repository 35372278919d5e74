// Each element's coordinate along one axis, as a zero-input elementwise op: per-row constants
// (a weight per stacked view, say) computed inside the consumer's kernel instead of uploaded.
import { type OpDef, ShapeError, size, strides } from "./op.ts";

/** iota({shape, axis}): the element's coordinate along `axis`, as f32. */
export const IOTA: Record<string, OpDef> = {
  iota: {
    kind: "elementwise",
    shape: (ins, attrs) => {
      if (ins.length !== 0) throw new ShapeError("iota", `takes no inputs, got ${ins.length}`);
      const s = attrs.shape, ax = attrs.axis;
      if (!Array.isArray(s) || s.length < 1 || s.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ShapeError("iota", `attrs.shape must be positive integers, got ${JSON.stringify(s)}`);
      }
      if (!Number.isInteger(ax) || (ax as number) < 0 || (ax as number) >= s.length) {
        throw new ShapeError("iota", `attrs.axis must be an axis of [${s}], got ${JSON.stringify(ax)}`);
      }
      return s as number[];
    },
    cpu: ({ out, attrs }) => {
      const ax = attrs.axis as number, st = strides(out)[ax];
      const v = new Float64Array(size(out));
      for (let i = 0; i < v.length; i++) v[i] = Math.floor(i / st) % out[ax];
      return v;
    },
    ew: (_a, c) => {
      const ax = c.attrs.axis as number;
      return `f32((${c.idx} / ${strides(c.outShape)[ax]}u) % ${c.outShape[ax]}u)`;
    },
    doc: "iota({shape, axis}): each element's coordinate along axis",
  },
};

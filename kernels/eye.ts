// The identity matrix as a zero-input elementwise op: it fuses into its consumer (e.g. the
// `where` that masks NT-Xent's self-similarities) instead of occupying a D×D buffer.
import { f32Literal } from "./elementwise.ts";
import { type OpDef, ShapeError, size } from "./op.ts";

/** eye({shape: [..., R, C]}): 1 where the last two coordinates are equal, else 0 (batched). */
export const EYE: Record<string, OpDef> = {
  eye: {
    kind: "elementwise",
    shape: (ins, attrs) => {
      if (ins.length !== 0) throw new ShapeError("eye", `takes no inputs, got ${ins.length}`);
      const s = attrs.shape;
      if (!Array.isArray(s) || s.length < 2 || s.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ShapeError(
          "eye",
          `attrs.shape must be ≥ 2 positive integers [..., rows, cols], got ${JSON.stringify(s)}`,
        );
      }
      return s as number[];
    },
    cpu: ({ out }) => {
      const r = out[out.length - 2], c = out[out.length - 1];
      const v = new Float64Array(size(out));
      for (let i = 0; i < v.length; i++) if (Math.floor(i / c) % r === i % c) v[i] = 1;
      return v;
    },
    ew: (_a, c) => {
      const s = c.outShape, r = s[s.length - 2], cols = s[s.length - 1];
      return `select(${f32Literal(0)}, ${f32Literal(1)}, ((${c.idx} / ${cols}u) % ${r}u) == (${c.idx} % ${cols}u))`;
    },
    doc: "eye({shape}): identity over the last two axes",
  },
};

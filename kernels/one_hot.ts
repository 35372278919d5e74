// oneHot: integer class labels (stored as f32 values 0, 1, …, as the data set's labels reach the
// device) to rows of 0/1, so a classification loss is composed from primitives
// (losses/cross_entropy.ts) like every other loss. An elementwise op with one input broadcast
// along the class axis: it fuses into the product with the logits and never fills a buffer.
import { f32Literal } from "./elementwise.ts";
import { type Attrs, fmtShape, type OpDef, type Shape, ShapeError, size } from "./op.ts";

function classesOf(attrs: Attrs): number {
  const c = attrs.classes;
  if (!Number.isInteger(c) || (c as number) < 1) {
    throw new ShapeError("oneHot", `attrs.classes must be a positive integer, got ${JSON.stringify(c)}`);
  }
  return c as number;
}

/** labels [..., 1] → [..., classes] */
function shape([s]: Shape[], attrs: Attrs): Shape {
  const c = classesOf(attrs);
  if (!s || s.length < 1 || s[s.length - 1] !== 1) {
    throw new ShapeError("oneHot", `needs labels of shape [..., 1], got ${s ? fmtShape(s) : "nothing"}`);
  }
  return [...s.slice(0, -1), c];
}

export const ONE_HOT: Record<string, OpDef> = {
  oneHot: {
    kind: "elementwise",
    shape,
    cpu: ({ ins: [labels], out, attrs }) => {
      const c = classesOf(attrs);
      const r = new Float64Array(size(out));
      // a label that is not one of 0..classes-1 gives a row of zeros (no class is hit)
      labels.forEach((l, row) => {
        if (Number.isInteger(l) && l >= 0 && l < c) r[row * c + l] = 1;
      });
      return r;
    },
    // the label (loaded with broadcasting along the class axis) against the element's class
    ew: ([label], c) => {
      const classes = classesOf(c.attrs);
      return `select(${f32Literal(0)}, ${f32Literal(1)}, ${label} == f32(${c.idx} % ${classes}u))`;
    },
    // labels are data: no gradient flows into them
    vjp: () => [null],
    doc: "oneHot(labels [..., 1], {classes}): 1 at the label's class, 0 elsewhere ([..., classes])",
  },
};

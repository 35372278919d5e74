// Leaves of the graph: values that come from outside the step (per-step inputs) or persist
// across steps (params and state). They have no kernel: the runtime owns their buffers.
import { type OpDef, ShapeError } from "./op.ts";

const leaf = (name: string): OpDef => ({
  kind: "leaf",
  shape: (_s, attrs) => {
    const s = attrs.shape as number[];
    if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ShapeError(name, `'${attrs.name}' needs a shape of positive integers, got ${JSON.stringify(s)}`);
    }
    return s;
  },
  cpu: () => {
    throw new Error(`${name} leaves are provided by the executor`);
  },
});

export const LEAVES: Record<string, OpDef> = {
  input: leaf("input"),
  param: leaf("param"),
  state: leaf("state"),
};

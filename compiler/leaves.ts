// Pass 5 of compile(): buffers of the values that live across steps. Params, state and inputs
// get one each, in their element type; an update written in place shares its target's.
// Intermediates get reused slots later (compiler/memory.ts).
import type { Graph, Init } from "../ir/graph.ts";
import { type Dtype, size } from "../kernels/op.ts";
import { bytesFor } from "./memory.ts";
import type { Storage } from "./program.ts";
import { isLeaf, type Values } from "./values.ts";

export interface LeafStorage {
  storages: Storage[];
  /** value → storage, for leaves and in-place update values */
  storageOfValue: Map<number, number>;
  inputs: Map<string, number>;
  persistent: Map<string, number>;
}

export function leafStorages(g: Graph, values: Values, inPlace: ReadonlyMap<number, number>): LeafStorage {
  const storages: Storage[] = [];
  const storageOfValue = new Map<number, number>();
  const inputs = new Map<string, number>(), persistent = new Map<string, number>();
  for (const id of values.valueNodes) {
    const n = g.nodes[id];
    if (!isLeaf(n.op)) continue;
    const dtype = (n.attrs.dtype as Dtype | undefined) ?? "f32";
    const s: Storage = {
      id: storages.length,
      kind: n.op as Storage["kind"],
      bytes: bytesFor(size(n.shape), dtype),
      dtype,
      name: n.attrs.name as string,
      shape: n.shape,
      init: n.attrs.init as Init | undefined,
    };
    storages.push(s);
    storageOfValue.set(values.valueOf.get(id)!, s.id);
    (n.op === "input" ? inputs : persistent).set(s.name!, s.id);
  }
  for (const [v, t] of inPlace) storageOfValue.set(values.valueOf.get(v)!, storageOfValue.get(values.valueOf.get(t)!)!);
  return { storages, storageOfValue, inputs, persistent };
}

// Pass 8 of compile(): the steps. Each generated pass becomes a dispatch over concrete storages
// (its reasons for standing alone attached); updates not written in place become buffer copies
// at the end; graph outputs are located.
import type { Graph } from "../ir/graph.ts";
import { type BufRef, type Shape, size } from "../kernels/op.ts";
import type { GeneratedKernel } from "./codegen.ts";
import { bytesFor } from "./memory.ts";
import type { Step } from "./program.ts";
import type { Values } from "./values.ts";

export function buildSteps(
  g: Graph,
  values: Values,
  kernels: GeneratedKernel[],
  tempValues: number[][],
  storageOfValue: (value: number) => number,
): { steps: Step[]; outputs: Map<string, { storage: number; shape: Shape }> } {
  const storageOfNode = (id: number) => storageOfValue(values.valueOf.get(id)!);
  const steps: Step[] = [];
  kernels.forEach((k, at) => {
    const out = storageOfNode(k.node);
    const resolve = (b: BufRef) =>
      b.kind === "out"
        ? (b.i ? storageOfNode(k.alsoWrites![b.i - 1]) : out)
        : b.kind === "tmp"
        ? storageOfValue(tempValues[at][b.i])
        : storageOfNode(k.ins[b.i]);
    k.passes.forEach((p, j) => {
      const step: Step = {
        kind: "dispatch",
        pass: p,
        storages: p.bindings.map((b) => resolve(b.buf)),
        label: p.label!,
        node: k.node,
      };
      if (k.why[j]) step.why = k.why[j];
      steps.push(step);
    });
  });
  for (const u of g.updates) {
    const from = storageOfNode(u.value), to = storageOfNode(u.target);
    if (from !== to) {
      steps.push({
        kind: "copy",
        from,
        to,
        bytes: bytesFor(size(g.nodes[u.target].shape)),
        label: `update ${g.nodes[u.target].attrs.name}`,
      });
    }
  }
  const outputs = new Map<string, { storage: number; shape: Shape }>();
  for (const [name, id] of g.outputs) outputs.set(name, { storage: storageOfNode(id), shape: g.nodes[id].shape });
  return { steps, outputs };
}

// A spec module (dsl/schema.ts `Module`) applied to a tensor: the bridge from the spec's module
// table to the layer functions of this folder. Parameter names are prefixed by the module name,
// so two branches naming the same module share its weights.
import type { Module } from "../dsl/schema.ts";
import type { Tensor } from "../ir/tensor.ts";
import { flatten } from "../nn/conv.ts";
import { mlp } from "../nn/mlp.ts";
import { resnet18 } from "../nn/resnet.ts";
import { smallCnn } from "../nn/small_cnn.ts";

/**
 * Applies one named module (by kind); parameter names are prefixed by the module name. `views`:
 * x is that many views stacked along the batch, which the module's BatchNorms normalise apart.
 */
export function applyModule(
  x: Tensor,
  name: string,
  modules: Record<string, Module>,
  training = true,
  views = 1,
): Tensor {
  const m = modules[name];
  if (!m) throw new Error(`applyModule: unknown module '${name}' (modules: ${Object.keys(modules).join(", ")})`);
  switch (m.kind) {
    case "mlp": {
      const flat = x.rank > 2 ? flatten(x) : x;
      if (m.in !== undefined && flat.shape[1] !== m.in) {
        throw new Error(`module '${name}' expects input width ${m.in}, got ${flat.shape[1]}`);
      }
      let h = mlp(flat, name, {
        widths: m.widths,
        bn: m.bn,
        relu: m.relu,
        bias: m.bias,
        lastBn: m.lastBn,
        lastBnAffine: m.lastBnAffine,
        training,
        groups: views,
      });
      if (m.lastRelu) h = h.relu();
      return h;
    }
    case "cnn":
      return smallCnn(x, name, {
        widths: m.channels,
        kernel: m.kernel,
        bn: m.bn && { training, groups: views },
        pool: m.pool,
      })
        .features;
    case "resnet18":
      return resnet18(x, name, { widthMult: m.width / 64, bn: { training, groups: views }, stem: m.stem }).features;
    case "seq": {
      let h = x;
      for (const sub of m.path) h = applyModule(h, sub, modules, training, views);
      return h;
    }
  }
}

// program.py, the spec-specific half of the generated program: the spec and its hash, the
// modules with the project's names and input widths, the forward of the online and EMA
// branches (one statement per module application, memoized as the lowering memoizes), and the
// loss, node by node. The spec-independent half is the sslport package (export/torch/py/).
import { canonicalJSON, specHash } from "../../dsl/io.ts";
import type { Module, PipelineSpec } from "../../dsl/schema.ts";
import { lossCode } from "./loss_py.ts";
import { type ForwardPlan, type ModuleInput, type TorchPlan, torchPlan } from "./plan.ts";
import { indent, pyBool, pyData, pyStr } from "./python.ts";

/** Constructor call of one leaf module; `shape` is the Python expression of its view's (C, S, S). */
function moduleCtor(name: string, m: Module, input: ModuleInput): string {
  const view = input.kind === "view" ? `shape(${pyStr(input.view)})` : "";
  switch (m.kind) {
    case "mlp": {
      const fanIn = input.kind === "view" ? `_flat(${view})` : String(input.width);
      const opts = [
        `bias=${pyBool(m.bias)}`,
        `bn=${pyBool(m.bn)}`,
        `relu=${pyBool(m.relu)}`,
        `last_bn=${pyBool(m.lastBn)}`,
        `last_bn_affine=${pyBool(m.lastBnAffine)}`,
        `last_relu=${pyBool(m.lastRelu)}`,
      ];
      const check = m.in !== undefined && input.kind === "view" ? `_width(${fanIn}, ${m.in}, ${pyStr(name)})` : fanIn;
      return `MLP(${check}, ${pyData(m.widths)}, ${opts.join(", ")})`;
    }
    case "cnn":
      return `CNN(${view}[0], ${pyData(m.channels)}, kernel=${m.kernel}, bn=${pyBool(m.bn)}, pool=${pyBool(m.pool)})`;
    case "resnet18":
      return `ResNet18(${view}[0], width=${m.width}, stem=${pyStr(m.stem)})`;
    case "seq":
      throw new Error("a seq module has no parameters of its own (expand it first)");
  }
}

/** `module` applied to the Python expression `x`: a leaf call, or a seq's leaves in order. */
function applyCode(spec: PipelineSpec, mods: string, module: string, x: string): string {
  const m = spec.modules[module];
  if (m.kind !== "seq") return `${mods}[${pyStr(module)}](${x})`;
  return m.path.reduce((acc, sub) => applyCode(spec, mods, sub, acc), x);
}

/** Statements of a forward plan, then `sink` applied to the dict expression of its branch outputs. */
function forwardCode(spec: PipelineSpec, plan: ForwardPlan, mods: string, sink: (dict: string) => string): string {
  const lines = plan.steps.map((s) => {
    const x = "view" in s.input ? `v[${pyStr(s.input.view)}]` : s.input.step;
    return `${s.out} = ${applyCode(spec, mods, s.module, x)}`;
  });
  const outs = plan.branches.map((b) => `${pyStr(b.name)}: ${b.result}${b.detach ? ".detach()" : ""}`);
  lines.push(sink(`{${outs.join(", ")}}`));
  return lines.join("\n");
}

export function programPy(spec: PipelineSpec, plan: TorchPlan = torchPlan(spec)): string {
  const hash = specHash(spec);
  const branches = new Set(spec.branches.map((b) => b.name));
  const queues = new Set((spec.queues ?? []).map((q) => q.name));
  const loss = lossCode(spec.loss, branches, queues);
  const ctors = plan.modules.map((m) => `${pyStr(m.name)}: ${moduleCtor(m.name, m.module, m.input)},`).join("\n");
  const emaForward = plan.ema.map((e) =>
    `# EMA copies of ${e.of}'s weights\ns = shadows[${pyStr(e.of)}]\n${
      forwardCode(spec, e.forward, "s", (d) => `out.update(${d})`)
    }`
  ).join("\n");
  // the method is free text: written as a str literal, it cannot end the docstring early
  return `"""The spec '${spec.name}' (method ${pyStr(spec.method)}) as a PyTorch program: written by
tools/to_torch.ts from the spec below; regenerate it rather than edit it. Run train.py next to it."""
import torch

from sslport import losses as L
from sslport.layers import CNN, MLP, ResNet18

SPEC_JSON = ${pyStr(canonicalJSON(spec))}
SPEC_HASH = ${pyStr(hash)}

# EMA copies by the branch whose weights they average: its leaf modules and τ schedule
EMA = ${pyData(Object.fromEntries(plan.ema.map((e) => [e.of, { modules: e.modules, tau: e.tau }])))}
# queues: name, the branch whose keys they take, rows, width
QUEUES = ${pyData(plan.queues)}
# the representation: the first module of the first trained branch, and its leaf modules
ENCODER = ${pyStr(plan.encoder.name)}
ENCODER_LEAVES = ${pyData(plan.encoder.leaves)}
# the branches whose embeddings the diagnostics measure (effective rank of the first)
PAIR = ${pyData(plan.pair ?? null)}


def _flat(shape):
    return shape[0] * shape[1] * shape[2]


def _width(got, want, module):
    if got != want:
        raise ValueError(f"module {module!r} expects input width {want}, got {got}")
    return got


def build_modules(shape):
    """The trained leaf modules; shape(view) gives the (C, S, S) of that view's images."""
    return {
${indent(ctors, 8)}
    }


def encoder(image_shape):
    """The encoder alone (load --encoder-only state dicts into it); image_shape = (C, S, S)."""
    mods = build_modules(lambda _view: tuple(image_shape))
    leaves = [mods[m] for m in ENCODER_LEAVES]
    return leaves[0] if len(leaves) == 1 else torch.nn.Sequential(*leaves)


def online_forward(m, v):
    """The trained branches in spec order, each view through each path prefix once."""
${indent(forwardCode(spec, plan.online, "m", (d) => `return ${d}`))}


def ema_forward(shadows, v):
    """The branches evaluated with EMA copies (no gradient)."""
    out = {}
${indent(emaForward)}
    return out


def loss(b, q):
    """The loss over the global batch: b = branch outputs, q = queue contents before the step."""
    c = lambda x: torch.tensor(x, dtype=torch.float32, device=next(iter(b.values())).device)
${indent(loss.lines.join("\n"))}
    return ${loss.result}
`;
}

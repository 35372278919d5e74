// spec → graph: the first stage of the compiler. Turns a validated PipelineSpec into a graph
// of primitives: augmentations per view, modules per branch (shared weights by module name,
// EMA shadows for `ema` branches), queues, the loss expression, and diagnostics outputs.
// The training step (gradients, optimizer, EMA updates) is added by train/step.ts.
import type { Expr, LossNode, Module, PipelineSpec } from "../dsl/schema.ts";
import { Graph } from "../ir/graph.ts";
import { concat, type Tensor } from "../ir/tensor.ts";
import { fmtShape } from "../kernels/op.ts";
import * as L from "../losses/mod.ts";
import { batchNorm, conv, flatten, mlp, resnet18 } from "../nn/mod.ts";

export interface ImageShape {
  c: number;
  h: number;
  w: number;
}

export interface LoweredSpec {
  graph: Graph;
  loss: Tensor;
  /** EMA pairs: shadow state name → online param name, with the scalar carrying its τ */
  ema: { target: string; online: string; tau: string }[];
  /** per-step scalars the host must provide besides lr/seed/step */
  tauScalars: Map<string, { base: number; final: number; schedule: "cosine" | "const" }>;
  /** queues: state name, rows, and the u32 scalar holding the FIFO write position */
  queues: { name: string; size: number; pointer: string }[];
  /** the module whose output is the representation evaluated by kNN / linear probe */
  encoder: string;
  /** branches of the main two-branch loss term, exposed as outputs 'pair.a' / 'pair.b' */
  pair?: { a: string; b: string };
}

/** Prefix of EMA shadow tensors of branch `of`. */
export const emaPrefix = (of: string) => `ema_${of}/`;

/** Builds the forward graph of a training step for `batch` images of shape `img`. */
export function lowerSpec(spec: PipelineSpec, img: ImageShape): LoweredSpec {
  const g = new Graph();
  const images = g.input("images", [spec.batch, img.c, img.h, img.w]);

  const views = new Map<string, Tensor>();
  spec.views.forEach((v, i) => {
    g.scope = `views[${i}]`;
    const crop = v.aug.crop;
    views.set(v.name, images.op("augment", [], {
      ...v.aug,
      crop: crop ? { scale: crop.scale, ratio: crop.ratio, size: [crop.size, crop.size] } : undefined,
      view: i,
    }));
  });

  // one forward per (view, parameter set, path prefix)
  const memo = new Map<string, Tensor>();
  const byName = new Map(spec.branches.map((b) => [b.name, b]));
  const shadowOf = (branch: string): string | undefined => {
    const b = byName.get(branch)!;
    return b.ema ? emaPrefix(b.ema.of) : undefined;
  };
  const apply = (x: Tensor, path: string[], shadow: string | undefined, viewName: string, scope: string): Tensor => {
    let h = x;
    path.forEach((m, k) => {
      const key = `${viewName}|${shadow ?? ""}|${path.slice(0, k + 1).join(">")}`;
      const hit = memo.get(key);
      if (hit) {
        h = hit;
        return;
      }
      g.scope = `${scope}.path[${k}] (${m})`;
      g.shadowPrefix = shadow;
      try {
        h = applyModule(h, m, spec.modules);
      } finally {
        g.shadowPrefix = undefined;
      }
      memo.set(key, h);
    });
    return h;
  };

  const outputs = new Map<string, Tensor>();
  spec.branches.forEach((b, i) => {
    const shadow = shadowOf(b.name);
    let z = apply(views.get(b.view)!, b.path, shadow, b.view, `branches[${i}]`);
    if (b.stopGrad || b.ema) z = z.stopGrad();
    outputs.set(b.name, z);
  });

  // queues hold detached rows of a branch from earlier steps
  const queues: LoweredSpec["queues"] = [];
  const queueTensors = new Map<string, Tensor>();
  (spec.queues ?? []).forEach((q, i) => {
    g.scope = `queues[${i}]`;
    const rows = outputs.get(q.of)!;
    const d = rows.shape[1];
    const state = g.state(`queue_${q.name}`, [q.size, d], { kind: "unitRows", width: d });
    const pointer = `queue_${q.name}_ptr`;
    g.assign(state, state.op("writeRows", [L.normalize(rows.stopGrad())], { start: pointer }));
    queues.push({ name: `queue_${q.name}`, size: q.size, pointer });
    queueTensors.set(q.name, state);
  });

  g.scope = "loss";
  const ref = (name: string): Tensor => {
    const t = outputs.get(name) ?? queueTensors.get(name);
    if (!t) throw new Error(`loss: '${name}' is neither a branch nor a queue`);
    return t;
  };
  const loss = lowerExpr(spec.loss, ref, g, "loss");
  if (loss.shape.length !== 0) {
    throw new Error(`loss: the expression must reduce to a scalar, got shape ${fmtShape(loss.shape)} (wrap it in {op: 'mean'})`);
  }
  // the two embeddings of the main loss term are read back every few steps for diagnostics
  // (a loss written from primitives has no such term: fall back to the first two branches)
  const pair = lossPair(spec.loss) ??
    (spec.branches.length >= 2 ? { a: spec.branches[0].name, b: spec.branches[1].name } : undefined);
  if (pair) {
    const [za, zb] = [ref(pair.a), ref(pair.b)];
    if (za.rank === 2 && zb.rank === 2 && za.shape.join() === zb.shape.join()) {
      g.output("pair.a", za);
      g.output("pair.b", zb);
    }
  }
  g.scope = undefined;

  const ema: LoweredSpec["ema"] = [];
  const tauScalars: LoweredSpec["tauScalars"] = new Map();
  for (const b of spec.branches) {
    if (!b.ema) continue;
    const tau = `tau_${b.ema.of}`;
    tauScalars.set(tau, { base: b.ema.tau.base, final: b.ema.tau.final, schedule: b.ema.tau.schedule });
  }
  for (const [shadow, online] of g.shadows) {
    const of = shadow.slice(4, shadow.indexOf("/"));
    ema.push({ target: shadow, online, tau: `tau_${of}` });
  }
  const first = spec.branches.find((b) => !b.ema) ?? spec.branches[0];
  return { graph: g, loss, ema, tauScalars, queues, encoder: first.path[0], pair: g.outputs.has("pair.a") ? pair : undefined };
}

/** Applies one named module (by kind); parameter names are prefixed by the module name. */
export function applyModule(x: Tensor, name: string, modules: Record<string, Module>, training = true): Tensor {
  const m = modules[name];
  if (!m) throw new Error(`unknown module '${name}'`);
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
      });
      if (m.lastRelu) h = h.relu();
      return h;
    }
    case "cnn": {
      let h = x;
      m.channels.forEach((ch, i) => {
        h = conv(h, `${name}.conv${i}`, ch, { kernel: m.kernel });
        if (m.bn) h = batchNorm(h, `${name}.bn${i}`, { training });
        h = h.relu();
        if (m.pool && h.shape[2] >= 2 && h.shape[3] >= 2) h = h.op("maxPool2d", [], { kernel: 2, stride: 2, pad: 0 });
      });
      return h.mean([2, 3]);
    }
    case "resnet18":
      if (m.stem !== "cifar") throw new Error(`module '${name}': only the CIFAR stem is implemented (stem: 'cifar')`);
      return resnet18(x, name, { widthMult: m.width / 64, bn: { training } }).features;
    case "seq": {
      let h = x;
      for (const sub of m.path) h = applyModule(h, sub, modules, training);
      return h;
    }
  }
}

type Ref = (name: string) => Tensor;

function lowerExpr(e: Expr, ref: Ref, g: Graph, path: string): Tensor {
  if (typeof e === "number") return g.const(e);
  if (typeof e === "string") return ref(e);
  const n = e as LossNode;
  const sub = (x: Expr, i: number) => lowerExpr(x, ref, g, `${path}.args[${i}]`);
  const ab = () => [lowerExpr((n as { a: Expr }).a, ref, g, `${path}.a`), lowerExpr((n as { b: Expr }).b, ref, g, `${path}.b`)];
  const args = "args" in n ? (n.args as Expr[]).map(sub) : [];
  switch (n.op) {
    case "barlowTwins": {
      const [a, b] = ab();
      return n.lambda === "mean" ? L.barlowTwinsLambdaFree(a, b) : L.barlowTwins(a, b, { lambda: n.lambda });
    }
    case "ntXent": {
      const [a, b] = ab();
      return L.ntXent(a, b, n.temperature);
    }
    case "infoNCE": {
      const [a, b] = ab();
      const neg = n.negatives !== undefined ? lowerExpr(n.negatives, ref, g, `${path}.negatives`) : undefined;
      if (!neg) return L.ntXent(a, b, n.temperature);
      return L.infoNCE(a, b, neg, n.temperature);
    }
    case "byol": {
      const [a, b] = ab();
      return L.byolLoss(a, b);
    }
    case "simsiam": {
      const [a, b] = ab();
      return L.simsiamLoss(a, b);
    }
    case "vicreg": {
      const [a, b] = ab();
      return L.vicreg(a, b, { sim: n.sim, var: n.var, cov: n.cov } as L.VicregOpts);
    }
    case "featureSimMSE": {
      const [a, b] = ab();
      return L.featureSimilarityMse(a, b);
    }
    case "add":
      return args.reduce((x, y) => x.add(y));
    case "mul":
      return args.reduce((x, y) => x.mul(y));
    case "sub":
      return args[0].sub(args[1]);
    case "div":
      return args[0].div(args[1]);
    case "transpose":
      return args[0].T;
    case "stopGrad":
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "square":
    case "abs":
    case "relu":
      return args[0].op(n.op);
    case "sum":
    case "mean":
      return n.axis === undefined ? args[0][n.op]() : args[0][n.op]([n.axis], true);
    case "logsumexp":
      return n.axis === undefined ? args[0].reshape([args[0].shape.reduce((p, q) => p * q, 1)]).logsumexp(0) : args[0].logsumexp(n.axis, true);
    case "matmul":
      return args[0].matmul(args[1], n.ta ?? false, n.tb ?? false);
    case "normalize":
      return L.normalize(args[0], n.axis);
    case "standardize":
      return L.standardize(args[0]);
    case "eye":
      return g.add("eye", [], { shape: [n.n, n.n] });
    case "concat":
      return concat(args, n.axis);
  }
}

/** The branches of the first two-branch library loss in the expression (depth first). */
function lossPair(e: Expr): { a: string; b: string } | undefined {
  if (typeof e !== "object") return undefined;
  if ("a" in e && typeof e.a === "string" && typeof e.b === "string") return { a: e.a, b: e.b };
  for (const x of ("args" in e ? e.args : []) as Expr[]) {
    const f = lossPair(x);
    if (f) return f;
  }
  return undefined;
}

// Every shipped pipeline and example as a spec small enough for the PyTorch parity tests:
// synthetic-sized images, a 32-wide MLP encoder, a 32-16 projector (and predictor), batch 16,
// each through the file's own flags (and `finish`, for examples whose loss depends on sizes).
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../../dsl/cli.ts";
import {
  abs,
  adamw,
  add,
  concat,
  div,
  exp,
  eye,
  log,
  logsumexp,
  matmul,
  mean,
  mul,
  neg,
  normalize,
  relu,
  softmax,
  sqrt,
  square,
  standardize,
  stopGrad,
  sub,
  sum,
  transpose,
} from "../../dsl/builders.ts";
import type { Expr, Module, PipelineSpec } from "../../dsl/schema.ts";
import { expandPath } from "../../dsl/resolve.ts";
import { validateSpec } from "../../step/validate.ts";
import { parseStudyArgs } from "../../examples/lambda_free/options.ts";
import { planRuns } from "../../examples/lambda_free/plan.ts";

export interface SmallSpec {
  /** pipelines/<name> or examples/<name> */
  name: string;
  spec: PipelineSpec;
}

interface SpecModule {
  spec: PipelineSpec;
  finish?: (s: PipelineSpec) => PipelineSpec;
  makeLibrary?: () => PipelineSpec;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HELPERS = new Set(["run.ts", "run_example.ts", "lambda_free.ts"]);

/** Common test-size flags; `batch` rows of `side`×`side` images. */
export function smallFlags(spec: PipelineSpec, batch: number): string[] {
  const flags = [
    "--data",
    "synthetic",
    "--encoder",
    "mlp:32",
    "--proj",
    "32,16",
    "--batch",
    String(batch),
    "--epochs",
    "2",
  ];
  if (
    spec.modules.predictor?.kind === "mlp" && spec.modules.predictor.widths.length > 1 &&
    spec.modules.predictor.widths[0] > 32
  ) {
    flags.push("--pred", "32,16");
  }
  if (spec.queues.length) flags.push("--queue", String(2 * batch));
  return flags;
}

/** `defaults` with every flag that `extra` gives again (and its value) replaced by extra's. */
export function mergeFlags(defaults: string[], extra: string[]): string[] {
  const given = new Set(extra.filter((a) => a.startsWith("--")));
  const kept = defaults.filter((a, i) => !given.has(a.startsWith("--") ? a : defaults[i - 1]));
  return [...kept, ...extra];
}

/** The views cropped to `side` (there is no flag for the view size). */
export function cropTo(spec: PipelineSpec, side: number): PipelineSpec {
  const s = structuredClone(spec);
  for (const v of s.views) if (v.aug.crop) v.aug.crop.size = side;
  return validateSpec(s);
}

async function fromFile(dir: string, file: string, batch: number, side: number, extra: string[]): Promise<SmallSpec> {
  const mod = await import(`../../${dir}/${file}`) as SpecModule;
  // an example whose loss bakes in sizes (eye(D)) takes the flags on its size-free variant
  const base = mod.finish && mod.makeLibrary ? mod.makeLibrary() : mod.spec;
  const parsed = parseFlags(mergeFlags(smallFlags(base, batch), extra), base).spec;
  return { name: `${dir}/${file.replace(/\.ts$/, "")}`, spec: cropTo(mod.finish ? mod.finish(parsed) : parsed, side) };
}

/** The λ-free study's SGD run (its own spec builder), at test size. */
function lambdaFree(batch: number, side: number): SmallSpec {
  const o = parseStudyArgs([
    ...["--dims", "16", "--lambdas", "mean", "--optimizers", "sgd", "--data", "synthetic", "--train-limit", "64"],
    ...[
      "--test-limit",
      "32",
      "--budget-steps",
      "8",
      "--sgd-lr",
      "0.05",
      "--encoder",
      "mlp:32",
      "--batch",
      String(batch),
    ],
  ]);
  if (o === "help") throw new Error("unreachable");
  return { name: "examples/lambda-free", spec: cropTo(planRuns(o)[0].spec, side) };
}

/** Every pipeline and example (found by listing the folders, so a new one is covered). */
export async function smallSpecs(batch = 16, side = 8, extra: string[] = []): Promise<SmallSpec[]> {
  const out: SmallSpec[] = [];
  for (const dir of ["pipelines", "examples"]) {
    const files = readdirSync(`${ROOT}${dir}`).filter((f) => f.endsWith(".ts") && !HELPERS.has(f)).sort();
    for (const f of files) out.push(await fromFile(dir, f, batch, side, extra));
  }
  out.push(lambdaFree(batch, side));
  return out;
}

/** One pipeline at test size by its file name (pipelines/<name>.ts). */
export const smallPipelineSpec = async (name: string, batch = 16, side = 8, extra: string[] = []) =>
  (await fromFile("pipelines", `${name}.ts`, batch, side, extra)).spec;

/** Does the first Linear of this module feed a batch norm directly? */
const startsWithLinearBn = (m: Module | undefined) => m?.kind === "mlp" && (m.widths.length > 1 ? m.bn : m.lastBn);

/**
 * Parameters whose gradient is zero in exact arithmetic: the bias of a Linear whose output
 * reaches a batch norm (training mode) through affine maps only, since the norm removes any
 * per-feature shift — a bias right before a BN, or a module's last bias when every trained
 * branch feeds that output straight into another Linear + BN. Both engines give rounding
 * noise there, so relative errors mean nothing; the tests check that both stay at noise level.
 */
export function zeroGradientParams(spec: PipelineSpec): Set<string> {
  const out = new Set<string>();
  const trained = spec.branches.filter((b) => !b.stopGrad && !b.ema).map((b) => expandPath(spec.modules, b.path) ?? []);
  for (const [name, m] of Object.entries(spec.modules)) {
    if (m.kind !== "mlp" || !m.bias) continue;
    m.widths.forEach((_, i) => {
      const last = i === m.widths.length - 1;
      if (last ? m.lastBn : m.bn) out.add(`${name}.${i}.linear.bias`);
    });
    const uses = trained.flatMap((path) => path.flatMap((x, k) => (x === name ? [path[k + 1]] : [])));
    if (!m.lastBn && !m.lastRelu && uses.length && uses.every((next) => startsWithLinearBn(spec.modules[next]))) {
      out.add(`${name}.${m.widths.length - 1}.linear.bias`);
    }
  }
  return out;
}

/** A hand-written loss that uses every primitive of the loss language at least once. */
export function everyPrimitiveLoss(d: number): Expr {
  const [z1, z2] = ["z1", "z2"];
  const corr = mul(matmul(standardize(z1), standardize(z2), { ta: true }), 1 / 16);
  const sim = matmul(normalize(z1, 1), transpose(normalize(z2, 1)));
  return add(
    mean(square(sub(corr, eye(d)))),
    mean(logsumexp(sim, 1)),
    div(sum(abs(relu(neg(z1)))), 100),
    mean(log(add(1, mean(sqrt(add(0.01, square(z2))), 0)))),
    mean(mul(exp(neg(square(stopGrad(z1)))), z2)),
    mean(concat([normalize(z1, 0), z2], 0)),
    mean(mul(softmax(z1, 1), softmax(z2, 0))),
    mul(0.01, logsumexp(z1)),
    mul(0.001, sum(sum(matmul(z1, z2, { tb: true }), 0))),
  );
}

/**
 * Specs beyond the shipped files: the other encoders (small CNN, ResNet-18 with the CIFAR stem;
 * the ImageNet stem is checked through torchvision in torch_resnet_test.ts) and a loss written
 * from every primitive, trained with AdamW.
 */
export async function extraSpecs(batch = 16, side = 8): Promise<SmallSpec[]> {
  const barlow = (await import("../../pipelines/barlow.ts")).spec as PipelineSpec;
  const at = (extra: string[], edit: (s: PipelineSpec) => void = () => {}) => {
    const s = structuredClone(parseFlags(mergeFlags(smallFlags(barlow, batch), extra), barlow).spec);
    edit(s);
    return cropTo(validateSpec(s), side);
  };
  return [
    { name: "encoder cnn:8,16", spec: at(["--encoder", "cnn:8,16"]) },
    { name: "encoder resnet18:4 (cifar stem)", spec: at(["--encoder", "resnet18:4"]) },
    {
      name: "hand-written loss of every primitive, AdamW",
      spec: at([], (s) => {
        s.loss = everyPrimitiveLoss(16);
        s.optimizer = adamw({ lr: 1e-3, weightDecay: 0.05 });
      }),
    },
  ];
}

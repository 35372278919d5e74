// Every convolution layer of the bench's ResNet-18 and small-CNN steps, each of its ops timed
// with each kernel variant through the autotuner's own path (runtime/autotune.ts tuneOp: every
// candidate checked against float64 before it is timed): GFLOP/s per layer and variant (the
// Winograd ones effective: the direct convolution's FLOPs), the fastest, and the op's own
// lowering ("default") beside them. This is how the default tile rule in
// kernels/conv/lavapipe_tile.ts was chosen; rerun it on a new adapter before changing that rule.
// Run it on an otherwise idle machine.
//
//   deno run -A bench/conv_tiles.ts [--net resnet18|cnn|both] [--variants default,sg16x1,…]
//                                   [--budget-ms 300] [--out FILE.json]
//
// With `--steps VARIANT` it times whole training steps instead: each net's bench step as the
// trainer builds it (the untuned rule) against the same step with every convolution forced to
// VARIANT ("default": the implicit GEMMs, no Winograd), one after the other in one process,
// `--rounds` times (median), so the two figures share whatever else the machine is doing.
import { choiceValue, FlagError, intValue, listValue, splitArgs } from "../dsl/flags.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { tuneOp, variantCandidates } from "../runtime/autotune.ts";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { median } from "../runtime/timestamps.ts";
import { compileStep, trainingGraph } from "../step/build.ts";
import { deviceCompileOptions } from "../runtime/compile_for.ts";
import type { Program } from "../compiler/program.ts";
import { cnnBtSpec } from "./cnn_step.ts";
import { flopOf } from "./profile_families.ts";
import { CONV_OPS, convShapeKey } from "./profile_convs.ts";
import { resnetBtSpec } from "./resnet_step.ts";
import { alternateSteps, benchStep } from "./step.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { ShapeError } from "../kernels/op.ts";

const USAGE = "deno run -A bench/conv_tiles.ts [--net resnet18|cnn|both] [--variants a,b,…] " +
  "[--budget-ms MS] [--out FILE.json] | [--net …] --steps VARIANT [--rounds N]";
const FLAGS = [
  { name: "net", arg: "N" },
  { name: "variants", arg: "V" },
  { name: "budget-ms", arg: "MS" },
  { name: "out", arg: "F" },
  { name: "steps", arg: "VARIANT" },
  { name: "rounds", arg: "N" },
  { name: "help" },
];
const NETS = ["resnet18", "cnn", "both"] as const;

export interface TileRow {
  net: string;
  layer: string;
  /** GFLOP/s per variant ("default": the op's own lowering, the implicit GEMM); 0 where it failed or does not fit */
  gflops: Record<string, number>;
  best: string;
}

/** One node per distinct convolution layer shape that program `p` computes (the images' gradient is not). */
export function distinctConvs(g: Graph, p: Program): Node[] {
  const seen = new Map<string, Node>();
  for (const s of p.steps) {
    const n = s.kind === "dispatch" ? g.nodes[s.node] : undefined;
    if (!n || !CONV_OPS.has(n.op)) continue;
    const key = convShapeKey(g, n);
    if (!seen.has(key)) seen.set(key, n);
  }
  return [...seen.values()];
}

async function main(args: string[]): Promise<void> {
  const { values: v } = splitArgs(args, FLAGS);
  if (v.has("help")) return console.log(USAGE);
  const net = v.has("net") ? choiceValue("--net", v.get("net")!, NETS) : "both";
  const budgetMs = v.has("budget-ms") ? intValue("--budget-ms", v.get("budget-ms")!, 10) : 300;
  const gpu = await getGpu(), adapter = gpu.description;
  const features = { subgroups: gpu.features.subgroups, f16: gpu.features.f16 };
  const all = variantCandidates("conv2d", adapter, features);
  const variants = v.has("variants") ? listValue("--variants", v.get("variants")!, (s) => s) : all;
  const nets = { resnet18: resnetBtSpec(), cnn: cnnBtSpec() };
  const names = net === "both" ? ["resnet18", "cnn"] as const : [net] as const;
  if (v.has("steps")) {
    const rounds = v.has("rounds") ? intValue("--rounds", v.get("rounds")!, 1) : 3;
    for (const name of names) await stepsAgainst(gpu, name, nets[name], v.get("steps")!, rounds);
    return;
  }
  const rows: TileRow[] = [];
  console.log(`adapter: ${adapter}; variants: ${variants.join(", ")}`);
  for (const name of names) {
    const { spec, image } = nets[name];
    const t = trainingGraph(spec, image), g = t.graph;
    const program = compileStep(t, await deviceCompileOptions(gpu, g)).program;
    for (const n of distinctConvs(g, program)) {
      const inShapes = n.inputs.map((i) => g.nodes[i].shape);
      const r = await tuneOp(gpu.device, n.op, inShapes, n.attrs, {
        adapter,
        features,
        candidates: variants,
        budgetMs,
      });
      const flop = flopOf(g, n);
      const gflops = Object.fromEntries(
        variants.map((k) => [k, Number.isFinite(r.ms[k]) ? +(flop / r.ms[k] / 1e6).toFixed(1) : 0]),
      );
      const row = { net: name, layer: convShapeKey(g, n), gflops, best: r.variant };
      rows.push(row);
      console.log(
        `${row.layer.padEnd(44)} ${variants.map((k) => `${k} ${gflops[k].toFixed(1)}`).join(" | ")}  → ${row.best}`,
      );
    }
  }
  const out = v.get("out");
  if (out) Deno.writeTextFileSync(out, JSON.stringify({ adapter, rows }, null, 2) + "\n");
}

/** The default rule's whole step against every convolution forced to `variant`, alternating. */
async function stepsAgainst(
  gpu: Gpu,
  name: string,
  { spec, image }: { spec: PipelineSpec; image: { c: number; h: number; w: number } },
  variant: string,
  rounds: number,
): Promise<void> {
  const a = await benchStep(gpu, spec, image, NaN),
    b = await benchStep(gpu, spec, image, NaN, { convVariant: variant });
  const [ta, tb] = await alternateSteps(a, b, rounds);
  const [ma, mb] = [median(ta), median(tb)];
  console.log(
    `${name} step: untuned rule ${ma.toFixed(2)} s (${a.dispatches} dispatches, ${
      (a.gflop / ma).toFixed(1)
    } GFLOP/s), ` +
      `every conv '${variant}' ${mb.toFixed(2)} s (${b.dispatches} dispatches, ${
        (b.gflop / mb).toFixed(1)
      } GFLOP/s): ` +
      `'${variant}' / rule ${(mb / ma).toFixed(3)} (median of ${rounds})`,
  );
  a.destroy(), b.destroy();
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    // a bad flag, a --steps variant the convolutions do not know, or no variant of a layer ran
    // (every name given was unknown or failed its check)
    const known = e instanceof FlagError || e instanceof ShapeError || (e as Error).message.startsWith("autotune:");
    if (!known) throw e;
    console.error(`bench/conv_tiles.ts: ${(e as Error).message} (${USAGE})`);
    Deno.exit(2);
  }
  Deno.exit(0);
}

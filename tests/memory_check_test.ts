// The memory plan is checked before any GPU work: a step whose buffers exceed the adapter's
// per-buffer limits or whose total exceeds the budget is refused with a MemoryPlanError naming
// the largest tensors, the module and flag that own them and the totals; from the command line
// that is exit status 2 with no stack trace, in seconds. Views stacked into one batch fall back to
// one forward per view where only that fits the per-buffer limit.
import { presets } from "../dsl/presets.ts";
import { cnn } from "../dsl/builders.ts";
import { makeSynthetic } from "../data/synthetic.ts";
import { type DeviceStep, deviceStep } from "../runtime/device_step.ts";
import { getGpu } from "./util/gpu.ts";
import { trainingGraph } from "../step/build.ts";
import { compile } from "../compiler/compile.ts";
import { checkMemoryPlan, MemoryPlanError } from "../step/memory_check.ts";

const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 ** 32 };

function program(proj: number[], method: "barlowTwins" | "simclr" | "byol" = "barlowTwins") {
  const spec = presets[method]({ data: "synthetic", imageSize: 8, proj, batch: 8 });
  return { spec, program: compile(trainingGraph(spec, { c: 1, h: 8, w: 8 }).graph) };
}

Deno.test("checkMemoryPlan refuses a projector of width 10⁶, naming the tensors, the spec path, the flag and the limits", () => {
  const { spec, program: p } = program([1_000_000, 1_000_000]);
  let msg = "";
  try {
    checkMemoryPlan(p, { ...limits, totalBudget: 24 * 2 ** 30, budgetSource: "this machine's memory" }, spec);
  } catch (e) {
    if (!(e instanceof MemoryPlanError)) throw e;
    msg = e.message;
  }
  for (
    const want of [
      "TiB of device memory",
      "'projector.1.linear.weight' [1000000, 1000000] 3.6 TiB: modules.projector.widths[1] (--proj)",
      "per-buffer limit of 128 MiB",
      "exceeds 24 GiB (this machine's memory)",
    ]
  ) {
    if (!msg.includes(want)) throw new Error(`message lacks "${want}":\n${msg}`);
  }
});

Deno.test("every tensor of a refusal is named by its spec origin, never as an anonymous intermediate", () => {
  for (
    const [method, want] of [
      [
        "barlowTwins",
        "a tensor at loss [1000000, 1000000] 3.6 TiB: the loss, over the output width of modules.projector.widths[1] (--proj)",
      ],
      [
        "simclr",
        "a tensor at branches[0].path[1] (projector) (backward) [1000000, 32] 122 MiB: modules.projector.widths[1] (--proj)",
      ],
      // the predictor's first weight is as wide as the projector's output: --proj, not --pred
      ["byol", "'predictor.0.linear.weight' [2048, 1000000] 7.6 GiB: modules.projector.widths[1] (--proj)"],
    ] as const
  ) {
    const { spec, program: p } = program([32, 1_000_000], method);
    let msg = "";
    try {
      checkMemoryPlan(p, { ...limits, maxStorageBufferBindingSize: 16 * 2 ** 20 }, spec);
    } catch (e) {
      if (!(e instanceof MemoryPlanError)) throw e;
      msg = e.message;
    }
    if (/intermediate #|an intermediate/.test(msg)) throw new Error(`an unnamed tensor:\n${msg}`);
    if (
      !msg.includes(want) || !/\n {2}make [^\n]*modules\.projector\.widths\[1\] \(--proj\)[^\n]* smaller$/.test(msg)
    ) {
      throw new Error(`message lacks "${want}" or the fix:\n${msg}`);
    }
  }
});

Deno.test("checkMemoryPlan checks the total, not only each buffer", () => {
  const { spec, program: p } = program([64, 32]);
  const total = p.storages.reduce((a, s) => a + s.bytes, 0);
  checkMemoryPlan(p, { ...limits, totalBudget: total }, spec); // exactly fits
  let refused = false;
  try {
    checkMemoryPlan(p, { ...limits, totalBudget: total - 1, budgetSource: "a tiny budget" }, spec);
  } catch (e) {
    if (!(e instanceof MemoryPlanError) || !e.message.includes("a tiny budget") || e.message.includes("per-buffer")) {
      throw e;
    }
    refused = true;
  }
  if (!refused) throw new Error("a total over the budget must be refused even when every buffer fits");
});

Deno.test("from the command line: a 10⁶-wide projector exits 2 with the plan's message and no stack trace", async () => {
  const out = Deno.makeTempDirSync({ prefix: "memory_check_" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "pipelines/barlow.ts",
        "--proj",
        "1000000,1000000",
        "--data",
        "synthetic",
        "--steps",
        "1",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    if (r.code !== 2) throw new Error(`exit ${r.code}, expected 2:\n${err}`);
    if (!err.includes("error: the compiled step needs") || !err.includes("--proj") || /\n\s+at /.test(err)) {
      throw new Error(`stderr:\n${err}`);
    }
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("a step whose stacked views would outgrow a buffer runs one forward per view where that fits", async () => {
  const spec = presets.barlowTwins({
    data: "synthetic",
    imageSize: 8,
    encoder: cnn([8]),
    proj: [16, 16],
    batch: 16,
    epochs: 1,
    warmupEpochs: 0,
    seed: 1,
  });
  const { train } = makeSynthetic({ train: 64, test: 16, size: 8, classes: 4, seed: 1 });
  const gpu = await getGpu();
  const stacked = (s: DeviceStep) =>
    s.step.graph.nodes.some((n) => n.op === "concat" && s.step.graph.nodes[n.inputs[0]].op === "augment");
  const largest = (s: DeviceStep) => Math.max(...s.step.program.storages.map((b) => b.bytes));
  const free = await deviceStep(gpu, spec, train);
  if (!stacked(free)) throw new Error("without a limit, the two views run as one batch");
  // a limit just below the stacked step's largest buffer: one forward per view fits under it
  const cap = largest(free) - 1;
  const capped = await deviceStep(gpu, spec, train, { maxBufferBytes: cap });
  if (stacked(capped) || largest(capped) > cap) {
    throw new Error(`under ${cap} bytes: stacked ${stacked(capped)}, largest buffer ${largest(capped)}`);
  }
  // a limit nothing fits under: the stacked step, which the memory check then refuses
  if (!stacked(await deviceStep(gpu, spec, train, { maxBufferBytes: 16 }))) {
    throw new Error("when neither fits, the step stays stacked");
  }
});

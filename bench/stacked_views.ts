// The bench's Barlow Twins steps (MLP, small CNN, ResNet-18) as the trainer builds them, with
// the views stacked along the batch (each module the views share runs once on both), against the
// same steps with one forward per view, alternating in one process (`--rounds` times, median) so
// both share whatever else the machine is doing. Run it on an otherwise idle machine.
//   deno run -A bench/stacked_views.ts [--net mlp,cnn,resnet18] [--rounds 5]
import { choiceValue, FlagError, intValue, listValue, splitArgs } from "../dsl/flags.ts";
import { getGpu } from "../runtime/device.ts";
import { median } from "../runtime/timestamps.ts";
import { cnnBtSpec } from "./cnn_step.ts";
import { resnetBtSpec } from "./resnet_step.ts";
import { alternateSteps, benchStep, btSpec } from "./step.ts";

const USAGE = "deno run -A bench/stacked_views.ts [--net mlp,cnn,resnet18] [--rounds N]";
const NETS = { mlp: btSpec, cnn: cnnBtSpec, resnet18: resnetBtSpec };

async function main(args: string[]): Promise<void> {
  const { values: v } = splitArgs(args, [{ name: "net", arg: "N" }, { name: "rounds", arg: "N" }, { name: "help" }]);
  if (v.has("help")) return console.log(USAGE);
  const rounds = v.has("rounds") ? intValue("--rounds", v.get("rounds")!, 1) : 5;
  const known = Object.keys(NETS) as (keyof typeof NETS)[];
  const names = v.has("net") ? listValue("--net", v.get("net")!, (s) => choiceValue("--net", s, known)) : known;
  const gpu = await getGpu();
  for (const name of names) {
    const { spec, image } = NETS[name]();
    const stacked = await benchStep(gpu, spec, image, NaN);
    const apart = await benchStep(gpu, spec, image, NaN, { stackViews: false });
    const [ts, ta] = await alternateSteps(stacked, apart, rounds);
    const [ms, ma] = [median(ts), median(ta)];
    console.log(
      `${name} step: views stacked ${ms.toFixed(3)} s (${stacked.dispatches} dispatches), one forward per view ` +
        `${ma.toFixed(3)} s (${apart.dispatches} dispatches): per view / stacked ${(ma / ms).toFixed(3)} ` +
        `(median of ${rounds}; ${ts.map((t) => t.toFixed(2)).join(" ")} / ${ta.map((t) => t.toFixed(2)).join(" ")})`,
    );
    stacked.destroy(), apart.destroy();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`bench/stacked_views.ts: ${e.message} (${USAGE})`);
    Deno.exit(2);
  }
  Deno.exit(0);
}

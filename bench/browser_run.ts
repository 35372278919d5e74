// `deno task bench-browser-run`: the default Barlow Twins run (pipelines/barlow.ts's spec: full
// Fashion-MNIST, 2 epochs) end to end in a page of headless Chromium on lavapipe in WebGPU
// compatibility mode: the page fetches the data set from the server's /data/fashion-mnist/,
// trains, evaluates and reports with the same code as `deno run -A pipelines/barlow.ts`, and this
// prints its kNN and linear-probe accuracies (trained, and at random init) beside the Deno run's.
// Takes pipelines/barlow.ts's flags (e.g. `--train-limit 2048 --test-limit 512 --steps 20` for a
// short check). Run it on an otherwise idle machine; nothing is written.
import { parseFlags } from "../dsl/cli.ts";
import { parseDataName } from "../data/names.ts";
import { spec as barlow } from "../pipelines/barlow.ts";
import { type AdapterConfig, chromiumLaunch } from "../tests/util/browser.ts";
import { withCheckPage } from "../tests/util/check_page.ts";

/** The Deno run of the same defaults (docs: the default Barlow Twins run on lavapipe). */
const DENO = { knn_top1: 79.0, linear_top1: 84.17 };
const CONFIG: AdapterConfig = "compat-lavapipe";

const cli = parseFlags(Deno.args, barlow);
if (cli.help) {
  console.log("usage: deno task bench-browser-run [pipelines/barlow.ts flags, e.g. --train-limit N --steps N]");
  Deno.exit(0);
}
const { spec } = cli;
const { kind, arg } = parseDataName(spec.data.name);
if (kind !== "fashion-mnist" || arg) {
  console.error(`--data ${spec.data.name}: the page reads Fashion-MNIST from the server's /data/fashion-mnist/ only`);
  Deno.exit(2);
}
console.log(`Chromium ${chromiumLaunch(CONFIG).args.join(" ")}`);
const t0 = performance.now();
const r = await withCheckPage(CONFIG, (call, page) => {
  page.on("console", (m) => {
    if (m.type() === "info") console.log(`  page: ${m.text()}`);
  });
  return call("fullRun", {
    spec,
    dataUrl: "/data/fashion-mnist/",
    kind: "fashion-mnist",
    trainLimit: spec.data.trainLimit,
    testLimit: spec.data.testLimit,
  });
});
const wall = (performance.now() - t0) / 1000;
const pct = (v: unknown) => {
  const n = typeof v === "number" ? v : (v as { value?: number } | undefined)?.value;
  return typeof n === "number" ? `${(n <= 1 ? n * 100 : n).toFixed(2)}%` : String(JSON.stringify(v));
};
const rep = r.report;
console.log(`adapter: ${r.adapter}`);
console.log(
  `trained ${r.endStep} steps in ${r.seconds.toFixed(0)} s (page open ${wall.toFixed(0)} s); last loss ${r.lastLoss}`,
);
console.log(
  `kNN top-1:    ${pct(rep.knn_top1)} (random init ${pct(rep.random_init_knn_top1)}); Deno run ${
    DENO.knn_top1.toFixed(2)
  }%`,
);
console.log(
  `linear top-1: ${pct(rep.linear_top1)} (random init ${pct(rep.random_init_linear_top1)}); Deno run ${
    DENO.linear_top1.toFixed(2)
  }%`,
);

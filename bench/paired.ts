// The project's training steps against PyTorch's on this CPU in paired rounds: one project step
// and one PyTorch step of the same workload right after each other, round after round, so a
// host that speeds up or slows down moves both sides of a round alike. A ratio taken from two
// medians minutes apart (the whole bench, then PyTorch) moved by ±20% between runs on a busy
// host; here each round gives its own ratio and the figure is their median, with their range.
// PyTorch runs as a child process (bench/torch_cpu.py --serve: Debian's python3-torch, 2
// threads), its models built and warmed up once.
//
//   deno run -A bench/paired.ts [--only bt,resnet18,cnn] [--rounds N] [--quick]
//
// Writes the ratios (`bt_step_vs_torch_cpu`, `resnet18_step_vs_torch_cpu`, `cnn_step_vs_torch_cpu`),
// PyTorch's medians (`torch_cpu`) and each workload's rounds (`paired`) into bench/results.json.
// `bash bench/peers.sh` runs it after the bench.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { getGpu, type Gpu } from "../runtime/device.ts";
import { median } from "../runtime/timestamps.ts";
import { cnnBtStep } from "./cnn_step.ts";
import { resnetBtStep } from "./resnet_step.ts";
import { btStep, type StepBench } from "./step.ts";

interface Workload {
  /** PyTorch's name for it (bench/torch_cpu.py) */
  torch: string;
  /** the project's seconds key in results.json; `torch_cpu` holds PyTorch's under the same key */
  key: string;
  ratioKey: string;
  make: (gpu: Gpu) => Promise<StepBench>;
  rounds: number;
}
const WORKLOADS: Record<string, Workload> = {
  bt: { torch: "bt_mlp", key: "bt_step_seconds", ratioKey: "bt_step_vs_torch_cpu", make: btStep, rounds: 9 },
  resnet18: {
    torch: "resnet18",
    key: "resnet18_bt_step_seconds",
    ratioKey: "resnet18_step_vs_torch_cpu",
    make: resnetBtStep,
    rounds: 5,
  },
  cnn: { torch: "cnn", key: "cnn_bt_step_seconds", ratioKey: "cnn_step_vs_torch_cpu", make: cnnBtStep, rounds: 9 },
};
/** between the two sides of a round: PyTorch's and OpenBLAS's worker threads spin for a while after its step */
const SETTLE_MS = 250;

function usage(problem: string): never {
  console.error(
    `paired: ${problem}\nusage: deno run -A bench/paired.ts [--only bt,resnet18,cnn] [--rounds N] [--quick]`,
  );
  Deno.exit(2);
}
for (let k = 0; k < Deno.args.length; k++) {
  const a = Deno.args[k];
  if (a === "--only" || a === "--rounds") {
    if (Deno.args[k + 1] === undefined || Deno.args[k + 1].startsWith("--")) usage(`${a} takes a value`);
    k++;
  } else if (a !== "--quick") usage(`unknown argument '${a}'`);
}
function flag(name: string): string | undefined {
  const k = Deno.args.indexOf(name);
  return k < 0 ? undefined : Deno.args[k + 1];
}
const only = (flag("--only") ?? Object.keys(WORKLOADS).join(",")).split(",");
for (const w of only) {
  if (!WORKLOADS[w]) usage(`unknown workload '${w}' in --only (known: ${Object.keys(WORKLOADS).join(", ")})`);
}
const roundsFlag = flag("--rounds");
const rounds = roundsFlag === undefined ? undefined : Number(roundsFlag);
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
  usage(`--rounds takes a whole number ≥ 1, got '${roundsFlag}'`);
}
const quick = Deno.args.includes("--quick");

/** PyTorch's side: one step per workload name written, its seconds read back. */
class TorchPeer {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  meta: Record<string, unknown> = {};
  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
  }
  static async start(names: string[]): Promise<TorchPeer> {
    const script = new URL("./torch_cpu.py", import.meta.url).pathname;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/usr/bin/python3", {
        args: [script, "--serve", "--threads", "2", "--only", names.join(",")],
        env: { OPENBLAS_NUM_THREADS: "2", OMP_NUM_THREADS: "2" },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    } catch (e) {
      throw new Error(
        `paired: cannot start /usr/bin/python3 (${(e as Error).message}); bash bench/peers.sh installs it`,
      );
    }
    const peer = new TorchPeer(child);
    peer.meta = await peer.#read("its start (is python3-torch installed? bash bench/peers.sh installs it)");
    return peer;
  }
  async #read(what: string): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`paired: PyTorch's process ended during ${what}`);
    const msg = JSON.parse(r.value);
    if (msg.error) throw new Error(`paired: PyTorch: ${msg.error}`);
    return msg;
  }
  async step(name: string): Promise<number> {
    await this.#writer.write(new TextEncoder().encode(name + "\n"));
    return (await this.#read(`a ${name} step`)).seconds as number;
  }
  async close() {
    await this.#writer.close();
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  const text = new TextDecoder();
  for await (const chunk of stream) {
    buf += text.decode(chunk, { stream: true });
    for (let k = buf.indexOf("\n"); k >= 0; k = buf.indexOf("\n")) {
      yield buf.slice(0, k);
      buf = buf.slice(k + 1);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round3 = (v: number) => Math.round(v * 1000) / 1000;

const gpu = await getGpu();
const torch = await TorchPeer.start(only.map((w) => WORKLOADS[w].torch));
const file = new URL("./results.json", import.meta.url);
const results = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
results.torch_cpu = {
  ...results.torch_cpu,
  version: torch.meta.torch,
  threads: torch.meta.threads,
  blas: torch.meta.blas,
};
results.paired = results.paired ?? {};
console.log(
  `paired rounds against PyTorch ${torch.meta.torch} (CPU, ${torch.meta.threads} threads) on ${gpu.description}`,
);
try {
  for (const name of only) {
    const w = WORKLOADS[name];
    const n = rounds ?? (quick ? Math.ceil(w.rounds / 2) : w.rounds);
    const st = await w.make(gpu);
    try {
      await st.run(); // compiles the shaders
      await st.run();
      const ours: number[] = [], theirs: number[] = [], ratios: number[] = [];
      const projectStep = async () => {
        const t0 = performance.now();
        await st.run();
        return (performance.now() - t0) / 1000;
      };
      for (let k = 0; k < n; k++) {
        // which side goes first alternates, so neither always follows the other's aftermath
        let a: number, b: number;
        if (k % 2 === 0) {
          a = await projectStep();
          await sleep(SETTLE_MS);
          b = await torch.step(w.torch);
        } else {
          b = await torch.step(w.torch);
          await sleep(SETTLE_MS);
          a = await projectStep();
        }
        await sleep(SETTLE_MS);
        ours.push(a), theirs.push(b), ratios.push(a / b);
        console.log(
          `  ${name} round ${k + 1}/${n}: project ${a.toFixed(3)} s, PyTorch ${b.toFixed(3)} s, ratio ${
            (a / b).toFixed(2)
          }`,
        );
      }
      const figures = {
        rounds: n,
        ratio: round3(median(ratios)),
        ratio_min: round3(Math.min(...ratios)),
        ratio_max: round3(Math.max(...ratios)),
        project_seconds: round3(median(ours)),
        torch_seconds: round3(median(theirs)),
      };
      results[w.ratioKey] = figures.ratio;
      results.torch_cpu[w.key] = figures.torch_seconds;
      results.paired[name] = figures;
      console.log(
        `${w.ratioKey} ${figures.ratio} (median of ${n} paired rounds, ${figures.ratio_min.toFixed(2)}–${
          figures.ratio_max.toFixed(2)
        }; project ${figures.project_seconds.toFixed(3)} s, PyTorch ${figures.torch_seconds.toFixed(3)} s per step)`,
      );
    } finally {
      st.destroy();
    }
  }
} finally {
  await torch.close();
}
writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
console.log("wrote bench/results.json");

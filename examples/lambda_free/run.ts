// Running the λ-free study: each configuration is one run of pipelines/barlow.ts on a spec file
// (with --seeds, one per seed), in a child process, so a diverging or failing run is recorded
// and the study goes on.
import process from "node:process";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { freemem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_KINDS, parseDataName } from "../../data/names.ts";
import { FlagError } from "../../dsl/cli.ts";
import { saveSpec, specHash } from "../../dsl/io.ts";
import type { PipelineSpec } from "../../dsl/schema.ts";
import type { StudyOptions } from "./options.ts";
import { checkSeedsFolder, type SeedOutcome, writeSeedsSummary } from "../../run/seeds.ts";
import { baseSpec, lambdaLabel, planRuns, type SeedConfig, stepBytes } from "./plan.ts";
import { OPT_NAME, resultOfSeeds, resultsTable, type RunResult, writeOutputs } from "./results.ts";

const PIPELINE = fileURLToPath(new URL("../../pipelines/barlow.ts", import.meta.url));

/**
 * What a run's spec file holds and the flags that go with it. A spec file names its data set by
 * kind only (docs/architecture.md, decision 10), so a location (`cifar10:<dir>`) travels as
 * --data; an image folder has no kind, so it cannot reach the child. The study owns each run
 * folder and reruns a configuration from scratch (a changed spec, --fresh): --overwrite.
 */
export function childRun(spec: PipelineSpec): { fileSpec: PipelineSpec; flags: string[] } {
  const { kind, arg } = parseDataName(spec.data.name);
  if (!DATA_KINDS.includes(kind)) {
    throw new FlagError(
      "--data",
      `'${spec.data.name}' is not a data-set kind: each run reads its spec from a file, which names its data set by kind only (${
        DATA_KINDS.join(", ")
      }), so the study cannot use an image folder; give a kind, or kind:<dir>`,
    );
  }
  const fileSpec = arg ? { ...spec, data: { ...spec.data, name: kind } } : spec;
  return { fileSpec, flags: [...(arg ? ["--data", spec.data.name] : []), "--overwrite"] };
}

/** Runs pipelines/barlow.ts on the spec file in a child process; its stderr is kept for the reason. */
function runChild(specFile: string, dir: string, flags: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["run", "-A", PIPELINE, "--spec", specFile, "--out", dir, ...flags], {
      stdio: ["ignore", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (b: Uint8Array) => {
      const s = new TextDecoder().decode(b);
      stderr += s;
      process.stderr.write(s);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 130 : 1), stderr }));
  });
}

const readReport = (dir: string): Record<string, unknown> | undefined => {
  const f = join(dir, "report.json");
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
};

/** The reason a child failed: its 'error: …' line (a NaN loss says "loss became NaN …"). */
export function failureReason(stderr: string, code: number): string {
  const line = stderr.split("\n").find((l) => l.startsWith("error: "));
  const msg = line ? line.slice(7) : `exit code ${code}`;
  return /loss became (NaN|Infinity|-Infinity)/.test(msg) ? `diverged (${msg.split(";")[0]})` : msg;
}

export async function runStudy(o: StudyOptions): Promise<RunResult[]> {
  const base = baseSpec(o);
  const plan = planRuns(o, base);
  // with --seeds each configuration's folder gets their summary: refuse one that holds a single run, before any run
  if (o.seeds) { for (const c of plan) checkSeedsFolder(c.dir); }
  const results: RunResult[] = [];
  let stop = false;
  const onSig = () => (stop = true);
  process.on("SIGINT", onSig);
  try {
    for (const [i, c] of plan.entries()) {
      if (stop) break;
      console.log(
        `\n[${i + 1}/${plan.length}] ${c.key}: D ${c.d}, λ ${lambdaLabel(c.lambda)}, ${
          OPT_NAME[c.optimizer]
        } → ${c.dir}`,
      );
      const need = stepBytes(c.spec), free = freemem();
      // lavapipe's buffers live in host memory, next to host copies for checkpoints and features
      if (need * 1.5 > free && !c.seeds.every((r) => reusable(o, r))) {
        const gib = (b: number) => (b / 2 ** 30).toFixed(1);
        results.push(resultOfSeeds(c, [], `needs ~${gib(need)} GiB for the step, ${gib(free)} GiB free`));
        console.log(`  skipped: ${results.at(-1)!.reason}`);
        writeOutputs(o, base, results);
        continue;
      }
      const outcomes: SeedOutcome[] = [];
      for (const r of c.seeds) {
        if (stop) break;
        outcomes.push(await runSeed(o, r, c.seeds.length > 1 || !!o.seeds, need));
        if (outcomes.at(-1)!.status === "interrupted") stop = true;
      }
      if (o.dryRun) continue;
      // with --seeds, runs/<key> is laid out as a pipeline's --seeds folder: its seeds and their summary
      const notRun = c.seeds.slice(outcomes.length).map((r) => ({
        seed: r.seed,
        out: r.dir,
        status: "not run" as const,
      }));
      if (o.seeds) writeSeedsSummary(c.dir, [...outcomes, ...notRun]);
      results.push(resultOfSeeds(c, [...outcomes, ...notRun]));
      writeOutputs(o, base, results);
    }
  } finally {
    process.off("SIGINT", onSig);
  }
  if (!o.dryRun) {
    writeOutputs(o, base, results);
    console.log(
      `\n${resultsTable(o, base, results)}\nwritten: ${
        ["results.json", "table.md", "accuracy.svg"].map((f) => join(o.out, f)).join(", ")
      }`,
    );
  }
  return results;
}

/** The seed's earlier report, when it is complete for the same spec and --fresh was not given. */
function reusable(o: StudyOptions, r: SeedConfig): Record<string, unknown> | undefined {
  const old = readReport(r.dir);
  return !o.fresh && old?.spec_hash === specHash(r.spec) && !old.partial ? old : undefined;
}

/**
 * One seed of a configuration: its spec file, then its report reused (same spec hash, no
 * --fresh), or the run in a child process; a dry run only writes the spec file.
 */
async function runSeed(o: StudyOptions, r: SeedConfig, say: boolean, need: number): Promise<SeedOutcome> {
  const specFile = join(r.dir, "spec.json");
  const child = childRun(r.spec);
  saveSpec(specFile, child.fileSpec);
  if (say) console.log(`  seed ${r.seed} → ${r.dir}`);
  const base = { seed: r.seed, out: r.dir };
  const old = reusable(o, r);
  if (old) {
    console.log("  reusing its report.json (same spec hash; --fresh reruns)");
    return { ...base, status: "reused", report: old };
  }
  if (o.dryRun) {
    console.log(`  dry run: ${specFile} (step buffers ${(need / 2 ** 20).toFixed(0)} MiB)`);
    return { ...base, status: "not run" };
  }
  const { code, stderr } = await runChild(specFile, r.dir, child.flags);
  const report = code === 0 ? readReport(r.dir) : undefined;
  if (report) return { ...base, status: "done", report };
  if (code === 130) return { ...base, status: "interrupted", reason: "interrupted" };
  return { ...base, status: "failed", reason: failureReason(stderr, code) };
}

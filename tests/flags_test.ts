// The one flag parser (dsl/flags.ts) and the command lines built on it besides the pipelines'
// (those are in dsl_test.ts): tools/embed.ts, tools/contact_sheet.ts, bench/gpu.ts and the λ-free
// study. A bad flag names itself and is a usage error (exit 2), in every one of them.
import assert from "node:assert/strict";
import { parseGpuBenchArgs } from "../bench/gpu.ts";
import { parseStudyArgs } from "../examples/lambda_free/options.ts";
import { FlagError as CliFlagError } from "../dsl/cli.ts";
import { choiceValue, FlagError, intValue, listValue, realValue, splitArgs } from "../dsl/flags.ts";
import { parseSheetArgs } from "../tools/contact_sheet.ts";
import { parseEmbedArgs } from "../tools/embed.ts";

/** f throws a FlagError for `flag` whose message matches `msg` */
function flagError(f: () => unknown, flag: string, msg: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof FlagError, `not a FlagError: ${e}`);
    assert.equal(e.flag, flag);
    assert.match(e.message, msg);
    return true;
  });
}

const TABLE = [{ name: "out", arg: "DIR" }, { name: "steps", arg: "N" }, { name: "fresh" }, { name: "help" }];

Deno.test("flags: values, switches, --name=value, -h and positionals", () => {
  const r = splitArgs(["--out", "a", "--steps=3", "--fresh", "-h"], TABLE);
  assert.deepEqual([...r.values], [["out", "a"], ["steps", "3"], ["fresh", ""], ["help", ""]]);
  const p = splitArgs(["merge", "--out", "x", "more"], TABLE, { positionals: true });
  assert.deepEqual([p.positionals, p.values.get("out")], [["merge", "more"], "x"]);
  assert.equal(CliFlagError, FlagError); // the pipelines' FlagError is this one
});

Deno.test("flags: an unknown, repeated or value-less flag names itself", () => {
  flagError(() => splitArgs(["--stpes", "3"], TABLE), "--stpes", /unknown flag; did you mean --steps\? \(see --help\)/);
  flagError(() => splitArgs(["--zzzzzz"], TABLE), "--zzzzzz", /^--zzzzzz: unknown flag \(see --help\)$/);
  flagError(() => splitArgs(["--out", "a", "--out=b"], TABLE), "--out", /given more than once/);
  flagError(() => splitArgs(["--out"], TABLE), "--out", /expected a value \(DIR\)/);
  flagError(() => splitArgs(["--out", "--fresh"], TABLE), "--out", /expected a value \(DIR\)/);
  flagError(() => splitArgs(["--fresh=1"], TABLE), "--fresh", /takes no value/);
  flagError(() => splitArgs(["stray"], TABLE), "stray", /unexpected argument/);
});

Deno.test("flags: unknown flags passed through keep their values, in order", () => {
  const r = splitArgs(["--batch", "8", "--out", "a", "--seed=1", "--overwrite", "--fresh"], TABLE, {
    passThrough: (name) => ["batch", "seed", "overwrite"].includes(name),
  });
  assert.deepEqual(r.passed, ["--batch", "8", "--seed=1", "--overwrite"]);
  assert.deepEqual([...r.values.keys()], ["out", "fresh"]);
});

Deno.test("flags: value parsers name the flag and what they expected", () => {
  assert.equal(intValue("--n", "12", 1), 12);
  flagError(() => intValue("--n", "0", 1), "--n", /^--n: expected a positive integer, got '0'$/);
  flagError(() => intValue("--n", "1.5", 0), "--n", /expected an integer ≥ 0, got '1.5'/);
  assert.equal(realValue("--lr", "1e-3", true), 1e-3);
  flagError(() => realValue("--lr", "0", true), "--lr", /expected a number > 0/);
  flagError(() => realValue("--wd", "-1", false), "--wd", /expected a number ≥ 0/);
  assert.deepEqual(listValue("--d", "1, 2", Number), [1, 2]);
  flagError(() => listValue("--d", "1,,2", Number), "--d", /a comma-separated list/);
  assert.equal(choiceValue("--split", "train", ["train", "test"]), "train");
  flagError(() => choiceValue("--split", "val", ["train", "test"]), "--split", /expected train or test, got 'val'/);
  flagError(() => choiceValue("--m", "x", ["a", "b", "c"]), "--m", /expected one of a, b, c, got 'x'/);
});

Deno.test("tools/embed.ts flags: defaults, required flags, bad values", () => {
  assert.deepEqual(parseEmbedArgs(["--checkpoint", "runs/x", "--out", "f.npy"]), {
    checkpoint: "runs/x",
    out: "f.npy",
    data: undefined,
    split: "test",
    limit: undefined,
  });
  const a = parseEmbedArgs(["--checkpoint=r", "--out", "f", "--split", "train", "--limit", "5", "--data", "synthetic"]);
  assert.deepEqual(a, { checkpoint: "r", out: "f", data: "synthetic", split: "train", limit: 5 });
  assert.equal(parseEmbedArgs(["--out", "f", "-h"]), "help");
  flagError(() => parseEmbedArgs(["--out", "f"]), "--checkpoint", /required \(usage: tools\/embed.ts/);
  flagError(() => parseEmbedArgs(["--checkpoint", "r"]), "--out", /required/);
  flagError(() => parseEmbedArgs(["--checkpoint", "r", "--out", "f", "--split", "val"]), "--split", /train or test/);
  flagError(() => parseEmbedArgs(["--checkpoint", "r", "--out", "f", "--limit", "0"]), "--limit", /positive integer/);
  flagError(() => parseEmbedArgs(["--checkpoint", "r", "--lmit", "3"]), "--lmit", /did you mean --limit/);
});

Deno.test("tools/contact_sheet.ts flags: defaults, bad values, exclusive flags", () => {
  assert.deepEqual(parseSheetArgs([]), {
    data: undefined,
    method: undefined,
    spec: undefined,
    n: 12,
    offset: 0,
    seed: 0,
    step: 0,
    size: undefined,
    scale: 4,
    cols: 4,
    cpu: false,
    out: "runs/contact-sheet.png",
  });
  const a = parseSheetArgs(["--method", "simclr", "--n", "3", "--size", "32", "--cpu", "--out=s.png"]);
  assert.ok(a !== "help");
  assert.deepEqual([a.method, a.n, a.size, a.cpu, a.out], ["simclr", 3, 32, true, "s.png"]);
  assert.equal(parseSheetArgs(["-h"]), "help");
  flagError(() => parseSheetArgs(["--n", "0"]), "--n", /expected a positive integer, got '0'/);
  flagError(() => parseSheetArgs(["--seed", "x"]), "--seed", /expected an integer ≥ 0, got 'x'/);
  flagError(() => parseSheetArgs(["--method", "moco"]), "--method", /expected one of barlowTwins, .*simclr/);
  flagError(() => parseSheetArgs(["--method", "byol", "--spec", "s.json"]), "--spec", /give --method or --spec/);
  flagError(() => parseSheetArgs(["--spec", "s.json", "--size", "32"]), "--size", /a spec's crops set its size/);
  flagError(() => parseSheetArgs(["--colls", "2"]), "--colls", /did you mean --cols/);
});

Deno.test("bench/gpu.ts flags: each mode with its required flags", () => {
  assert.deepEqual(parseGpuBenchArgs(["workloads", "--small"]), { mode: "workloads", small: true });
  assert.deepEqual(parseGpuBenchArgs(["project", "--out", "p.json"]), {
    mode: "project",
    out: "p.json",
    small: false,
    budgetS: 270,
    data: undefined,
    tune: true,
  });
  const m = parseGpuBenchArgs(["merge", "--project", "p", "--torch", "t", "--out", "o", "--machine", "m"]);
  assert.deepEqual(m, { mode: "merge", project: "p", torch: "t", machine: "m", out: "o", small: false });
  flagError(() => parseGpuBenchArgs(["project", "--out", "p", "--budget-s", "soon"]), "--budget-s", /a number > 0/);
  flagError(() => parseGpuBenchArgs(["project"]), "--out", /required by bench\/gpu.ts project/);
  flagError(() => parseGpuBenchArgs(["merge", "--project", "p", "--out", "o"]), "--torch", /required/);
  flagError(() => parseGpuBenchArgs(["bench"]), "bench", /expected workloads, project or merge/);
  flagError(() => parseGpuBenchArgs(["project", "--out", "p", "--notune"]), "--notune", /did you mean --no-tune/);
});

Deno.test("λ-free study flags: the same errors as the pipelines' (repeats, value-less flags)", () => {
  flagError(() => parseStudyArgs(["--dims", "16", "--dims", "32"]), "--dims", /given more than once/);
  flagError(() => parseStudyArgs(["--budget-steps"]), "--budget-steps", /expected a value \(N\)/);
  flagError(() => parseStudyArgs(["--lars-lr", "0"]), "--lars-lr", /expected a number > 0/);
});

/** Runs a command line of the project; its exit code and stderr. */
async function run(file: string, args: string[]) {
  const cmd = ["run", "-A", "--no-check", file, ...args];
  const r = await new Deno.Command(Deno.execPath(), { args: cmd, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

Deno.test("a bad flag is a usage error (exit 2) naming the flag, in every command line", async () => {
  const cases: [string, string[], RegExp][] = [
    ["tools/embed.ts", ["--checkpoint", "r", "--out", "f", "--limit", "x"], /--limit: expected a positive integer/],
    ["tools/contact_sheet.ts", ["--n", "0"], /--n: expected a positive integer, got '0'/],
    ["tools/contact_sheet.ts", ["--bogus"], /--bogus: unknown flag/],
    ["bench/gpu.ts", ["project", "--out", "p", "--budget-s", "x"], /--budget-s: expected a number > 0, got 'x'/],
    ["bench/gpu.ts", ["project"], /--out: required/],
    ["examples/lambda_free.ts", ["--dims", "x"], /--dims: expected a positive integer, got 'x'/],
    // a variant name is checked where the step is compiled: still an error, not a stack trace
    ["bench/conv_tiles.ts", ["--net", "cnn", "--steps", "bad"], /conv2d: unknown kernel variant 'bad'/],
  ];
  for (const [file, args, msg] of cases) {
    const r = await run(file, args);
    assert.equal(r.code, 2, `${file} ${args.join(" ")}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, msg, `${file} ${args.join(" ")}`);
    assert.doesNotMatch(r.err, /^\s+at /m, `${file}: a stack trace\n${r.err}`);
  }
});

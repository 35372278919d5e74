// bench/paired.ts's refusals (before any GPU work) and the protocol of its PyTorch side
// (bench/torch_cpu.py --serve): one line of versions, then one step's seconds per workload name,
// an unknown name answered with an error line that names it, the process ending with its input.
import assert from "node:assert/strict";
import { requireTorch } from "./util/torch.ts";

const root = new URL("..", import.meta.url).pathname;

async function paired(...args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/paired.ts", ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("paired: an unknown workload, argument or round count is refused by name, exit 2", async () => {
  const a = await paired("--only", "cnn,vgg");
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown workload 'vgg' in --only \(known: bt, resnet18, cnn\)/);
  for (const bad of ["0", "2.5", "many"]) {
    const b = await paired("--rounds", bad);
    assert.equal(b.code, 2, bad);
    assert.match(b.stderr, new RegExp(`--rounds takes a whole number ≥ 1, got '${bad}'`));
  }
  const c = await paired("--quik");
  assert.equal(c.code, 2);
  assert.match(c.stderr, /unknown argument '--quik'\nusage: deno run -A bench\/paired.ts/);
  const d = await paired("--rounds");
  assert.equal(d.code, 2);
  assert.match(d.stderr, /--rounds takes a value/);
});

Deno.test("torch_cpu.py --serve: versions, then one step per name; an unknown name is an error line", async () => {
  requireTorch();
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["bench/torch_cpu.py", "--serve", "--only", "cnn"],
    cwd: root,
    env: { OPENBLAS_NUM_THREADS: "2", OMP_NUM_THREADS: "2" },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("cnn\nresnet18\ncnn\n"));
  await w.close();
  const out = await child.output();
  assert.equal(out.code, 0);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.equal(lines[0].threads, 2);
  assert.match(lines[0].torch, /^\d+\.\d+/);
  for (const k of [1, 3]) assert.ok(lines[k].seconds > 0 && lines[k].seconds < 60, JSON.stringify(lines[k]));
  assert.equal(lines[2].error, "unknown workload 'resnet18'; serving ['cnn']");
});

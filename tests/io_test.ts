// safetensors bytes against the format's definition, corrupt files with exact messages,
// atomic replacement, and checkpoints with validation (also round-tripped under Bun).
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  SafetensorsError,
  type Tensors,
  writeSafetensors,
} from "../io/safetensors.ts";
import { cleanStaleTemps, writeFileAtomic } from "../io/atomic.ts";
import { checkRunFolder, openRunFolder, RUN_FILES, RunFolderError } from "../io/run_folder.ts";
import { acquireRunLock, LOCK_FILE, RunLockedError } from "../io/run_lock.ts";
import { hostname } from "node:os";
import { CHECKPOINT_FILE, CheckpointError, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { presets } from "../dsl/presets.ts";
import { checkpointEncoder } from "../eval/checkpoint_encoder.ts";
import { rand } from "./util/check.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "io-test-"));
const f32 = (n: number, seed: number) => Float32Array.from(rand(n, seed, -3, 3));

/** A safetensors file built by hand from the format definition (header unpadded, any key order). */
function handMade(header: unknown, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const b = new Uint8Array(8 + h.length + data.length);
  new DataView(b.buffer).setUint32(0, h.length, true);
  b.set(h, 8);
  b.set(data, 8 + h.length);
  return b;
}
const le = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

function throwsMsg(f: () => unknown, cls: typeof SafetensorsError | typeof CheckpointError, ...parts: string[]) {
  assert.throws(f, (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.name}: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message "${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("safetensors: byte layout matches the format definition", () => {
  const tensors: Tensors = {
    b: { shape: [2], data: Float32Array.of(1, -2) },
    a: { shape: [], data: Float32Array.of(0.5) },
  };
  const buf = encodeSafetensors(tensors, { note: "hi" });
  const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "data section is 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  assert.deepEqual(header, {
    __metadata__: { note: "hi" },
    a: { dtype: "F32", shape: [], data_offsets: [0, 4] },
    b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
  });
  // 0.5 = 00 00 00 3f, 1 = 00 00 80 3f, -2 = 00 00 00 c0 (little-endian IEEE 754).
  assert.deepEqual([...buf.subarray(8 + n)], [0, 0, 0, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
});

Deno.test("safetensors: round trip of odd shapes; reads a hand-made file with unpadded header", () => {
  const t: Tensors = {
    "enc.w": { shape: [7, 13, 5], data: f32(455, 1) },
    "enc.b": { shape: [13], data: f32(13, 2) },
    empty: { shape: [0, 3], data: new Float32Array(0) },
    scalar: { shape: [], data: Float32Array.of(Math.PI) },
  };
  const path = join(tmp(), "x.safetensors");
  writeSafetensors(path, t, { a: "1", b: '{"json":true}' });
  const r = readSafetensors(path);
  assert.deepEqual(r.metadata, { a: "1", b: '{"json":true}' });
  for (const k of Object.keys(t)) {
    assert.deepEqual(r.tensors[k].shape, t[k].shape);
    assert.deepEqual(r.tensors[k].data, t[k].data);
  }
  // Out-of-order header keys, no __metadata__, a 1-byte-odd header length (unaligned data).
  const file = handMade({
    y: { dtype: "F32", shape: [1, 2], data_offsets: [4, 12] },
    x: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
  }, le([7, 8, 9]));
  const d = decodeSafetensors(file);
  assert.deepEqual([...d.tensors.x.data, ...d.tensors.y.data], [7, 8, 9]);
  assert.deepEqual(d.tensors.y.shape, [1, 2]);
  assert.deepEqual(d.metadata, {});
});

Deno.test("safetensors: corrupt files give messages naming the file and the problem", () => {
  const good = encodeSafetensors({ w: { shape: [3, 2], data: f32(6, 3) } });
  const F = "ck.safetensors";
  const dec = (b: Uint8Array) => () => decodeSafetensors(b, F);
  throwsMsg(dec(good.subarray(0, 5)), SafetensorsError, F, "truncated: 5 bytes, less than the 8-byte header length");
  throwsMsg(dec(good.subarray(0, 20)), SafetensorsError, "truncated or not safetensors: header length");
  throwsMsg(
    dec(good.subarray(0, good.length - 4)),
    SafetensorsError,
    'tensor "w": data_offsets [0,24] out of range (data section has 20 bytes; file truncated?)',
  );
  const notJson = good.slice();
  notJson[8] = 0x7b + 1; // '{' → '|'
  throwsMsg(dec(notJson), SafetensorsError, "header is not JSON");
  throwsMsg(dec(handMade([1, 2], new Uint8Array(0))), SafetensorsError, "header is not a JSON object");
  throwsMsg(
    dec(handMade({ w: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4))),
    SafetensorsError,
    'tensor "w": dtype "F16" is not supported (only F32)',
  );
  throwsMsg(
    dec(handMade({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))),
    SafetensorsError,
    "span 8 bytes but shape [3] needs 12",
  );
  throwsMsg(
    dec(handMade({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, new Uint8Array(8))),
    SafetensorsError,
    "shape [-1] is not a list of non-negative integers",
  );
  throwsMsg(
    dec(handMade({ w: { dtype: "F32", shape: [1], data_offsets: [4] } }, new Uint8Array(8))),
    SafetensorsError,
    "data_offsets [4] is not [begin, end]",
  );
  const two = (o1: number[], o2: number[], len: number) =>
    handMade(
      { a: { dtype: "F32", shape: [1], data_offsets: o1 }, b: { dtype: "F32", shape: [1], data_offsets: o2 } },
      new Uint8Array(len),
    );
  throwsMsg(dec(two([0, 4], [2, 6], 8)), SafetensorsError, 'tensor "b": data_offsets start at 2, expected 4 (overlap)');
  throwsMsg(dec(two([0, 4], [8, 12], 12)), SafetensorsError, "start at 8, expected 4 (gap)");
  throwsMsg(dec(two([0, 4], [4, 8], 10)), SafetensorsError, "2 bytes after the last tensor");
  throwsMsg(
    dec(handMade({ __metadata__: { k: 3 } }, new Uint8Array(0))),
    SafetensorsError,
    '__metadata__ "k" is not a string',
  );
  throwsMsg(
    () => readSafetensors(join(tmp(), "none.safetensors")),
    SafetensorsError,
    "none.safetensors: file not found",
  );
  throwsMsg(
    () => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
    SafetensorsError,
    'tensor "w": shape [2,2] has 4 elements but data has 3',
  );
});

Deno.test("atomic write: replaces the file, leaves no temp files, cleans up on failure", () => {
  const d = tmp();
  const p = join(d, "sub", "f.bin");
  writeFileAtomic(p, "first");
  writeFileAtomic(p, [Uint8Array.of(1, 2), Uint8Array.of(3)]);
  assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  assert.deepEqual(readdirSync(join(d, "sub")), ["f.bin"]);
  // Writing "into" a regular file as if it were a folder fails cleanly.
  assert.throws(() => writeFileAtomic(join(p, "x"), "y"), /cannot write .*f\.bin\/x: /);
  assert.deepEqual(readdirSync(join(d, "sub")), ["f.bin"]);
  // A 40 MB write goes through writeSync's partial-write loop intact.
  const big = new Uint8Array(40 << 20).map((_, i) => i * 31);
  writeFileAtomic(p, big);
  assert.equal(readFileSync(p).length, big.length);
  assert.equal(readFileSync(p)[12345678], big[12345678]);
});

const spec = { method: "barlow", projector: { layers: [{ dim: 2048 }, { dim: 2048 }] }, lambda: 0.0051 };
const state = (): Tensors => ({
  "param/enc.w0": { shape: [7, 13], data: f32(91, 4) },
  "param/enc.b0": { shape: [13], data: f32(13, 5) },
  "opt/m/enc.w0": { shape: [7, 13], data: f32(91, 6) },
  "ema/enc.w0": { shape: [7, 13], data: f32(91, 7) },
});

Deno.test("checkpoint: round trip with spec, hash, step, epoch, extra metadata; overwrite", () => {
  const d = join(tmp(), "run1");
  const path = saveCheckpoint(d, {
    tensors: state(),
    spec,
    specHash: "abc123",
    step: 1234,
    epoch: 3,
    meta: { rng_seed: "42", adapter: "llvmpipe" },
  });
  assert.equal(path, join(d, CHECKPOINT_FILE));
  const ck = loadCheckpoint(d, { specHash: "abc123", shapes: { "param/enc.w0": [7, 13], "ema/enc.w0": [7, 13] } });
  assert.deepEqual(ck.spec, spec);
  assert.deepEqual([ck.specHash, ck.step, ck.epoch], ["abc123", 1234, 3]);
  assert.deepEqual(ck.meta, { rng_seed: "42", adapter: "llvmpipe" });
  for (const [k, v] of Object.entries(state())) assert.deepEqual(ck.tensors[k].data, v.data, k);
  // Overwriting keeps exactly one file; the file path form loads too.
  saveCheckpoint(d, { tensors: state(), spec, specHash: "abc123", step: 1300, epoch: 4 });
  assert.deepEqual(readdirSync(d), [CHECKPOINT_FILE]);
  assert.equal(loadCheckpoint(path).step, 1300);
});

Deno.test("checkpoint: validation errors", () => {
  const d = tmp();
  const path = saveCheckpoint(d, { tensors: state(), spec, specHash: "abc", step: 5, epoch: 0 });
  throwsMsg(
    () => loadCheckpoint(d, { specHash: "def" }),
    CheckpointError,
    path,
    "written for spec hash abc, but the current spec hashes to def",
  );
  throwsMsg(
    () => loadCheckpoint(d, { shapes: { "param/enc.w0": [7, 13], "param/enc.w1": [13, 3], "x": [1] } }),
    CheckpointError,
    'missing tensors "param/enc.w1", "x"',
  );
  throwsMsg(
    () => loadCheckpoint(d, { shapes: { "param/enc.w0": [13, 7] } }),
    CheckpointError,
    'tensor "param/enc.w0" has shape [7,13], expected [13,7]',
  );
  throwsMsg(
    () => loadCheckpoint(d, { shapes: { "param/enc.w0": [7, 13] }, strict: true }),
    CheckpointError,
    'unexpected tensors "ema/enc.w0", "opt/m/enc.w0", "param/enc.b0"',
  );
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 100));
  throwsMsg(() => loadCheckpoint(d), SafetensorsError, path, "out of range", "file truncated?");
  writeFileSync(path, encodeSafetensors(state(), { format: "something-else" }));
  throwsMsg(() => loadCheckpoint(d), CheckpointError, 'not a checkpoint (metadata format is "something-else"');
  throwsMsg(() => loadCheckpoint(join(d, "missing")), SafetensorsError, "checkpoint.safetensors: file not found");
  throwsMsg(
    () => saveCheckpoint(d, { tensors: state(), spec, specHash: "h", step: 1, epoch: 0, meta: { step: "2" } }),
    CheckpointError,
    "meta keys step are reserved",
  );
  throwsMsg(
    () => saveCheckpoint(d, { tensors: state(), spec, specHash: "h", step: -1, epoch: 0 }),
    CheckpointError,
    "must be non-negative integers",
  );
  throwsMsg(
    () =>
      saveCheckpoint(d, {
        tensors: { w: { shape: [3], data: new Float32Array(2) } },
        spec,
        specHash: "h",
        step: 1,
        epoch: 0,
      }),
    CheckpointError,
    "has 3 elements but data has 2",
  );
});

// A missing Bun is a counted, named skip (Deno reports it as "ignored"), never a silent pass.
const bun = join(Deno.cwd(), "node_modules/.bin/bun");
const haveBun = existsSync(bun);
Deno.test({
  name: `checkpoint written under Deno loads under Bun (node:fs only)${haveBun ? "" : ` (SKIPPED: no ${bun})`}`,
  ignore: !haveBun,
}, async () => {
  const d = tmp();
  saveCheckpoint(d, { tensors: state(), spec, specHash: "abc", step: 9, epoch: 1 });
  const script = `import { loadCheckpoint, saveCheckpoint } from "${join(Deno.cwd(), "io/checkpoint.ts")}";
    const c = loadCheckpoint(${JSON.stringify(d)}, { specHash: "abc", shapes: { "param/enc.w0": [7, 13] } });
    saveCheckpoint(${JSON.stringify(d)}, { ...c, step: c.step + 1 });
    console.log(c.step, c.tensors["param/enc.w0"].data[90]);`;
  const out = await new Deno.Command(bun, { args: ["-e", script], stdout: "piped", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), `9 ${state()["param/enc.w0"].data[90]}`);
  const back = loadCheckpoint(d);
  assert.equal(back.step, 10);
  assert.deepEqual(back.tensors["opt/m/enc.w0"].data, state()["opt/m/enc.w0"].data);
});

Deno.test("checkpoint: a failed write names the checkpoint file and the reason, once", () => {
  const d = tmp();
  writeFileSync(join(d, "run"), "a file where the run folder should be");
  throwsMsg(
    () => saveCheckpoint(join(d, "run"), { tensors: state(), spec, specHash: "h", step: 1, epoch: 0 }),
    CheckpointError,
    `cannot save the checkpoint ${join(d, "run", CHECKPOINT_FILE)}: `,
    "EEXIST",
  );
  assert.throws(
    () => saveCheckpoint(join(d, "run"), { tensors: state(), spec, specHash: "h", step: 1, epoch: 0 }),
    (e: Error) => e.message.split(CHECKPOINT_FILE).length === 2, // the path appears once
  );
});

Deno.test("cleanStaleTemps: removes the temp files of killed writers, keeps live ones and everything else", async () => {
  const d = tmp();
  // a process that has exited: its pid names a writer that is gone
  const child = new Deno.Command("true").spawn();
  const dead = child.pid;
  await child.status;
  const temp = (pid: number) => `.${CHECKPOINT_FILE}.${pid}.k3x9q2ab.tmp`;
  saveCheckpoint(d, { tensors: state(), spec, specHash: "h", step: 3, epoch: 0 });
  for (const f of [temp(dead), temp(Deno.pid), temp(1), ".notes.tmp", "x.tmp", "metrics.jsonl"]) {
    writeFileSync(join(d, f), "partial");
  }
  // pid 1 is alive, but its temp is an hour old: a reused pid, not a writer at work
  const old = new Date(Date.now() - 3600_000);
  utimesSync(join(d, temp(1)), old, old);
  const removed = cleanStaleTemps(d).map((p) => p.slice(d.length + 1)).sort();
  assert.deepEqual(removed, [temp(dead), temp(1)].sort());
  assert.deepEqual(
    readdirSync(d).sort(),
    [temp(Deno.pid), ".notes.tmp", CHECKPOINT_FILE, "metrics.jsonl", "x.tmp"].sort(),
  );
  assert.equal(loadCheckpoint(d).step, 3);
  assert.deepEqual(cleanStaleTemps(join(d, "missing")), []);
});

Deno.test("checkRunFolder: creates a fresh folder; refuses an earlier run unless --resume or --overwrite", () => {
  const d = tmp();
  const out = join(d, "runs", "barlow");
  assert.deepEqual(checkRunFolder(out), { existing: [] });
  assert.ok(statSync(out).isDirectory());
  assert.deepEqual(readdirSync(out), [], "the write test leaves nothing behind");
  writeFileSync(join(out, "metrics.jsonl"), '{"step":0}\n');
  writeFileSync(join(out, CHECKPOINT_FILE), "x");
  writeFileSync(join(out, "notes.txt"), "mine");
  assert.throws(() => checkRunFolder(out), (e: unknown) => {
    assert.ok(e instanceof RunFolderError);
    assert.equal(e.exitCode, 2);
    for (const part of [out, "already holds a run", `--resume ${out}`, "--out", "--overwrite", "metrics.jsonl"]) {
      assert.ok(e.message.includes(part), `"${part}" not in: ${e.message}`);
    }
    return true;
  });
  assert.deepEqual(checkRunFolder(out, { resume: true }).existing, [CHECKPOINT_FILE, "metrics.jsonl"]);
  assert.ok(existsSync(join(out, "metrics.jsonl")), "resume keeps the run");
  assert.deepEqual(checkRunFolder(out, { overwrite: true }).existing, [CHECKPOINT_FILE, "metrics.jsonl"]);
  assert.deepEqual(readdirSync(out), ["notes.txt"], "overwrite removes the run files only");
  assert.deepEqual(checkRunFolder(out), { existing: [] });
  assert.throws(
    () => checkRunFolder(out, { resume: true, overwrite: true }),
    /--resume and --overwrite exclude each other/,
  );
  for (const f of RUN_FILES) {
    writeFileSync(join(out, f), "");
    assert.throws(() => checkRunFolder(out), RunFolderError, f);
    checkRunFolder(out, { overwrite: true });
  }
});

Deno.test("checkRunFolder: a folder that cannot be created or written is named with the reason", () => {
  const d = tmp();
  writeFileSync(join(d, "file"), "");
  assert.throws(
    () => checkRunFolder(join(d, "file", "run")),
    (e: unknown) =>
      e instanceof RunFolderError &&
      e.message.startsWith(`cannot create the run folder ${join(d, "file", "run")}: `) &&
      /ENOTDIR|EEXIST/.test(e.message) && e.message.includes("--out"),
  );
  symlinkSync(join(d, "nowhere", "deep"), join(d, "dangling"));
  assert.throws(
    () => checkRunFolder(join(d, "dangling", "run")),
    (e: unknown) =>
      e instanceof RunFolderError && e.message.includes(join(d, "dangling", "run")) && /\(E[A-Z]+\)/.test(e.message),
  );
  // /proc/1 exists and lists, but nobody may create files in it, root included
  if (existsSync("/proc/1")) {
    assert.throws(
      () => checkRunFolder("/proc/1"),
      (e: unknown) => e instanceof RunFolderError && e.message.startsWith("cannot write in the run folder /proc/1: "),
    );
  }
  mkdirSync(join(d, "ok"));
  checkRunFolder(join(d, "ok"));
});

Deno.test("checkRunFolder: the write test follows no link planted in the folder", () => {
  const d = tmp();
  const victim = join(d, "victim.txt");
  writeFileSync(victim, "keep me");
  const out = join(d, "run");
  mkdirSync(out);
  // the probe name of earlier versions (pid only): a link there must not be written through
  symlinkSync(victim, join(out, `.write-test.${Deno.pid}.tmp`));
  checkRunFolder(out);
  assert.equal(readFileSync(victim, "utf8"), "keep me");
  assert.deepEqual(readdirSync(out), [`.write-test.${Deno.pid}.tmp`], "the probe leaves nothing of its own");
});

Deno.test("a checkpoint's data location is not followed by the tools that read its encoder: --data says where", () => {
  const d = join(tmp(), "located");
  const located = presets.barlowTwins({ data: "cifar10:/somewhere/else" });
  saveCheckpoint(d, { tensors: state(), spec: located, specHash: "h", step: 1, epoch: 0 });
  const ck = checkpointEncoder(d);
  assert.throws(
    () => ck.dataName(),
    (e: Error) =>
      e instanceof CheckpointError && /cifar10:\/somewhere\/else/.test(e.message) && /--data/.test(e.message),
  );
  assert.equal(ck.dataName("cifar10:/mine"), "cifar10:/mine");
  // a kind alone is followed
  const byKind = join(tmp(), "kind");
  saveCheckpoint(byKind, {
    tensors: state(),
    spec: presets.barlowTwins({ data: "synthetic" }),
    specHash: "h",
    step: 1,
    epoch: 0,
  });
  assert.equal(checkpointEncoder(byKind).dataName(), "synthetic");
});

Deno.test("checkpoint: a tensor holding NaN or Infinity is refused on load, naming the tensor and the file", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const d = tmp();
    const tensors = state();
    tensors["opt/m/enc.w0"].data[17] = bad;
    const path = saveCheckpoint(d, { tensors, spec, specHash: "abc", step: 5, epoch: 0 });
    throwsMsg(() => loadCheckpoint(d), CheckpointError, path, `tensor "opt/m/enc.w0" holds ${bad} at index 17`);
  }
});

Deno.test("run lock: a second run is refused naming the holder; released, the folder is free again", async () => {
  const d = tmp();
  const lock = acquireRunLock(d);
  const text = readFileSync(join(d, LOCK_FILE), "utf8");
  assert.deepEqual(JSON.parse(text), { pid: Deno.pid, host: hostname(), started: lock.holder.started });
  assert.throws(() => acquireRunLock(d), (e: unknown) => {
    assert.ok(e instanceof RunLockedError, String(e));
    assert.equal(e.exitCode, 2);
    for (const part of [d, `pid ${Deno.pid} on ${hostname()}`, `started ${lock.holder.started}`, "--out"]) {
      assert.ok(e.message.includes(part), `"${part}" not in: ${e.message}`);
    }
    return true;
  });
  lock.release();
  assert.deepEqual(readdirSync(d), [], "release removes the lock and leaves no temp file");
  acquireRunLock(d).release();
  // another live process on this host holds it
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    writeFileSync(
      join(d, LOCK_FILE),
      JSON.stringify({ pid: other.pid, host: hostname(), started: "2026-01-01T00:00:00.000Z" }),
    );
    assert.throws(() => acquireRunLock(d), (e: unknown) => e instanceof RunLockedError && e.holder.pid === other.pid);
  } finally {
    other.kill();
    await other.status;
  }
  // a lock of another host cannot be checked: refused, saying which file to delete
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, host: "elsewhere", started: "2026-01-01T00:00:00.000Z" }));
  assert.throws(
    () => acquireRunLock(d),
    (e: unknown) => e instanceof RunLockedError && e.message.includes(`delete ${join(d, LOCK_FILE)}`),
  );
});

Deno.test("run lock: the lock of a process that is gone is taken over, and the run says so", async () => {
  const d = tmp();
  const child = new Deno.Command("true").spawn();
  await child.status;
  const stale = { pid: child.pid, host: hostname(), started: "2026-01-01T00:00:00.000Z" };
  writeFileSync(join(d, LOCK_FILE), JSON.stringify(stale));
  const said: string[] = [];
  const lock = acquireRunLock(d, (s) => said.push(s));
  assert.equal(lock.holder.pid, Deno.pid);
  assert.equal(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8")).pid, Deno.pid);
  assert.equal(said.length, 1);
  assert.match(
    said[0],
    new RegExp(
      `took over the lock of pid ${child.pid} \\(started 2026-01-01T00:00:00.000Z\\), which is no longer running`,
    ),
  );
  lock.release();
  assert.deepEqual(readdirSync(d), []);
});

Deno.test("openRunFolder: a run refused before it writes leaves no folder behind; one that wrote keeps it", () => {
  const d = tmp();
  const out = join(d, "runs", "mine");
  const f = openRunFolder(out);
  assert.deepEqual(readdirSync(out), [LOCK_FILE]);
  // a second run into the same folder is refused, and does not remove the folder it did not create
  assert.throws(() => openRunFolder(out), RunLockedError);
  assert.ok(existsSync(out));
  f.close();
  assert.ok(!existsSync(join(d, "runs")), "the folders made for the run are gone");
  const g = openRunFolder(out);
  writeFileSync(join(out, "metrics.jsonl"), '{"step":0}\n');
  g.close();
  assert.deepEqual(readdirSync(out), ["metrics.jsonl"], "the lock is gone, the run's file stays");
  // a folder that held a run before is never removed, even when the new run is refused
  assert.throws(() => openRunFolder(out), RunFolderError);
  assert.deepEqual(readdirSync(out), ["metrics.jsonl"]);
});

// deno-lint-ignore-file no-explicit-any -- the invalid-spec tests edit specs past their types on purpose
// The pipeline-spec language: builders → JSON → load round trips, hashes, the error paths and
// messages of invalid specs, and the shared command-line flags.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  add,
  aug,
  barlowTwins,
  branch,
  concat,
  crop,
  div,
  eye,
  featureSimMSE,
  logsumexp,
  matmul,
  mean,
  mlp,
  mul,
  normalize,
  ntXent,
  pipeline,
  resnet18,
  seq,
  sgd,
  square,
  standardize,
  stopGrad,
  sub,
  sum,
  transpose,
  views,
  weighted,
} from "../dsl/builders.ts";
import { FLAG_NAMES, FlagError, helpText, parseFlags } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import { canonicalJSON, loadSpec, parseSpecJSON, saveSpec, specHash } from "../dsl/io.ts";
import { checkExpr, lossRefs } from "../step/loss_check.ts";
import { presets } from "../dsl/presets.ts";
import { emaSets, expandPath, lossNodes, trainedModules } from "../dsl/resolve.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { validateSpec } from "../step/validate.ts";
import { DataError } from "../data/dataset.ts";
import { loadDatasetSync } from "../data/load.ts";
import { DATA_NAME_FORMS } from "../data/names.ts";
import { formatChanges, resumeChanges, ResumeError } from "../dsl/resume.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "dsl-test-"));

/** A deep copy of `spec` edited by `edit` (edits may break the types on purpose). */
function mutate(spec: PipelineSpec, edit: (s: any) => void): unknown {
  const s = structuredClone(spec);
  edit(s);
  return s;
}

/** Asserts that validating `input` throws a SpecError whose first issue is at `path` and says `fragment`. */
function expectIssue(input: unknown, path: string, fragment: string | RegExp) {
  let err: unknown;
  try {
    validateSpec(input);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SpecError, `expected a SpecError at ${path}, got ${err}`);
  assert.equal(err.path, path, `path of: ${err.message}`);
  if (typeof fragment === "string") {
    assert.ok(err.issues[0].message.includes(fragment), `'${fragment}' not in: ${err.issues[0].message}`);
  } else assert.match(err.issues[0].message, fragment);
  const line = path ? `${path}: ${err.issues[0].message}` : err.issues[0].message;
  assert.ok(err.message.includes(line), `message names the path: ${err.message}`);
}

const bt = () => presets.barlowTwins();
const byol = () => presets.byol();
const moco = () => presets.mocoV2();

// ------------------------------------------------------------------------ round trips

Deno.test("every preset validates and round-trips through a JSON file with the same hash", () => {
  const dir = tmp();
  for (const [name, make] of Object.entries(presets)) {
    const spec = make();
    const file = join(dir, `${name}.json`);
    saveSpec(file, spec);
    const back = loadSpec(file);
    assert.deepEqual(back, spec, name);
    assert.equal(specHash(back), specHash(spec), name);
    assert.match(specHash(spec), /^[0-9a-f]{64}$/);
    assert.equal(JSON.parse(Deno.readTextFileSync(file)).version, 1);
  }
  const hashes = new Set(Object.values(presets).map((f) => specHash(f())));
  assert.equal(hashes.size, Object.keys(presets).length, "distinct presets hash differently");
});

Deno.test("a spec built by hand with builders round-trips, and its hash is SHA-256 of sorted-key JSON", async () => {
  const spec = pipeline({
    name: "hybrid",
    data: "fashion-mnist",
    views: views(aug({ crop: crop(24, [0.2, 1]), flip: 0.5 })),
    modules: {
      encoder: mlp([64, 32]),
      projector: mlp([48, 16], { bias: false }),
      backbone: seq("encoder", "projector"),
    },
    branches: [branch("z1", "v1", ["backbone"]), branch("z2", "v2", ["encoder", "projector"])],
    loss: weighted([1, barlowTwins("z1", "z2", "mean")], [0.5, ntXent("z1", "z2", 0.2)]),
    optimizer: sgd({ lr: 0.05 }),
    batch: 32,
    epochs: 3,
  });
  const text = JSON.stringify(spec);
  const back = parseSpecJSON(text);
  assert.deepEqual(back, spec);
  // canonical form: keys sorted at every level, independent of insertion order
  const c = canonicalJSON(spec);
  assert.equal(c, canonicalJSON(JSON.parse(text)));
  assert.ok(
    c.startsWith('{"batch":32,"branches":[{"name":"z1","path":["backbone"],"stopGrad":false,"view":"v1"}'),
    c.slice(0, 90),
  );
  // the hash is the hex SHA-256 of that text, checked against WebCrypto (an independent implementation)
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(c)));
  assert.equal(specHash(spec), [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  // one changed number changes the hash
  assert.notEqual(specHash(mutate(spec, (s) => (s.loss.args[1].args[0] = 0.25))), specHash(spec));
  assert.deepEqual(spec.loss, {
    op: "add",
    args: [{ op: "barlowTwins", a: "z1", b: "z2", lambda: "mean" }, {
      op: "mul",
      args: [0.5, { op: "ntXent", a: "z1", b: "z2", temperature: 0.2 }],
    }],
  });
});

Deno.test("defaults are filled in: a minimal JSON file hashes like the full spec", () => {
  const full = bt();
  const minimal = mutate(full, (s) => {
    delete s.queues;
    delete s.eval;
    for (const m of Object.values<any>(s.modules)) {
      if (m.bn === true) delete m.bn;
      if (m.relu === true) delete m.relu;
      if (m.lastBnAffine === true) delete m.lastBnAffine;
    }
    delete s.optimizer.excludeBiasAndNorm;
    delete s.optimizer.fixedLr;
    for (const b of s.branches) delete b.stopGrad;
  });
  assert.ok(canonicalJSON(minimal).length < canonicalJSON(full).length - 100);
  assert.deepEqual(validateSpec(minimal), full);
  assert.equal(specHash(minimal), specHash(full));
});

Deno.test("canonicalJSON refuses numbers JSON cannot hold", () => {
  assert.throws(() => canonicalJSON({ a: [1, NaN] }), /a\[1\] is NaN/);
  assert.equal(
    canonicalJSON({ b: 1, a: { d: undefined, c: [2, { z: 1, y: 0 }] } }),
    '{"a":{"c":[2,{"y":0,"z":1}]},"b":1}',
  );
});

Deno.test("presets follow docs/recipes.md: λ-free BT, BYOL EMA set, MoCo queue, SimSiam stopGrad + fixed predictor lr", () => {
  assert.deepEqual(lossNodes(presets.barlowMean().loss)[0], { op: "barlowTwins", a: "z1", b: "z2", lambda: "mean" });
  assert.equal(presets.barlowMean().method, "barlowMean");
  assert.equal(lossNodes(bt().loss)[0].op, "barlowTwins");

  const b = byol();
  assert.deepEqual(emaSets(b), [{
    of: "p1",
    modules: ["encoder", "projector"],
    tau: { base: 0.99, final: 1, schedule: "cosine" },
    branches: ["t1", "t2"],
  }]);
  assert.deepEqual([...trainedModules(b, ["p1", "p2", "t1", "t2"])].sort(), ["encoder", "predictor", "projector"]);
  assert.deepEqual(lossRefs(b).get("p1"), { kind: "branch", shape: [256, 256], trainable: true });
  assert.deepEqual(lossRefs(b).get("t2"), { kind: "branch", shape: [256, 256], trainable: false });

  const m = moco();
  assert.equal(m.queues[0].size % m.batch, 0);
  assert.deepEqual(lossRefs(m).get("keys"), { kind: "queue", shape: [4096, 128], trainable: false });
  assert.equal(presets.mocoV2({ batch: 100 }).queues[0].size, 4100, "queue rounded to a multiple of the batch");

  const s = presets.simsiam();
  assert.ok(s.branches.filter((x) => x.name.startsWith("t")).every((x) => x.stopGrad && !x.ema));
  assert.deepEqual(s.optimizer.fixedLr, ["predictor"]);
  const proj = s.modules.projector;
  assert.ok(proj.kind === "mlp" && proj.lastBn && !proj.lastBnAffine);
  // preset parameters reach the spec
  const small = presets.byol({ proj: [64, 32], batch: 64, epochs: 5, lr: 0.5, trainLimit: 1000 });
  assert.deepEqual(small.modules.predictor, { ...b.modules.predictor, in: 32, widths: [2048, 32] });
  assert.equal(small.optimizer.lr, 0.5);
  assert.equal(small.schedule.warmupEpochs, 0.5);
});

Deno.test("expandPath expands seq modules; user-defined losses from primitives get static shapes", () => {
  const spec = bt();
  const mods = { ...spec.modules, backbone: seq("encoder", "projector"), all: seq("backbone") };
  assert.deepEqual(expandPath(mods, ["all"]), ["encoder", "projector"]);
  assert.equal(expandPath(mods, ["nope"]), undefined);

  // Barlow Twins written from primitives: C = standardize(z1)ᵀ standardize(z2) / N
  const C = div(matmul(standardize("z1"), standardize("z2"), { ta: true }), 256);
  const offDiag = mul(C, sub(1, eye(2048)));
  const btPrim = add(sum(square(sub(mul(C, eye(2048)), eye(2048)))), mul(0.0051, sum(square(offDiag))));
  const refs = lossRefs(spec);
  const issues: never[] = [];
  assert.deepEqual(checkExpr(C, refs, "loss", issues), { shape: [2048, 2048], trainable: true });
  assert.deepEqual(checkExpr(btPrim, refs, "loss", issues), { shape: [], trainable: true });
  assert.deepEqual(checkExpr(mean("z1", 0), refs, "loss", issues), { shape: [1, 2048], trainable: true });
  assert.deepEqual(checkExpr(logsumexp(matmul("z1", "z2", { tb: true }), 1), refs, "loss", issues), {
    shape: [256, 1],
    trainable: true,
  });
  assert.deepEqual(checkExpr(concat(["z1", "z2"], 0), refs, "loss", issues), { shape: [512, 2048], trainable: true });
  assert.deepEqual(checkExpr(stopGrad("z1"), refs, "loss", issues), { shape: [256, 2048], trainable: false });
  assert.deepEqual(issues, []);
  // the essay's variant and a hybrid validate as whole specs
  validateSpec(mutate(spec, (s) => (s.loss = add(btPrim, featureSimMSE("z1", "z2")))));
  validateSpec(
    mutate(
      spec,
      (s) => (s.loss = mean(square(sub(matmul(normalize("z1", 0), normalize("z2", 0), { ta: true }), eye(2048))))),
    ),
  );
});

Deno.test("builders reject bad arguments with a path rooted at the builder", () => {
  assert.throws(
    () => mlp([1024, -3]),
    (e: unknown) =>
      e instanceof SpecError && e.path === "mlp.widths[1]" && e.message.includes("expected a positive integer, got -3"),
  );
  assert.throws(
    () => crop(28, [0.9, 0.1]),
    (e: unknown) => e instanceof SpecError && e.path === "crop.scale" && e.message.includes("min ≤ max"),
  );
  assert.throws(() => ntXent("z1", "z2", 0), (e: unknown) => e instanceof SpecError && e.path === "loss.temperature");
  const b = branch("t", "v1", ["encoder"]);
  assert.deepEqual(stopGrad(b), { ...b, stopGrad: true });
  assert.deepEqual(stopGrad("z1"), { op: "stopGrad", args: ["z1"] });
});

// --------------------------------------------------------------------- invalid specs

Deno.test("schema errors name the path and what was expected", () => {
  expectIssue(
    mutate(bt(), (s) => (s.modules.projector.widths[1] = -3)),
    "modules.projector.widths[1]",
    "expected a positive integer, got -3",
  );
  expectIssue(mutate(bt(), (s) => (s.bathc = 12)), "bathc", "unknown field 'bathc'");
  expectIssue(mutate(bt(), (s) => delete s.epochs), "epochs", "required field is missing");
  expectIssue(mutate(bt(), (s) => (s.batch = 1)), "batch", "expected an integer ≥ 2");
  expectIssue(mutate(bt(), (s) => (s.batch = "abc")), "batch", "got 'abc'");
  expectIssue(
    mutate(bt(), (s) => (s.version = 2)),
    "version",
    "unsupported spec version 2; this build reads version 1",
  );
  expectIssue(mutate(bt(), (s) => (s.loss.op = "barlow")), "loss.op", "unknown op 'barlow'");
  expectIssue(mutate(bt(), (s) => (s.loss.lambda = -1)), "loss.lambda", "expected a number ≥ 0, got -1");
  expectIssue(
    mutate(bt(), (s) => (s.modules.encoder.kind = "transformer")),
    "modules.encoder.kind",
    "unknown kind 'transformer'; expected one of mlp, cnn, resnet18, seq",
  );
  expectIssue(mutate(bt(), (s) => (s.views[1].aug.crop.scale = [0.9, 0.1])), "views[1].aug.crop.scale", "min ≤ max");
  expectIssue(
    mutate(bt(), (s) => (s.views[0].aug.flip = 1.5)),
    "views[0].aug.flip",
    "expected a probability in [0, 1], got 1.5",
  );
  expectIssue(mutate(bt(), (s) => (s.branches[0].name = "1st")), "branches[0].name", "expected a name");
  expectIssue(mutate(bt(), (s) => (s.optimizer.kind = "adam")), "optimizer.kind", "unknown kind 'adam'");
  expectIssue(
    mutate(bt(), (s) => (s.loss = { op: "mean", args: ["z1", "z2"] })),
    "loss.args[1]",
    "too many items: expected args: [x]",
  );
  expectIssue(
    mutate(bt(), (s) => (s.loss = { op: "sub", args: ["z1"] })),
    "loss.args[1]",
    "expected a number, a branch or queue name, or a loss node {op, …}, got nothing",
  );
  expectIssue([bt()], "", "expected a pipeline spec object {version, name, …}, got an array of 1");
  expectIssue(
    mutate(bt(), (s) => (s.loss = true)),
    "loss",
    "expected a number, a branch or queue name, or a loss node",
  );
});

Deno.test("semantic errors: references", () => {
  expectIssue(
    mutate(byol(), (s) => (s.branches[2].ema.of = "onlin")),
    "branches[2].ema.of",
    "unknown branch 'onlin' (branches: p1, p2, t1, t2)",
  );
  expectIssue(
    mutate(bt(), (s) => (s.branches[1].view = "v3")),
    "branches[1].view",
    "unknown view 'v3' (views: v1, v2)",
  );
  expectIssue(
    mutate(bt(), (s) => (s.branches[1].path[1] = "projektor")),
    "branches[1].path[1]",
    "unknown module 'projektor'",
  );
  expectIssue(
    mutate(bt(), (s) => (s.loss.b = "z3")),
    "loss.b",
    "unknown branch or queue 'z3' (branches: z1, z2; queues: none)",
  );
  expectIssue(mutate(moco(), (s) => (s.queues[0].of = "k3")), "queues[0].of", "unknown branch 'k3'");
  expectIssue(
    mutate(bt(), (s) => (s.branches[1].name = "z1")),
    "branches[1].name",
    "duplicate name 'z1' (also branches[0].name)",
  );
  expectIssue(
    mutate(presets.simsiam(), (s) => (s.optimizer.fixedLr = ["predicter"])),
    "optimizer.fixedLr[0]",
    "unknown module 'predicter'",
  );
});

Deno.test("semantic errors: EMA", () => {
  expectIssue(mutate(byol(), (s) => (s.branches[2].ema.of = "t1")), "branches[2].ema.of", "cannot be an EMA of itself");
  expectIssue(
    mutate(byol(), (s) => (s.branches[3].ema.of = "t1")),
    "branches[3].ema.of",
    "'t1' is itself an ema branch",
  );
  const onlineShort = mutate(byol(), (s) => {
    s.branches[0].path = ["encoder", "projector"];
    s.branches[2].path = ["encoder", "projector", "predictor"];
  });
  expectIssue(
    onlineShort,
    "branches[2].path",
    "'predictor' is not in the path of branch 'p1' (encoder → projector), so it has no EMA copy",
  );
  expectIssue(
    mutate(byol(), (s) => (s.branches[3].ema.tau.base = 0.9)),
    "branches[3].ema.tau",
    "differs from branches[2].ema.tau",
  );
});

Deno.test("semantic errors: module graph and widths", () => {
  const cyc = mutate(bt(), (s) => {
    s.modules.a = { kind: "seq", path: ["b"] };
    s.modules.b = { kind: "seq", path: ["encoder", "a"] };
  });
  expectIssue(cyc, "modules.a.path[0]", "module cycle: a → b → a");
  expectIssue(
    mutate(bt(), (s) => (s.branches[0].path = ["encoder", "projector", "encoder"])),
    "branches[0].path",
    "module 'encoder' appears twice",
  );
  expectIssue(
    mutate(byol(), (s) => (s.modules.predictor.in = 128)),
    "modules.predictor.in",
    "'predictor' expects input width 128 but 'projector' outputs 256",
  );
  expectIssue(
    mutate(bt(), (s) => (s.modules.encoder.in = 3072)),
    "modules.encoder.in",
    "view 'v1' gives 1×28×28 = 784 values",
  );
  expectIssue(
    mutate(bt(), (s) => (s.modules.head = { kind: "cnn", channels: [8] }, s.branches[0].path = ["encoder", "head"])),
    "branches[0].path",
    "'head' (cnn) takes images, so it must come first",
  );
  expectIssue(
    mutate(bt(), (s) => (s.views[1].aug.crop.size = 24)),
    "branches[1].view",
    "'encoder' (mlp) flattens its input, but view 'v2' is 24×24",
  );
  // a data set named with its folder is still a known kind: its channels are checked
  expectIssue(
    mutate(bt(), (s) => (s.data.name = "cifar10:/data/cifar-10", s.modules.encoder.in = 784)),
    "modules.encoder.in",
    "view 'v1' gives 3×28×28 = 2352 values",
  );
  expectIssue(
    mutate(bt(), (s) => (s.data.name = "mnist:/data/mnist", s.modules.encoder.in = 2352)),
    "modules.encoder.in",
    "view 'v1' gives 1×28×28 = 784 values",
  );
  // the ImageNet stem divides the side by 4: refused below 64 px, accepted from 64 px
  expectIssue(
    mutate(bt(), (s) => (s.modules.encoder = resnet18({ width: 8, stem: "imagenet" }))),
    "modules.encoder.stem",
    "the 'imagenet' stem divides the side by 4 and needs views of at least 64 px, but view 'v1' is 28×28",
  );
  validateSpec(presets.barlowTwins({ imageSize: 64, encoder: resnet18({ width: 8, stem: "imagenet" }) }));
});

Deno.test("semantic errors: loss", () => {
  // Barlow Twins on two branches of different widths
  const uneven = mutate(bt(), (s) => {
    s.modules.small = mlp([64]);
    s.branches[1].path = ["encoder", "small"];
  });
  expectIssue(uneven, "loss", "barlowTwins: needs [N, D] embeddings of one shape, got [256, 2048] and [256, 64]");
  expectIssue(
    mutate(bt(), (s) => s.branches.forEach((b: any) => (b.stopGrad = true))),
    "loss",
    "the loss reaches no trainable parameter",
  );
  expectIssue(
    mutate(bt(), (s) => (s.loss = barlowTwins(stopGrad("z1"), stopGrad("z2")))),
    "loss",
    "reaches no trainable parameter",
  );
  expectIssue(
    mutate(bt(), (s) => (s.loss = mul(2, stopGrad(barlowTwins("z1", "z2"))))),
    "loss",
    "reaches no trainable parameter",
  );
  // the shape-only lowering names the innermost failing node, however deep
  expectIssue(
    mutate(bt(), (s) => (s.loss = add(mul(0.5, barlowTwins("z1", "z9")), 1))),
    "loss.args[0].args[1].b",
    "unknown branch or queue 'z9'",
  );
  expectIssue(mutate(bt(), (s) => (s.loss = "z1")), "loss", "the loss must be a scalar, got shape [256, 2048]");
  expectIssue(
    mutate(bt(), (s) => (s.loss = sum(matmul("z1", "z2")))),
    "loss.args[0]",
    "matmul: contraction sizes differ: a [256, 2048] has K=2048, b [256, 2048] has K=256",
  );
  expectIssue(
    mutate(bt(), (s) => (s.loss = sum(add("z1", mean("z2", 1), eye(3))))),
    "loss.args[0]",
    "add: cannot broadcast [256, 2048] with [3, 3]",
  );
  expectIssue(
    mutate(moco(), (s) => (s.loss.args[0].args[1].negatives = transpose("keys"))),
    "loss.args[0].args[1]",
    "infoNCE: queue must be [K, 128] to match q [256, 128], got [128, 4096]",
  );
  expectIssue(
    mutate(moco(), (s) => (s.loss.args[1].args[1].negatives = eye(5))),
    "loss.args[1].args[1]",
    "got [5, 5]",
  );
});

Deno.test("semantic errors: queue, schedule, data limits; several problems are all reported", () => {
  expectIssue(
    mutate(moco(), (s) => (s.queues[0].size = 4000)),
    "queues[0].size",
    "4000 is not a multiple of the batch 256: each step enqueues a whole batch (e.g. use 4096)",
  );
  expectIssue(
    mutate(bt(), (s) => {
      s.epochs = 20;
      s.schedule.warmupEpochs = 30;
    }),
    "schedule.warmupEpochs",
    "warmup of 30 epochs is longer than the run (20 epochs)",
  );
  expectIssue(
    mutate(bt(), (s) => (s.data.trainLimit = 100)),
    "eval.knnK",
    "200 neighbours but only 100 training images (data.trainLimit); raise --train-limit to at least 200, or set eval.knnK",
  );
  try {
    validateSpec(
      mutate(bt(), (s) => (s.branches[1].view = "v9", s.loss.b = "zz", s.batch = 100, s.modules.projector.widths = [])),
    );
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof SpecError);
    // schema problems stop before the semantic checks: the empty widths are reported alone
    assert.deepEqual(e.issues.map((i) => i.path), ["modules.projector.widths"]);
  }
  try {
    validateSpec(mutate(bt(), (s) => (s.branches[1].view = "v9", s.loss.b = "zz")));
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof SpecError);
    assert.deepEqual(e.issues.map((i) => i.path), ["branches[1].view", "loss.b"]);
    assert.match(e.message, /^2 problems in the spec:\n {2}branches\[1\]\.view: unknown view 'v9'/);
  }
});

Deno.test("loading: errors name the file", () => {
  const dir = tmp();
  const missing = join(dir, "nope.json");
  assert.throws(
    () => loadSpec(missing),
    (e: unknown) =>
      e instanceof SpecError && e.file === missing && e.message.startsWith(`${missing}: cannot read the spec file`),
  );
  const broken = join(dir, "broken.json");
  writeFileSync(broken, '{"version": 1,');
  assert.throws(
    () => loadSpec(broken),
    (e: unknown) => e instanceof SpecError && e.message.startsWith(`${broken}: not valid JSON`),
  );
  const invalid = join(dir, "invalid.json");
  writeFileSync(invalid, JSON.stringify(mutate(bt(), (s) => (s.branches[1].view = "v3"))));
  assert.throws(
    () => loadSpec(invalid),
    (e: unknown) =>
      e instanceof SpecError && e.path === "branches[1].view" &&
      e.message.startsWith(`${invalid}: branches[1].view: unknown view 'v3'`),
  );
});

// ------------------------------------------------------------------------------- CLI

const flagError = (args: string[], flag: string, fragment: string, preset = bt()) =>
  assert.throws(() => parseFlags(args, preset), (e: unknown) => {
    assert.ok(e instanceof FlagError, `expected a FlagError, got ${e}`);
    assert.equal(e.flag, flag);
    assert.ok(e.message.startsWith(`${flag}: `) && e.message.includes(fragment), e.message);
    return true;
  });

Deno.test("flags override preset fields", () => {
  const r = parseFlags(
    [
      "--batch",
      "128",
      "--epochs=3",
      "--steps",
      "50",
      "--lr",
      "0.1",
      "--seed",
      "7",
      "--proj",
      "512,64",
      "--lambda",
      "mean",
      "--data",
      "mnist",
      "--train-limit",
      "5000",
      "--warmup",
      "0.5",
      "--wd",
      "0",
      "--encoder",
      "mlp:256,128",
      "--out",
      "runs/x",
      "--resume",
      "ck.bin",
    ],
    bt(),
  );
  const s = r.spec;
  assert.deepEqual([s.batch, s.epochs, s.steps, s.optimizer.lr, s.seed, s.data.name, s.data.trainLimit], [
    128,
    3,
    50,
    0.1,
    7,
    "mnist",
    5000,
  ]);
  assert.deepEqual([s.schedule.warmupEpochs, s.optimizer.weightDecay], [0.5, 0]);
  assert.deepEqual(s.modules.projector.kind === "mlp" && s.modules.projector.widths, [512, 64]);
  assert.deepEqual(s.modules.encoder, { ...bt().modules.encoder, widths: [256, 128] });
  assert.equal((s.loss as { lambda: unknown }).lambda, "mean");
  assert.deepEqual([r.out, r.resume, r.help], ["runs/x", "ck.bin", false]);
  // the preset itself is untouched, and no flags means the preset as is
  assert.equal(bt().batch, 256);
  const plain = parseFlags([], bt());
  assert.deepEqual(plain, { spec: bt(), out: "runs/barlow", overwrite: false, printStep: false, help: false });
});

Deno.test("flags: --proj keeps the predictor on the embedding width; --pred, --tau, --queue, --temp, --encoder kinds", () => {
  const b = parseFlags(["--proj", "512,128"], byol()).spec;
  assert.ok(b.modules.predictor.kind === "mlp");
  assert.deepEqual([b.modules.predictor.in, b.modules.predictor.widths], [128, [2048, 128]]);
  const p = parseFlags(["--proj", "512,128", "--pred", "64,128", "--tau", "0.996"], byol()).spec;
  assert.ok(p.modules.predictor.kind === "mlp");
  assert.deepEqual([p.modules.predictor.in, p.modules.predictor.widths], [128, [64, 128]]);
  assert.ok(p.branches.filter((x) => x.ema).every((x) => x.ema!.tau.base === 0.996));
  const m = parseFlags(["--queue", "1024", "--temp", "0.1"], moco()).spec;
  assert.equal(m.queues[0].size, 1024);
  assert.ok(
    lossNodes(m.loss).filter((n) => n.op === "infoNCE").every((n) => n.op === "infoNCE" && n.temperature === 0.1),
  );
  assert.deepEqual(parseFlags(["--encoder", "cnn:16,32"], bt()).spec.modules.encoder, {
    kind: "cnn",
    channels: [16, 32],
    kernel: 3,
    bn: true,
    pool: true,
  });
  assert.deepEqual(parseFlags(["--encoder", "resnet18:32"], bt()).spec.modules.encoder, {
    kind: "resnet18",
    width: 32,
    stem: "cifar",
  });
});

Deno.test("--crop-scale sets the crop area range of every view and nothing else", () => {
  const before = bt();
  const after = parseFlags(["--crop-scale", "0.3,0.9"], before).spec;
  for (const [i, v] of after.views.entries()) {
    assert.deepEqual(v.aug.crop!.scale, [0.3, 0.9]);
    assert.deepEqual(
      { ...v.aug, crop: { ...v.aug.crop!, scale: before.views[i].aug.crop!.scale } },
      before.views[i].aug,
    );
  }
  assert.match(helpText(bt()), /--crop-scale MIN,MAX .*\(default: 0\.08,1 \/ 0\.08,1\)/);
});

Deno.test("--spec replaces the preset and other flags still apply", () => {
  const dir = tmp();
  const file = join(dir, "s.json");
  saveSpec(file, presets.vicreg({ batch: 64 }));
  const r = parseFlags(["--spec", file, "--epochs", "2", "--warmup", "0"], bt());
  assert.equal(r.spec.method, "vicreg");
  assert.equal(r.spec.batch, 64);
  assert.equal(r.spec.epochs, 2);
  assert.equal(r.out, "runs/vicreg");
  assert.throws(
    () => parseFlags(["--spec", join(dir, "missing.json")], bt()),
    (e: unknown) => e instanceof SpecError && e.message.includes("missing.json: cannot read"),
  );
});

Deno.test("flag errors name the flag", () => {
  flagError(["--batch", "abc"], "--batch", "expected an integer ≥ 2, got 'abc'");
  flagError(["--batch", "1"], "--batch", "expected an integer ≥ 2, got '1'");
  flagError(["--epochs", "2.5"], "--epochs", "expected a positive integer, got '2.5'");
  flagError(["--lr", "-1"], "--lr", "expected a number > 0, got '-1'");
  flagError(
    ["--proj", "512,,64"],
    "--proj",
    "expected comma-separated positive integers like 2048,2048, got '512,,64'",
  );
  flagError(["--bacth", "12"], "--bacth", "unknown flag; did you mean --batch?");
  flagError(["--frobnicate"], "--frobnicate", "unknown flag (see --help)");
  flagError(["--seed"], "--seed", "expected a value (N)");
  flagError(["--seed", "--batch", "3"], "--seed", "expected a value");
  flagError(["--seed", "1", "--seed", "2"], "--seed", "given more than once");
  flagError(["256"], "256", "unexpected argument");
  flagError(["--help=yes"], "--help", "takes no value");
  flagError(["--lambda", "0.1"], "--lambda", "the loss has no barlowTwins term", moco());
  flagError(["--lambda", "x"], "--lambda", "expected a number ≥ 0 or 'mean', got 'x'");
  flagError(["--tau", "0.9"], "--tau", "the spec has no ema branch");
  flagError(["--queue", "512"], "--queue", "the spec has no queue");
  flagError(["--pred", "64,64"], "--pred", "the spec has no module named 'predictor'");
  for (const bad of ["0,1", "0.5", "0.8,0.2", "a,1", "0.2,1.5", "0.2,"]) {
    flagError(
      ["--crop-scale", bad],
      "--crop-scale",
      `expected two area fractions MIN,MAX with 0 < MIN ≤ MAX ≤ 1, like 0.25,1, got '${bad}'`,
    );
  }
  flagError(["--encoder", "vit"], "--encoder", "expected mlp[:widths], cnn[:channels] or resnet18[:width], got 'vit'");
  flagError(["--precision", "f16"], "--precision", "expected f32 or f16-mixed, got 'f16'");
  assert.equal(parseFlags(["--precision", "f16-mixed"], bt()).spec.precision, "f16-mixed");
  // a flag value that the spec then rejects: a SpecError at the spec path, naming the flags
  assert.throws(
    () => parseFlags(["--batch", "100"], moco()),
    (e: unknown) =>
      e instanceof SpecError && e.path === "queues[0].size" && e.message.includes("(after applying --batch)"),
  );
});

Deno.test("--help lists every flag with the preset's value as default", () => {
  const preset = presets.byol({ batch: 96, epochs: 7 });
  const r = parseFlags(["--batch", "x", "--help"], preset);
  assert.equal(r.help, true);
  const text = helpText(preset, "pipelines/byol.ts");
  for (const f of FLAG_NAMES) assert.match(text, new RegExp(`^  --${f}\\b`, "m"), f);
  assert.match(text, /--batch N .*\(default: 96\)/);
  assert.match(text, /--epochs N .*\(default: 7\)/);
  assert.match(text, /--proj .*\(default: 2048,256\)/);
  assert.match(text, /--tau .*\(default: 0\.99\)/);
  assert.match(text, /--lambda .*\(default: n\/a\)/);
  assert.match(text, /--out DIR .*\(default: runs\/byol\)/);
  assert.ok(text.startsWith("usage: pipelines/byol.ts [flags]"));
  assert.match(parseFlags(["-h"], bt()).help ? helpText(bt()) : "", /--lambda X\|mean .*\(default: 0\.0051\)/);
});

Deno.test("--help lists only --data forms that load, and says --resume takes a run folder", () => {
  const text = helpText(bt());
  const line = text.split("\n").find((l) => l.startsWith("  --data "))!;
  const forms: string[] = line.replace(/^.*dataset: /, "").replace(/ \(default.*$/, "").split(", ");
  assert.deepEqual(forms.slice(), [...DATA_NAME_FORMS]);
  assert.ok(!forms.includes("mnist") && !forms.includes("cifar10"), "bare mnist / cifar10 need a folder");
  const dir = tmp();
  for (const f of forms) {
    const name = f.replace("<dir>", dir).replace("<folder>", dir);
    try {
      loadDatasetSync(name, { trainLimit: 8, testLimit: 8 });
    } catch (e) {
      // a listed form is recognised: it fails only because this empty folder holds no data
      assert.ok(e instanceof DataError, `${f}: ${e}`);
      assert.doesNotMatch((e as Error).message, /unknown dataset|needs a folder/, f);
    }
  }
  assert.match(text, /--resume RUN\|FILE +continue a run from its folder \(e\.g\. runs\/barlow\) or a checkpoint file/);
  assert.match(text, /--overwrite +start afresh/);
  assert.match(text, /--print-step +print the compiled training step/);
});

Deno.test("--overwrite and --print-step are parsed; --overwrite with --resume is refused", () => {
  const r = parseFlags(["--overwrite", "--print-step", "--out", "runs/x"], bt());
  assert.deepEqual([r.overwrite, r.printStep, r.out, r.resume], [true, true, "runs/x", undefined]);
  assert.deepEqual([parseFlags(["--resume", "runs/barlow"], bt()).resume], ["runs/barlow"]);
  assert.throws(
    () => parseFlags(["--overwrite", "--resume", "runs/barlow"], bt()),
    (e: unknown) =>
      e instanceof FlagError && e.flag === "--overwrite" && /cannot be combined with --resume/.test(e.message),
  );
});

Deno.test("untrusted specs: the run name is one path segment; a spec file names no data location", () => {
  for (const name of ["../../x", "a/b", ".hidden", "-x", "a\\b", "", "x".repeat(65)]) {
    expectIssue(mutate(bt(), (s) => (s.name = name)), "name", "expected a run name");
  }
  for (const name of ["barlow", "moco-v2", "lambda-free-D128-0.0051-lars", "_x"]) {
    validateSpec(mutate(bt(), (s) => (s.name = name)));
  }
  // the same data names are fine from code or flags, refused from a file
  const dir = tmp();
  for (
    const [data, said] of [
      ["cifar10:/etc", "'cifar10:/etc' names a folder"],
      ["/etc", "'/etc' is not a data-set kind"],
      ["../secrets", "'../secrets' is not a data-set kind"],
      ["my-images", "'my-images' is not a data-set kind"],
    ]
  ) {
    const spec = mutate(bt(), (s) => (s.data.name = data)) as PipelineSpec;
    validateSpec(spec);
    const file = join(dir, "spec.json");
    writeFileSync(file, JSON.stringify(spec));
    assert.throws(
      () => loadSpec(file),
      (e: unknown) =>
        e instanceof SpecError && e.path === "data.name" && e.message.includes(said) &&
        e.message.includes("--data") && e.message.startsWith(file),
    );
  }
  for (const kind of ["fashion-mnist", "synthetic", "cifar10", "mnist"]) {
    const file = join(dir, `${kind}.json`);
    writeFileSync(file, JSON.stringify(mutate(bt(), (s) => (s.data.name = kind))));
    assert.equal(loadSpec(file).data.name, kind);
  }
  // the location comes from the command line
  const file = join(dir, "cifar10.json");
  assert.equal(parseFlags(["--spec", file, "--data", "cifar10:/data/c10"], bt()).spec.data.name, "cifar10:/data/c10");
});

Deno.test("resumeChanges: lr, schedule length and eval settings may change on resume; the rest is refused by field", () => {
  const saved = JSON.parse(JSON.stringify(bt())); // as a checkpoint stores it
  assert.deepEqual(resumeChanges(saved, bt()), []);
  const longer = parseFlags(["--lr", "0.1", "--epochs", "4", "--steps", "900", "--warmup", "0.5"], bt()).spec;
  const evalEdit = mutate(
    longer,
    (s) => ((s.eval.knnK = 20), (s.eval.every = 1), (s.optimizer.biasLr = 0.001)),
  ) as PipelineSpec;
  const changes = resumeChanges(saved, evalEdit);
  assert.deepEqual(changes.map((c) => c.path).sort(), [
    "epochs",
    "eval.every",
    "eval.knnK",
    "optimizer.biasLr",
    "optimizer.lr",
    "schedule.warmupEpochs",
    "steps",
  ]);
  assert.match(formatChanges(changes), /^optimizer\.lr: 0\.2 → 0\.1$/m);
  assert.match(formatChanges(changes), /^steps: none → 900$/m);
  // refused: every differing field is named with its old and new value
  const other = mutate(bt(), (s) => {
    s.optimizer.lr = 0.3; // allowed, but not enough
    s.modules.projector.widths = [2048, 1024];
    s.loss.lambda = "mean";
    s.seed = 7;
    s.views[1].aug.solarize = 0.5;
  }) as PipelineSpec;
  assert.throws(() => resumeChanges(saved, other), (e: unknown) => {
    assert.ok(e instanceof ResumeError);
    assert.equal(e.exitCode, 2);
    assert.deepEqual(e.refused.map((c) => `${c.path}: ${c.from} → ${c.to}`), [
      "views[1].aug.solarize: 0.2 → 0.5",
      "modules.projector.widths[1]: 2048 → 1024",
      "loss.lambda: 0.0051 → 'mean'",
      "seed: 0 → 7",
    ]);
    for (const line of e.refused.map((c) => `  ${c.path}: ${c.from} → ${c.to}`)) {
      assert.ok(e.message.includes(line), line);
    }
    assert.match(e.message, /in 4 fields that would change the run/);
    assert.match(
      e.message,
      /only these may change: optimizer\.lr, optimizer\.biasLr, epochs, steps, schedule\.warmupEpochs, eval\.\*/,
    );
    assert.ok(!e.message.includes("optimizer.lr: "), "allowed changes are not listed as refused");
    return true;
  });
  const deeper = mutate(bt(), (s) => (s.modules.projector.widths = [2048, 2048, 2048])) as PipelineSpec;
  assert.throws(() => resumeChanges(saved, deeper), /modules\.projector\.widths: \[2048,2048\] → \[2048,2048,2048\]/);
  assert.throws(
    () => resumeChanges({ version: 99 }, bt(), "runs/x/checkpoint.safetensors"),
    (e: unknown) =>
      e instanceof ResumeError && e.message.startsWith("runs/x/checkpoint.safetensors: its spec is not valid"),
  );
});

// The graph and program printers: every live node and every step gets its line, and the
// fusion they show is the compiler's (a chain feeding a reduction is computed in its loop,
// an elementwise chain in one kernel), with the buffers each dispatch reads and writes.
import assert from "node:assert/strict";
import { grad } from "../ir/autodiff.ts";
import { compile, fusionPlanOf } from "../compiler/compile.ts";
import { printGraph, printProgram } from "../compiler/print.ts";
import { Graph } from "../ir/graph.ts";

function smallStep() {
  const g = new Graph();
  const x = g.input("x", [7, 5]);
  const w = g.param("w", [5, 3], { kind: "normal", std: 0.1 });
  g.scope = "encoder";
  const h = x.matmul(w);
  const y = h.relu();
  g.scope = "loss";
  const shifted = y.mul(2).add(1);
  const sq = shifted.square();
  const loss = sq.mean();
  g.scope = undefined;
  g.output("loss", loss);
  // read back too, so that its kernel stays (else the planner recomputes it in its two readers)
  g.output("shifted", shifted);
  const [dw] = grad(g, loss, [w]);
  const step = w.sub(dw!.mul(g.scalar("lr")));
  g.assign(w, step);
  return { g, h, y, shifted, sq, loss, step };
}

Deno.test("printGraph: one line per live node with op, inputs, shape, attrs, where it is computed and its label", () => {
  const { g, h, y, shifted, sq, loss, step } = smallStep();
  const text = printGraph(g);
  const lines = text.split("\n");
  const { live, plan } = fusionPlanOf(g);
  assert.match(
    lines[0],
    new RegExp(
      `^graph: ${live.size} live nodes of ${g.nodes.length}; 1 inputs, 1 params, 0 state; 2 outputs, 1 updates$`,
    ),
  );
  const nodeLines = lines.filter((l) => /^ {2}%\d+ = /.test(l));
  assert.deepEqual(nodeLines.map((l) => Number(/%(\d+)/.exec(l)![1])), [...live].sort((a, b) => a - b));
  const line = (id: number) => nodeLines.find((l) => l.startsWith(`  %${id} = `))!;
  assert.match(line(0), /^ {2}%0 = input 'x' \[7, 5\]$/);
  assert.match(line(h.id), new RegExp(`^  %${h.id} = matmul\\(%0, %1\\) \\[7, 3\\] +@ encoder$`));
  // relu and the mul fold into the add's kernel; square into the mean's loop
  assert.match(line(y.id), new RegExp(`⊂ k%${shifted.id} +@ encoder$`));
  assert.match(line(sq.id), new RegExp(`⊂ k%${loss.id} +@ loss$`));
  assert.match(
    line(loss.id),
    new RegExp(`= mean\\(%${sq.id}\\) \\[\\] \\{axes=\\[0,1\\]\\} +reduces %${sq.id} in its loop +@ loss$`),
  );
  assert.equal(plan.root.get(y.id), shifted.id);
  assert.match(text, /= const 2 \[\] +inline/);
  assert.match(text, new RegExp(`= scalar 'lr' \\[\\] +inline`));
  assert.ok(lines.includes(`  out 'loss' = %${loss.id}`));
  assert.ok(lines.includes(`  update 'w' ← %${step.id}`));
  assert.ok(!/⊂|inline|reduces/.test(printGraph(g, { fusion: false })));
});

Deno.test("printProgram: storages, then one line per dispatch with its kernel's nodes and buffers", () => {
  const { g, y, shifted, sq, loss } = smallStep();
  const p = compile(g);
  const text = printProgram(p, g);
  const lines = text.split("\n");
  assert.match(lines[0], new RegExp(`^program: ${p.stats.dispatches} dispatches from ${p.stats.nodes} nodes`));
  const stepLines = lines.filter((l) => /^ {2}#\d+ /.test(l));
  assert.equal(stepLines.length, p.steps.length);
  for (const s of p.storages) {
    assert.ok(lines.some((l) => l.startsWith(`  s${s.id} ${s.kind === "slot" ? "slot" : s.kind}`)), `s${s.id}`);
  }
  assert.ok(lines.includes("  s0 input 'x' [7, 5] 144 B"));
  // the add's kernel computes relu and mul too; the mean's kernel computes the square
  const addStep = p.steps.findIndex((s) => s.kind === "dispatch" && s.node === shifted.id);
  const meanStep = p.steps.findIndex((s) => s.kind === "dispatch" && s.node === loss.id);
  assert.match(
    stepLines[addStep],
    new RegExp(`\\(%${shifted.id} add \\[7, 3\\]; fuses %${y.id} relu, %${y.id + 2} mul\\)$`),
  );
  assert.match(stepLines[meanStep], new RegExp(`\\(%${loss.id} mean \\[\\]; fuses %${sq.id} square\\)$`));
  // buffers: the mean reads what the add wrote
  const s = p.steps[addStep];
  assert.ok(s.kind === "dispatch");
  const wrote = s.storages[s.pass.bindings.findIndex((b) => b.write)];
  assert.match(stepLines[meanStep], new RegExp(`← s${wrote}\\b`));
  // the last step updates w in place (its own storage)
  assert.match(stepLines[stepLines.length - 1], new RegExp(`→ s${p.persistent.get("w")} `));
  // without the graph: the same steps, no node lists
  const bare = printProgram(p).split("\n").filter((l) => /^ {2}#\d+ /.test(l));
  assert.equal(bare.length, p.steps.length);
  assert.ok(bare.every((l) => !l.includes("fuses")));
});

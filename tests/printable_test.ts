// deno-lint-ignore-file no-explicit-any -- specs edited past their types on purpose
// Strings from a spec reach the terminal, error messages and report headings only through
// printable(): an escape sequence or a CR/LF in a spec's method cannot rewrite the terminal or
// forge a line.
import assert from "node:assert/strict";
import { helpText } from "../dsl/cli.ts";
import { SpecError } from "../dsl/error.ts";
import { presets } from "../dsl/presets.ts";
import { validateSpec } from "../step/validate.ts";
import { linePlot } from "../report/plot.ts";
import { printable } from "../report/printable.ts";
import { formatSummary, formatTable } from "../report/summary.ts";

const EVIL = "bt\x1b[2J\x1b]0;owned\x07\r\nerror: fake line\x9b31m\u202eevil\u2028";
/** any control character but the line feeds a multi-line text is made of */
// deno-lint-ignore no-control-regex -- the test looks for control characters
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

Deno.test("printable escapes every control character and keeps other text", () => {
  assert.equal(printable(EVIL), "bt\\x1b[2J\\x1b]0;owned\\x07\\r\\nerror: fake line\\x9b31m\\u202eevil\\u2028");
  assert.equal(printable("λ-free Barlow Twins, 3×3 ‘ok’"), "λ-free Barlow Twins, 3×3 ‘ok’");
  assert.equal(printable("\x00\x7f\t"), "\\x00\\x7f\\t");
});

Deno.test("the terminal summary and tables escape a spec's method", () => {
  const s = formatSummary(`${EVIL} on synthetic: 2 steps`, [["method", EVIL], ["loss", 1.5]]);
  const lines = s.split("\n");
  assert.equal(lines.length, 3, s);
  assert.ok(lines[0].startsWith("bt\\x1b[2J"), lines[0]);
  assert.doesNotMatch(s, CONTROL);
  const t = formatTable(["method", "top-1"], [[EVIL, 0.5]]);
  assert.equal(t.split("\n").length, 3);
  assert.doesNotMatch(t, CONTROL);
});

Deno.test("a plot title from a spec's method gives well-formed SVG without control characters", () => {
  const svg = linePlot({ title: `${EVIL} loss`, series: [{ name: "loss", x: [0, 1], y: [2, 1] }] });
  assert.doesNotMatch(svg, CONTROL);
  assert.match(svg, /bt\\x1b\[2J/);
});

Deno.test("spec errors and --help show spec strings escaped", () => {
  const spec = structuredClone(presets.barlowTwins()) as any;
  let err: unknown;
  try {
    validateSpec({ ...spec, name: EVIL, views: [{ ...spec.views[0], name: EVIL }, spec.views[1]] });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SpecError);
  assert.doesNotMatch(err.message.replaceAll("\n  ", " "), CONTROL);
  assert.match(err.message, /bt\\x1b\[2J/);
  const evil = validateSpec({ ...spec, method: EVIL });
  const help = helpText(evil, "pipelines/barlow.ts");
  assert.match(help, /method bt\\x1b\[2J\\x1b\]0;owned\\x07\\r\\nerror: fake line/);
  assert.doesNotMatch(help, CONTROL);
});

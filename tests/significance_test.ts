// The t-tests behind "larger than the spread of seeds" (eval/metrics/significance.ts): Student's
// t tail against its closed forms for 1–4 degrees of freedom and the normal limit, the
// incomplete beta against its closed forms at non-integer parameters, Welch's and the paired test
// against hand-worked examples, and the exact cases (no spread).
import { holmAdjust, pairedTest, regularizedBeta, studentTwoSidedP, welchTest } from "../eval/metrics/mod.ts";
import { assertThrows } from "./util/assert.ts";

function close(got: number, want: number, tol: number, what: string) {
  if (!(Math.abs(got - want) <= tol)) throw new Error(`${what}: got ${got}, want ${want} (±${tol})`);
}

// two-sided tail P(|T| ≥ t) in closed form for small integer df
const CLOSED: Record<number, (t: number) => number> = {
  1: (t) => 1 - (2 / Math.PI) * Math.atan(t),
  2: (t) => 1 - t / Math.sqrt(2 + t * t),
  3: (t) => 1 - (2 / Math.PI) * (Math.atan(t / Math.sqrt(3)) + (t / Math.sqrt(3)) / (1 + t * t / 3)),
  4: (t) => 1 - t * (6 + t * t) / (4 + t * t) ** 1.5,
};

Deno.test("studentTwoSidedP: the closed forms for df = 1…4, both signs of t", () => {
  for (const [df, f] of Object.entries(CLOSED)) {
    for (const t of [0, 0.1, 0.5, 1, 2, 3.18, 4.3, 10, 100]) {
      close(studentTwoSidedP(t, +df), f(t), 1e-12, `df ${df} t ${t}`);
      close(studentTwoSidedP(-t, +df), f(t), 1e-12, `df ${df} t −${t}`);
    }
  }
});

Deno.test("studentTwoSidedP: the normal limit and the textbook critical values", () => {
  // 2·(1 − Φ(1.959963984540054)) = 0.05; df = 1e7 is the normal to ~1e-7
  close(studentTwoSidedP(1.959963984540054, 1e7), 0.05, 1e-6, "normal limit");
  // t_{0.975, df} from the tables: 12.706 (1), 4.303 (2), 2.776 (4), 2.228 (10)
  for (const [df, t] of [[1, 12.7062], [2, 4.30265], [4, 2.77645], [10, 2.22814]]) {
    close(studentTwoSidedP(t, df), 0.05, 2e-5, `critical value df ${df}`);
  }
  close(studentTwoSidedP(Infinity, 3), 0, 0, "t = ∞");
});

Deno.test("regularizedBeta: closed forms at non-integer parameters, and its symmetry", () => {
  for (const x of [0, 1e-6, 0.1, 0.37, 0.5, 0.8, 0.999, 1]) {
    close(regularizedBeta(x, 2.7, 1), x ** 2.7, 1e-13, `I_${x}(2.7, 1)`);
    close(regularizedBeta(x, 1, 3.3), 1 - (1 - x) ** 3.3, 1e-13, `I_${x}(1, 3.3)`);
    close(regularizedBeta(x, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(x)), 1e-13, `I_${x}(½, ½)`);
    close(regularizedBeta(x, 1.7, 2.35) + regularizedBeta(1 - x, 2.35, 1.7), 1, 1e-13, `symmetry at ${x}`);
  }
});

Deno.test("welchTest: equal sizes and variances reduce to Student's test, df = 2n − 2", () => {
  // means 2 and 5, variances 1: se = √(2/3), t = 3/√(2/3), df = 4
  const r = welchTest([1, 2, 3], [4, 5, 6]);
  close(r.diff, 3, 1e-15, "diff");
  close(r.t, 3 / Math.sqrt(2 / 3), 1e-12, "t");
  close(r.df, 4, 1e-12, "df");
  close(r.p, CLOSED[4](r.t), 1e-12, "p");
});

Deno.test("welchTest: unequal variances, the Welch–Satterthwaite df by hand", () => {
  // a: mean 2, var 1, n 3 → qa = 1/3; b: mean 10, var 16 (values 6, 10, 14), n 3 → qb = 16/3
  const r = welchTest([1, 2, 3], [6, 10, 14]);
  const qa = 1 / 3, qb = 16 / 3, se = Math.sqrt(qa + qb);
  close(r.se, se, 1e-14, "se");
  close(r.t, 8 / se, 1e-12, "t");
  close(r.df, (qa + qb) ** 2 / (qa * qa / 2 + qb * qb / 2), 1e-12, "df");
  // the df is not an integer here (≈ 2.23): p lies between the df = 2 and df = 3 tails
  if (!(r.p < CLOSED[2](r.t) && r.p > CLOSED[3](r.t))) throw new Error(`p ${r.p} not between the df 2 and 3 tails`);
});

Deno.test("pairedTest: the differences' one-sample test, df = n − 1", () => {
  // differences 1, 2, 3: mean 2, sd 1, se 1/√3, t = 2√3, df 2
  const r = pairedTest([10, 20, 30], [11, 22, 33]);
  close(r.t, 2 * Math.sqrt(3), 1e-12, "t");
  close(r.df, 2, 0, "df");
  close(r.p, CLOSED[2](r.t), 1e-12, "p");
  // a shift shared by every pair is exact: no spread, p = 0
  const exact = pairedTest([1, 5, 9], [1.5, 5.5, 9.5]);
  if (exact.p !== 0 || exact.t !== Infinity) throw new Error(`exact shift: ${JSON.stringify(exact)}`);
});

Deno.test("t-tests: no spread on either side is decided by the difference alone", () => {
  const same = welchTest([0.7885, 0.7885], [0.7885, 0.7885, 0.7885]);
  if (same.p !== 1 || !Number.isNaN(same.t)) throw new Error(`equal constants: ${JSON.stringify(same)}`);
  const apart = welchTest([1, 1, 1], [0.5, 0.5, 0.5]);
  if (apart.p !== 0 || apart.t !== -Infinity) throw new Error(`distinct constants: ${JSON.stringify(apart)}`);
});

Deno.test("holmAdjust: the step-down products, made monotone, in input order", () => {
  // sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → monotone 0.02, 0.03, 0.06, 0.06
  const got = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((want, i) => close(got[i], want, 1e-15, `p ${i}`));
  // capped at 1; one test is its own family
  const capped = holmAdjust([0.5, 0.6]);
  if (capped[0] !== 1 || capped[1] !== 1) throw new Error(`capped: ${capped}`);
  close(holmAdjust([0.3])[0], 0.3, 0, "one test");
  assertThrows(() => holmAdjust([0.1, NaN]), "holmAdjust: ps[1] is NaN, not a probability");
});

Deno.test("t-tests: bad input names the argument", () => {
  assertThrows(() => welchTest([1], [1, 2]), "welchTest: a has 1 value(s); a spread needs at least 2 seeds");
  assertThrows(() => welchTest([1, 2], [1, NaN]), "welchTest: b[1] is NaN");
  assertThrows(() => pairedTest([1, 2, 3], [1, 2]), "pairedTest: a has 3 entries but b has 2");
  assertThrows(() => studentTwoSidedP(1, 0), "df must be a positive number");
  assertThrows(() => studentTwoSidedP(NaN, 2), "t is NaN");
});

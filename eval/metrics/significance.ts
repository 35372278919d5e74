// Is a difference between two configurations larger than the spread of their seeds? With three
// seeds per configuration a difference of means has to be several standard errors wide before it
// says anything, so the comparison is a t-test, not "the means differ": Welch's test for two
// configurations run on their own seeds (unequal variances, Welch–Satterthwaite degrees of
// freedom), and the paired test for two figures of the SAME runs (a trained encoder and its own
// random initialisation share the seed, so their per-seed differences are what varies). Many
// comparisons at once (every pair of seven methods) make some small p-values by chance: Holm's
// adjustment says which survive for the family as a whole.
// Everything in float64 on the host; the t distribution's tail through the regularised
// incomplete beta function (Lentz's continued fraction), checked against its closed forms.
import { finite, sameLength } from "./check.ts";
import { meanStd } from "./summary.ts";

export interface TTest {
  /** mean(b) − mean(a) */
  diff: number;
  /** standard error of the difference */
  se: number;
  /** diff / se (±Infinity when se = 0 and diff ≠ 0; NaN when both are 0) */
  t: number;
  /** degrees of freedom */
  df: number;
  /** two-sided p-value (0 when the difference is exact and non-zero; 1 when there is none) */
  p: number;
}

function atLeastTwo(fn: string, name: string, v: ArrayLike<number>) {
  if (v.length < 2) throw new Error(`${fn}: ${name} has ${v.length} value(s); a spread needs at least 2 seeds`);
  finite(fn, name, v);
}

/** The test's verdict from t and df; an exact (zero-variance) comparison is decided by diff alone. */
function verdict(diff: number, se: number, df: number): TTest {
  if (se === 0) return { diff, se, t: diff === 0 ? NaN : Math.sign(diff) * Infinity, df, p: diff === 0 ? 1 : 0 };
  const t = diff / se;
  return { diff, se, t, df, p: studentTwoSidedP(t, df) };
}

/** Welch's unequal-variance t-test of mean(b) − mean(a), two independent sets of seeds. */
export function welchTest(a: ArrayLike<number>, b: ArrayLike<number>): TTest {
  const fn = "welchTest";
  atLeastTwo(fn, "a", a);
  atLeastTwo(fn, "b", b);
  const sa = meanStd(a), sb = meanStd(b);
  const qa = sa.std ** 2 / a.length, qb = sb.std ** 2 / b.length;
  const se = Math.sqrt(qa + qb);
  const df = se === 0
    ? a.length + b.length - 2
    : (qa + qb) ** 2 / (qa ** 2 / (a.length - 1) + qb ** 2 / (b.length - 1));
  return verdict(sb.mean - sa.mean, se, df);
}

/** The paired t-test of b − a, value i of each from the same run (the same seed). */
export function pairedTest(a: ArrayLike<number>, b: ArrayLike<number>): TTest {
  const fn = "pairedTest";
  sameLength(fn, "a", a, "b", b);
  atLeastTwo(fn, "a", a);
  finite(fn, "b", b);
  const d = meanStd(Array.from({ length: a.length }, (_, i) => b[i] - a[i]));
  return verdict(d.mean, d.std / Math.sqrt(a.length), a.length - 1);
}

/**
 * Holm's step-down adjustment of p-values for a family of m tests: the i-th smallest p times
 * (m − i + 1), made non-decreasing in that order and capped at 1. An adjusted p below α keeps the
 * chance of any false "larger than the spread" in the family below α; returned in input order.
 */
export function holmAdjust(ps: readonly number[]): number[] {
  const fn = "holmAdjust";
  ps.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new Error(`${fn}: ps[${i}] is ${p}, not a probability`);
  });
  const m = ps.length, order = ps.map((_, i) => i).sort((a, b) => ps[a] - ps[b] || a - b);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * ps[i]));
    out[i] = running;
  });
  return out;
}

/** P(|T| ≥ |t|) for Student's t with `df` > 0 degrees of freedom (df need not be an integer). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!(df > 0) || !Number.isFinite(df)) throw new Error(`studentTwoSidedP: df must be a positive number, got ${df}`);
  if (Number.isNaN(t)) throw new Error("studentTwoSidedP: t is NaN");
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: ~1e-15 relative). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  x -= 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const w = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(w) - w + Math.log(s);
}

/** I_x(a, b), the regularised incomplete beta function, for x in [0, 1] and a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the continued fraction converges fast for x < (a + 1)/(a + b + 2); use the symmetry otherwise
  if (x > (a + 1) / (a + b + 2)) return 1 - front * betaFraction(1 - x, b, a) / b;
  return front * betaFraction(x, a, b) / a;
}

/** The continued fraction of I_x(a, b) by the modified Lentz method. */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300, eps = 1e-16;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (
      const num of [m * (b - m) * x / ((a + m2 - 1) * (a + m2)), -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))]
    ) {
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < eps) return h;
  }
  return h;
}

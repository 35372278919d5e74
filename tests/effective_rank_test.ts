// The effective rank's eigenvalue solver (train/effective_rank.ts) against known spectra and
// against a cyclic Jacobi solver written here, and the effective rank against a closed form.
import assert from "node:assert/strict";
import { effectiveRank, symmetricEigenvalues } from "../train/effective_rank.ts";

/** A seeded uniform generator in [-1, 1) (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 31 - 1;
  };
}

/** Q diag(λ) Qᵀ with Q a product of random Householder reflections (exactly orthogonal in exact arithmetic). */
function withSpectrum(lambda: number[], seed: number): Float64Array {
  const n = lambda.length, r = rng(seed);
  const a = new Float64Array(n * n);
  lambda.forEach((l, i) => (a[i * n + i] = l));
  for (let t = 0; t < 3; t++) {
    const v = Array.from({ length: n }, r);
    const vn = Math.hypot(...v);
    for (let i = 0; i < n; i++) v[i] /= vn;
    // A ← H A H, H = I − 2vvᵀ
    const p = Array.from({ length: n }, (_, i) => v.reduce((s, vj, j) => s + a[i * n + j] * vj, 0));
    const K = v.reduce((s, vi, i) => s + vi * p[i], 0);
    for (let i = 0; i < n; i++) p[i] -= K * v[i];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] -= 2 * (v[i] * p[j] + p[i] * v[j]);
  }
  return a;
}

/** Cyclic Jacobi (the solver used before): slow, simple, a second opinion. */
function jacobi(a: Float64Array, n: number): number[] {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p], akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k], aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]);
}

const sorted = (x: ArrayLike<number>) => Array.from(x).sort((a, b) => a - b);

function assertSpectrum(got: ArrayLike<number>, want: number[], tol: number, what: string) {
  const g = sorted(got), w = sorted(want);
  const scale = Math.max(1, ...w.map(Math.abs));
  g.forEach((x, i) => assert.ok(Math.abs(x - w[i]) <= tol * scale, `${what}: eigenvalue ${i} ${x} vs ${w[i]}`));
}

Deno.test("eigenvalues of matrices with a known spectrum: distinct, repeated, zero, negative, 1×1 and 2×2", () => {
  const cases: number[][] = [
    [3],
    [2, -1],
    [5, 4, 3, 2, 1, 0.5, 0.25],
    [1, 1, 1, 2, 2, 0, 0, 0, 7], // repeated and zero eigenvalues (a Gram matrix of low rank)
    Array.from({ length: 37 }, (_, i) => (i % 5) * 0.3 - 0.4 + i * 1e-3),
  ];
  cases.forEach((lambda, c) => {
    const n = lambda.length;
    assertSpectrum(symmetricEigenvalues(withSpectrum(lambda, 11 + c), n), lambda, 1e-12, `case ${c}`);
  });
});

Deno.test("eigenvalues agree with cyclic Jacobi on random symmetric matrices of odd sizes", () => {
  for (const [n, seed] of [[3, 1], [17, 2], [64, 3], [101, 4]]) {
    const r = rng(seed), a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r();
    assertSpectrum(symmetricEigenvalues(a, n), jacobi(a, n), 1e-11, `n = ${n}`);
  }
});

Deno.test("effective rank: a closed form, and rank one", () => {
  // centred columns of norms √2 and √8: singular values √8 and √2, p = (2/3, 1/3)
  const z = [1, 0, -1, 0, 0, 2, 0, -2];
  const h = -(2 / 3) * Math.log(2 / 3) - (1 / 3) * Math.log(1 / 3);
  assert.ok(Math.abs(effectiveRank(z, 4, 2) - Math.exp(h)) < 1e-12, `${effectiveRank(z, 4, 2)} vs ${Math.exp(h)}`);
  // every row a multiple of one vector: one singular value after centring. The zero eigenvalues
  // come out at rounding level (~ε·λmax), and σ = √λ turns that into ~√ε ≈ 1.5e-8 of σmax each,
  // so the entropy moves by ~1e-7 (the Jacobi solver used before gave 1 + 2.0e-7 here)
  const r1 = Array.from({ length: 6 * 5 }, (_, k) => (Math.floor(k / 5) - 2.5) * (1 + (k % 5)));
  assert.ok(Math.abs(effectiveRank(r1, 6, 5) - 1) < 1e-6, `${effectiveRank(r1, 6, 5)}`);
});

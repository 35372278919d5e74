// Effective rank of an embedding z [N, D] (Roy & Vetterli): exp of the entropy of its
// normalised singular values. The singular values of z are the square roots of the
// eigenvalues of the N×N Gram matrix z·zᵀ, small for a batch, so a float64 Jacobi solver on
// the host is enough; no SVD primitive is needed on the GPU.

/** Eigenvalues of a symmetric n×n matrix (cyclic Jacobi, float64). */
function symmetricEigenvalues(a: Float64Array, n: number, sweeps = 30): Float64Array {
  const m = Float64Array.from(a);
  for (let s = 0; s < sweeps; s++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p], akq = m[k * n + q];
          m[k * n + p] = c * akp - sn * akq;
          m[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k], aqk = m[q * n + k];
          m[p * n + k] = c * apk - sn * aqk;
          m[q * n + k] = sn * apk + c * aqk;
        }
      }
    }
  }
  const ev = new Float64Array(n);
  for (let i = 0; i < n; i++) ev[i] = m[i * n + i];
  return ev;
}

/** exp(H(σ/Σσ)) over the singular values σ of z [n, d] (rows centred first). */
export function effectiveRank(z: ArrayLike<number>, n: number, d: number): number {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += z[i * d + j] / n;
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = i; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (z[i * d + j] - mean[j]) * (z[k * d + j] - mean[j]);
      gram[i * n + k] = gram[k * n + i] = s;
    }
  }
  const sv = Array.from(symmetricEigenvalues(gram, n), (e) => Math.sqrt(Math.max(0, e)));
  const total = sv.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  let h = 0;
  for (const s of sv) if (s > 0) h -= (s / total) * Math.log(s / total);
  return Math.exp(h);
}

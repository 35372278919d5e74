// Input checks shared by the scoring metrics. Each throws an Error that starts with the metric's
// name and names the argument (and the index) at fault, so a bad call is found from the message
// alone rather than from a NaN that surfaces three tables later.

/** Throws unless `a` and `b` have the same length. */
export function sameLength(fn: string, aName: string, a: ArrayLike<unknown>, bName: string, b: ArrayLike<unknown>) {
  if (a.length !== b.length) {
    throw new Error(`${fn}: ${aName} has ${a.length} entries but ${bName} has ${b.length}; they must match`);
  }
}

/** Throws unless `a` is non-empty. */
export function nonEmpty(fn: string, name: string, a: ArrayLike<unknown>) {
  if (a.length === 0) throw new Error(`${fn}: ${name} is empty`);
}

/** Throws at the first entry that is not a finite number (NaN, ±Infinity, a non-number). */
export function finite(fn: string, name: string, a: ArrayLike<number>) {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`${fn}: ${name}[${i}] is ${v}, not a finite number`);
    }
  }
}

/** Throws at the first entry that is not an integer (class and cluster ids). */
export function integers(fn: string, name: string, a: ArrayLike<number>) {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isInteger(a[i])) throw new Error(`${fn}: ${name}[${i}] is ${a[i]}, not an integer label`);
  }
}

/** Throws unless `v` is an integer in [lo, hi]. */
export function intIn(fn: string, name: string, v: number, lo: number, hi = Infinity) {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    const range = hi === Infinity ? `an integer ≥ ${lo}` : `an integer in [${lo}, ${hi}]`;
    throw new Error(`${fn}: ${name} must be ${range}, got ${v}`);
  }
}

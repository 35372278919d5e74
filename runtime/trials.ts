// The timing loop of the autotuner: each candidate kernel variant prepared, run once and
// checked against float64, timed, released; the fastest correct one wins. What a candidate is
// (an op lowered with a variant, op_runner.ts; a standalone matmul, matmul_runner.ts) is a Trial.

/** Allowance for a cold shader compile inside a first run (llvmpipe: 0.5–2 s, more under load). */
const COMPILE_MS = 3000;

export interface TuneResult {
  variant: string;
  /** median ms per run of every candidate tried (Infinity: failed or wrong) */
  ms: Record<string, number>;
  source: "gpu" | "wall";
}

/** One candidate, prepared: run it, time it, check its output (worst error over tolerance), release it. */
export interface Trial {
  run(): Promise<number>;
  time(reps: number, rounds: number, expectS: number): Promise<{ seconds: number; source: "gpu" | "wall" }>;
  check(): Promise<number>;
  destroy(): void;
}

/**
 * Time each candidate. Each first runs once (compiling its shader) and is checked against
 * float64; a wrong or failing candidate is dropped. One more run estimates its time; candidates
 * more than 4× slower than the best so far are not timed further, the others get 3 rounds of
 * enough repetitions to fill the budget. Candidates are tried in the order given: a likely winner
 * first prunes the rest sooner, and the expected slow ones go last.
 */
export async function timeCandidates(
  what: string,
  candidates: string[],
  make: (name: string) => Promise<Trial>,
  budgetMs: number,
): Promise<TuneResult> {
  const ms: Record<string, number> = {};
  let best = "", bestMs = Infinity, source: "gpu" | "wall" = "wall";
  for (const name of candidates) {
    let t: Trial | undefined;
    try {
      t = await make(name);
      const t0 = performance.now();
      await t.run();
      const firstMs = performance.now() - t0;
      const err = await t.check();
      if (!(err <= 1)) throw new Error(`wrong result (error ${err.toFixed(1)}× tolerance)`);
      let est = firstMs;
      if (firstMs < 4 * bestMs + COMPILE_MS) est = (await t.time(1, 1, 0)).seconds * 1000;
      if (est < 4 * bestMs) {
        const reps = Math.max(1, Math.min(64, Math.round(budgetMs / 3 / est)));
        const timed = await t.time(reps, 3, est / 1000);
        est = timed.seconds * 1000;
        source = timed.source;
      }
      ms[name] = est;
      if (est < bestMs) [best, bestMs] = [name, est];
    } catch (e) {
      ms[name] = Infinity;
      console.warn(`autotune: ${what} variant '${name}' skipped: ${(e as Error).message.split("\n")[0]}`);
    } finally {
      t?.destroy();
    }
  }
  if (!best) throw new Error(`autotune: no variant ran correctly for ${what}`);
  return { variant: best, ms, source };
}

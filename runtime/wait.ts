// Waiting on dawn.node promises without starving a CPU adapter (see awaitGpu).
type Immediate = (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown;
let gentleDepth = 0;
let realImmediate: Immediate | undefined;

/**
 * Await a dawn.node promise without starving a CPU adapter. dawn.node resolves promises by
 * re-arming a global setImmediate callback that ticks the device, a busy loop that takes a
 * whole core from lavapipe's 2 threads. Measured under `deno test` on this machine: a cold
 * shader compile took 5.7–8 s with the busy loop and 2.0–3.0 s with it throttled, and a
 * 25 s job awaited directly stalled for minutes (sleeping before the await avoided it).
 * While `p` is pending, the first 64 polls run immediately (fast round trips stay fast),
 * later ones are spaced 1 ms apart. dawn.node looks setImmediate up on every tick, so
 * swapping the global is enough; it is restored when the last wait ends.
 */
export async function awaitGpu<T>(p: Promise<T>): Promise<T> {
  const g = globalThis as unknown as { setImmediate?: Immediate };
  if (typeof g.setImmediate !== "function") return await p;
  if (gentleDepth++ === 0) {
    const real = (realImmediate = g.setImmediate);
    let n = 0;
    g.setImmediate = (fn, ...args) => (n++ < 64 ? real(fn, ...args) : setTimeout(fn, 1, ...args));
  }
  try {
    return await p;
  } finally {
    if (--gentleDepth === 0) g.setImmediate = realImmediate;
  }
}

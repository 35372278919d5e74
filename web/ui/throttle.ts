// Coalesces UI updates: the training loop reports every group of steps, the page repaints at
// most once per `interval`. Timers, not requestAnimationFrame, so a background tab keeps its
// state current (the browser slows timers there to about once a second; frames stop entirely).

export interface Timers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as number),
};

/** A function that runs `fn` at most once per `interval` ms, always with the latest call's effect. */
export function throttled(fn: () => void, interval: number, timers: Timers = realTimers): {
  request(): void;
  flush(): void;
  cancel(): void;
} {
  let last = -Infinity, pending: unknown;
  const run = () => {
    pending = undefined;
    last = timers.now();
    fn();
  };
  return {
    request() {
      if (pending !== undefined) return;
      const wait = last + interval - timers.now();
      if (wait <= 0) run();
      else pending = timers.set(run, wait);
    },
    flush() {
      if (pending !== undefined) timers.clear(pending);
      run();
    },
    cancel() {
      if (pending !== undefined) timers.clear(pending);
      pending = undefined;
    },
  };
}

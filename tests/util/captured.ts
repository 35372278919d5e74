// Console output of code under test, captured so a test can assert what a user would see.

/** Runs `f` with console.log and console.error captured. */
export async function captured<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const { log, error } = console;
  const out: string[] = [], err: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { value: await f(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

// Small assertions the test files share: an error whose message contains a given text.

/** `f` throws an error whose message contains `msg`. */
export function assertThrows(f: () => unknown, msg: string) {
  try {
    f();
  } catch (e) {
    if (!(e as Error).message.includes(msg)) {
      throw new Error(`expected an error containing '${msg}', got '${(e as Error).message}'`);
    }
    return;
  }
  throw new Error(`expected an error containing '${msg}'`);
}

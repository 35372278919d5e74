// A small key-value store for what outlives a run but is not a run file: the autotune cache.
// Under Deno, Bun and Node a key is a file path (the value is the file's text, replaced
// atomically: platform/node.ts); in a page it is a localStorage entry (platform/browser.ts).

export interface KeyValueStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** A store in a Map (tests, or a page without localStorage). */
export function memoryStore(): KeyValueStore & { readonly entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return { entries, get: (k) => entries.get(k), set: (k, v) => void entries.set(k, v) };
}

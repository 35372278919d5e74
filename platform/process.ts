// What the product asks of the process it runs in: arguments, environment, exit, Ctrl-C, the
// pid and host a run lock records, whether another pid is alive, the terminal for progress
// lines, the memory size, and a garbage collection. platform/node.ts answers under Deno, Bun
// and Node; platform/browser.ts answers in a page (no arguments, no signals, pid 0).

export interface Process {
  /** the command-line arguments after the program (node's process.argv.slice(2)) */
  readonly args: string[];
  /** the running program as a file: URL (from process.argv[1]), to compare with import.meta.url; "" in a page */
  readonly programUrl: string;
  env(name: string): string | undefined;
  exit(code: number): never;
  /** Calls `handler` on Ctrl-C (SIGINT); returns the function that removes it. */
  onInterrupt(handler: () => void): () => void;
  readonly pid: number;
  readonly hostname: string;
  /** whether process `pid` on this host exists (a stale lock or temp file has none) */
  alive(pid: number): boolean;
  /** writes to standard output without a newline (progress lines) */
  writeStdout(s: string): void;
  stdoutIsTerminal(): boolean;
  /** the machine's memory in bytes (the GPU memory check's default budget) */
  totalMemory(): number;
  /** Runs a full garbage collection if the runtime allows it; returns whether it did. */
  collectGarbage(): boolean;
}

// The one flag parser behind every command line of the project: the pipelines' flags
// (dsl/cli.ts), the λ-free study (examples/lambda_free/options.ts), tools/embed.ts,
// tools/contact_sheet.ts and bench/gpu.ts. Each declares a table of flags; this module splits
// argv against it, parses values, and formats the help rows. An unknown flag or a bad value is
// a FlagError naming the flag, which every command line reports with exit code 2.
//
//   --name VALUE, --name=VALUE    a flag with a value (the value may not start with --)
//   --name                        a switch
//   -h                            --help
export class FlagError extends Error {
  override name = "FlagError";
  constructor(readonly flag: string, detail: string) {
    super(`${flag}: ${detail}`);
  }
}

/** One flag of a command line. */
export interface FlagDef {
  /** without the leading -- */
  name: string;
  /** placeholder of the value; absent for a switch */
  arg?: string;
}

export interface SplitArgs {
  /** flag name → its value ("" for a switch), in the order given */
  values: Map<string, string>;
  /** arguments that are not flags, where the command line takes them */
  positionals: string[];
  /** flags kept for another parser (SplitOptions.passThrough), as given, each with its value */
  passed: string[];
}

export interface SplitOptions {
  /** arguments not starting with -- are positionals (else they are an error) */
  positionals?: boolean;
  /**
   * An unknown flag: true keeps it, with a following value, in `passed` for another parser
   * (which checks it); false makes it an unknown flag. May throw its own FlagError.
   */
  passThrough?(name: string): boolean;
}

/** Splits args into flag → value against `flags`; rejects unknown, repeated and value-less flags. */
export function splitArgs(args: string[], flags: readonly FlagDef[], o: SplitOptions = {}): SplitArgs {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const out: SplitArgs = { values: new Map(), positionals: [], passed: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" && byName.has("help")) {
      out.values.set("help", "");
      continue;
    }
    if (!a.startsWith("--")) {
      if (o.positionals) {
        out.positionals.push(a);
        continue;
      }
      throw new FlagError(a, "unexpected argument (flags start with --; see --help)");
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const flag = byName.get(name);
    if (!flag) {
      if (o.passThrough?.(name)) {
        out.passed.push(a);
        if (eq < 0 && i + 1 < args.length && !args[i + 1].startsWith("--")) out.passed.push(args[++i]);
        continue;
      }
      const s = suggest(name, [...byName.keys()]);
      throw new FlagError(`--${name}`, `unknown flag${s ? `; did you mean --${s}?` : ""} (see --help)`);
    }
    if (out.values.has(name)) throw new FlagError(`--${name}`, "given more than once");
    let value = "";
    if (flag.arg) {
      if (eq >= 0) value = a.slice(eq + 1);
      else if (i + 1 < args.length && !args[i + 1].startsWith("--")) value = args[++i];
      else throw new FlagError(`--${name}`, `expected a value (${flag.arg})`);
    } else if (eq >= 0) throw new FlagError(`--${name}`, "takes no value");
    out.values.set(name, value);
  }
  return out;
}

/** Closest name within two edits, for "did you mean". */
function suggest(name: string, names: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
    }
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const k = dist(name, n);
    if (k < bestD) [best, bestD] = [n, k];
  }
  return best;
}

// --------------------------------------------------------------------------- value parsers

/** The value of flag `name` (without --), which the command line requires; `usage` is shown when it is missing. */
export function requiredValue(values: Map<string, string>, name: string, usage: string): string {
  const x = values.get(name);
  if (!x) throw new FlagError(`--${name}`, `required (${usage})`);
  return x;
}

export const badValue = (flag: string, what: string, got: string) =>
  new FlagError(flag, `expected ${what}, got '${got}'`);

/** An integer ≥ min. */
export function intValue(flag: string, s: string, min: number): number {
  const what = min === 1 ? "a positive integer" : `an integer ≥ ${min}`;
  if (!/^\d+$/.test(s.trim()) || Number(s) < min || !Number.isSafeInteger(Number(s))) throw badValue(flag, what, s);
  return Number(s);
}

/** A finite number ≥ 0 (> 0 when `positive`). */
export function realValue(flag: string, s: string, positive: boolean): number {
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < 0 || (positive && n === 0)) {
    throw badValue(flag, positive ? "a number > 0" : "a number ≥ 0", s);
  }
  return n;
}

/** Comma-separated positive integers. */
export function intsValue(flag: string, s: string): number[] {
  const parts = s.split(",");
  if (!parts.every((p) => /^\s*\d+\s*$/.test(p) && Number(p) > 0)) {
    throw badValue(flag, "comma-separated positive integers like 2048,2048", s);
  }
  return parts.map(Number);
}

/** Comma-separated distinct integers ≥ 0: the seeds of a --seeds flag. */
export function seedsValue(flag: string, s: string): number[] {
  const seeds = listValue(flag, s, (p) => intValue(flag, p, 0));
  const twice = seeds.find((x, i) => seeds.indexOf(x) !== i);
  if (twice !== undefined) throw new FlagError(flag, `seed ${twice} is listed twice in '${s}'`);
  return seeds;
}

/** A comma-separated list, each item parsed by `item`. */
export function listValue<T>(flag: string, s: string, item: (p: string) => T): T[] {
  const parts = s.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw badValue(flag, "a comma-separated list", s);
  return parts.map(item);
}

/** One of `choices` (said as "a or b", or "one of a, b, c"). */
export function choiceValue<T extends string>(flag: string, s: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(s)) return s as T;
  const what = choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(", ")}`;
  throw badValue(flag, what, s);
}

// ------------------------------------------------------------------------------------- help

/** Help rows: `  --name ARG` padded to a column, the help, and the default when there is one. */
export function helpRows<F extends FlagDef & { help: string }>(flags: readonly F[], shown: (f: F) => string): string[] {
  return flags.map((f) => {
    const left = `  --${f.name}${f.arg ? ` ${f.arg}` : ""}`;
    const def = shown(f);
    return `${left.padEnd(26)} ${f.help}${def ? ` (default: ${def})` : ""}`;
  });
}

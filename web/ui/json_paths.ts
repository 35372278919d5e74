// A JSON reader that remembers where each value starts, so a spec problem reported at a path
// (`modules.projector.widths[1]`, dsl/error.ts) can be pointed at in the editor's text, and a
// syntax error gets its line and column in every browser (JSON.parse's messages differ between
// engines). Paths are spelled with the spec layer's own joinPath.
import { joinPath } from "../../dsl/error.ts";

export interface JsonPosition {
  /** 1-based */
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(message: string, readonly offset: number, readonly position: JsonPosition) {
    super(`${message} (line ${position.line}, column ${position.column})`);
  }
}

export interface LocatedJson {
  value: unknown;
  /** offset of the first character of the value at each path ("" is the whole document) */
  offsets: Map<string, number>;
  text: string;
}

/** Line and column of an offset in `text`. */
export function positionAt(text: string, offset: number): JsonPosition {
  let line = 1, start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Parses `text` as JSON, recording where each value starts; throws JsonSyntaxError. */
export function parseLocated(text: string): LocatedJson {
  const offsets = new Map<string, number>();
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at, positionAt(text, at));
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const describe = () => (i >= text.length ? "the end of the text" : `'${text[i]}'`);
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 0x20) fail("a control character inside a string (write it escaped, e.g. \\n)");
      i++;
    }
    if (i >= text.length) fail("a string that is never closed", start);
    i++;
    try {
      return JSON.parse(text.slice(start, i));
    } catch {
      return fail("a bad escape sequence in this string", start);
    }
  };
  const value = (path: string): unknown => {
    ws();
    offsets.set(path, i);
    const c = text[i];
    if (c === "{") return object(path);
    if (c === "[") return array(path);
    if (c === '"') return string();
    const word = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!word) return fail(`expected a value, found ${describe()}`);
    i += word[0].length;
    return JSON.parse(word[0]);
  };
  const object = (path: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    i++;
    ws();
    if (text[i] === "}") return i++, out;
    for (;;) {
      ws();
      if (text[i] !== '"') fail(`expected a field name in double quotes, found ${describe()}`);
      const key = string();
      ws();
      if (text[i] !== ":") fail(`expected ':' after the field name "${key}", found ${describe()}`);
      i++;
      Object.defineProperty(out, key, { value: value(joinPath(path, key)), enumerable: true, writable: true });
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return i++, out;
      else fail(`expected ',' or '}' after the value of "${key}", found ${describe()}`);
    }
  };
  const array = (path: string): unknown[] => {
    const out: unknown[] = [];
    i++;
    ws();
    if (text[i] === "]") return i++, out;
    for (;;) {
      out.push(value(joinPath(path, out.length)));
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return i++, out;
      else fail(`expected ',' or ']' after item ${out.length - 1}, found ${describe()}`);
    }
  };
  const v = value("");
  ws();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return { value: v, offsets, text };
}

/**
 * Where a spec path points in the text: the value at the path, or else at its nearest ancestor
 * that is in the text (a missing field is reported on the object that lacks it).
 */
export function locatePath(doc: LocatedJson, path: string): JsonPosition {
  let p = path;
  for (;;) {
    const at = doc.offsets.get(p);
    if (at !== undefined) return positionAt(doc.text, at);
    if (p === "") return { line: 1, column: 1 };
    p = parentPath(p);
  }
}

/** "a.b[2]" → "a.b", "a.b" → "a", "a" → "", 'a["x y"]' → "a". */
export function parentPath(path: string): string {
  const m = /(?:\.[A-Za-z_$][\w$]*|\[[^\]]*\])$/.exec(path);
  return m ? path.slice(0, m.index) : "";
}

// Text from a spec (its method, a name, a data-set name) is untrusted: shown raw, an escape
// sequence could rewrite the terminal, a CR or LF forge a line, a bidi override reorder what is
// read. printable() is the one gate for such text on its way to the terminal, an error message
// or a report heading: every control character is written as an escape instead.

// C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), the line and paragraph separators,
// and the bidi embeddings, overrides and isolates.
// deno-lint-ignore no-control-regex -- matching control characters is this module's purpose
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each control character escaped: "\x1b[2J\r\n" → "\\x1b[2J\\r\\n". */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

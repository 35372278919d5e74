// The spec editor: a <textarea> checked as the user types (a short pause after the last key, so
// a long spec does not slow typing), the problems listed beside it with their path and line; a
// click on a problem selects that line in the text.
import type { PipelineSpec } from "../../dsl/schema.ts";
import { el } from "./dom.ts";
import { checkSpecText, type EditorIssue, formatIssue, type SpecCheck } from "./spec_check.ts";

export class SpecEditor {
  private timer?: ReturnType<typeof setTimeout>;
  private last: SpecCheck = { ok: false, issues: [] };
  onChange?: (check: SpecCheck) => void;

  constructor(
    private readonly text: HTMLTextAreaElement,
    private readonly issues: HTMLElement,
    private readonly status: HTMLElement,
  ) {
    text.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), 250);
    });
  }

  /** Replaces the text (a preset was chosen) and checks it at once. */
  load(spec: PipelineSpec): void {
    this.text.value = JSON.stringify(spec, null, 2);
    this.check();
  }

  /** The check of the text as it is now (runs it if a check is pending). */
  current(): SpecCheck {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.check();
    }
    return this.last;
  }

  private check(): void {
    this.timer = undefined;
    this.last = checkSpecText(this.text.value);
    this.show(this.last);
    this.onChange?.(this.last);
  }

  private show(c: SpecCheck): void {
    this.issues.replaceChildren(...(c.ok ? [] : c.issues.map((i) => this.item(i))));
    this.text.setAttribute("aria-invalid", c.ok ? "false" : "true");
    this.status.textContent = c.ok
      ? `Valid spec: ${c.spec.method} '${c.spec.name}', batch ${c.spec.batch}, ${c.spec.epochs} epoch(s)${
        c.spec.steps ? `, at most ${c.spec.steps} steps` : ""
      }.`
      : `${c.issues.length} problem${c.issues.length > 1 ? "s" : ""} in the spec:`;
    this.status.className = c.ok ? "ok" : "bad";
  }

  private item(i: EditorIssue): HTMLElement {
    const button = el("button", { type: "button", class: "link" }, formatIssue(i));
    button.addEventListener("click", () => this.selectLine(i.line));
    return el("li", {}, button);
  }

  private selectLine(line: number): void {
    const lines = this.text.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.text.focus();
    this.text.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    // bring the line into view: the textarea scrolls by its line height
    const lh = parseFloat(getComputedStyle(this.text).lineHeight) || 16;
    this.text.scrollTop = Math.max(0, (line - 3) * lh);
  }
}

// Shows a failure in the page (an alert region that screen readers announce), not only on the
// console: its title, the core's message (which names the spec path, file or setting) and what
// to try.
import { byId, el } from "./dom.ts";
import { describeFailure, type FailureView } from "./failure.ts";

export function showFailure(e: unknown | FailureView & { steps?: string[] }): void {
  const v = isView(e) ? e : describeFailure(e);
  const box = byId("failure");
  const steps = isView(e) ? (e as { steps?: string[] }).steps ?? [] : [];
  box.replaceChildren(
    el("h2", {}, v.title),
    ...(v.message ? [el("p", { class: "message" }, v.message)] : []),
    ...(v.hint ? [el("p", {}, v.hint)] : []),
    ...(steps.length ? [el("ol", {}, ...steps.map((s) => el("li", {}, s)))] : []),
  );
  box.hidden = false;
  if (!isView(e)) console.error(e);
}

export function clearFailure(): void {
  const box = byId("failure");
  box.hidden = true;
  box.replaceChildren();
}

function isView(e: unknown): e is FailureView {
  return !!e && typeof e === "object" && !(e instanceof Error) && "title" in e;
}

// The evaluation at the end of a run, as the terminal summary has it: kNN and linear-probe top-1
// of the trained encoder next to the same encoder at its random initialisation (and raw pixels).
import { byId, el } from "./dom.ts";
import type { EvalResult } from "./trainer_port.ts";

/** Rows of the results table: [what, kNN, linear] as text (pure; tested). */
export function resultRows(r: EvalResult): [string, string, string][] {
  const pct = (v: unknown) => (typeof v === "number" ? `${(v * 100).toFixed(2)}%` : "not measured");
  const rows: [string, string, string][] = [
    ["trained encoder", pct(r.knn_top1), pct(r.linear_top1)],
    ["random-init encoder", pct(r.random_init_knn_top1), pct(r.random_init_linear_top1)],
  ];
  if (typeof r.pixels_knn_top1 === "number") rows.push(["raw pixels", pct(r.pixels_knn_top1), "–"]);
  return rows;
}

export function showResults(r: EvalResult | undefined): void {
  const body = byId("results-body");
  byId("results").hidden = !r;
  if (!r) return body.replaceChildren();
  body.replaceChildren(
    ...resultRows(r).map(([what, knn, lin]) =>
      el("tr", {}, el("th", { scope: "row" }, what), el("td", {}, knn), el("td", {}, lin))
    ),
  );
}

// The run's figures beside the plots: step, images/s, time left, and the collapse diagnostics
// (mean C_ii, mean |C_ij|, effective rank of z) from the latest diagnostics step.
import { formatDuration, formatNumber } from "../../report/format.ts";
import { byId } from "./dom.ts";

export interface Stats {
  step?: number;
  totalSteps?: number;
  imagesPerSec?: number;
  secondsLeft?: number;
  diag?: Record<string, number>;
}

/** The text of each figure, by the id of the element that shows it (pure; tested). */
export function statsText(s: Stats): Record<string, string> {
  const d = s.diag ?? {};
  const num = (v: number | undefined) => (v === undefined ? "–" : formatNumber(v, 4));
  return {
    "stat-step": s.step === undefined ? "–" : `${s.step} / ${s.totalSteps ?? "?"}`,
    "stat-rate": s.imagesPerSec === undefined ? "–" : `${Math.round(s.imagesPerSec).toLocaleString("en")}`,
    "stat-left": s.secondsLeft === undefined ? "–" : formatDuration(s.secondsLeft),
    "stat-cii": num(d.corr_diag_mean),
    "stat-cij": num(d.corr_offdiag_abs_mean),
    "stat-rank": num(d.effective_rank),
  };
}

export function showStats(s: Stats): void {
  for (const [id, text] of Object.entries(statsText(s))) byId(id).textContent = text;
}

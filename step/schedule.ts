// Per-step schedules (docs/recipes.md): linear warmup then cosine decay for the learning rate,
// and the BYOL/MoCo cosine EMA schedule τ(step) = 1 − (1 − τ₀)(cos(π·step/total) + 1)/2.

export interface LrSchedule {
  base: number;
  warmupSteps: number;
  totalSteps: number;
  /** final lr as a fraction of base */
  finalFactor: number;
}

export function lrAt(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.base * (step + 1)) / s.warmupSteps;
  const t = s.totalSteps > s.warmupSteps ? (step - s.warmupSteps) / (s.totalSteps - s.warmupSteps) : 1;
  const end = s.base * s.finalFactor;
  return end + (s.base - end) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

export function tauAt(base: number, step: number, total: number, kind: "cosine" | "const" = "cosine"): number {
  if (kind === "const" || total <= 0) return base;
  return 1 - (1 - base) * (Math.cos((Math.PI * Math.min(step, total)) / total) + 1) / 2;
}

"""Per-step scalars as the project computes them (step/schedule.ts, step/scalars.ts): the lr of
each parameter group with linear warmup then cosine, the EMA τ, AdamW's bias corrections and
the queue write position."""
import math

from .philox import js_round


def steps_per_epoch(batch: int, n_train: int) -> int:
    spe = n_train // batch
    if spe < 1:
        raise ValueError(f"batch {batch} is larger than the {n_train} training images")
    return spe


def total_steps(spec: dict, n_train: int) -> int:
    all_steps = spec["epochs"] * steps_per_epoch(spec["batch"], n_train)
    return min(spec["steps"], all_steps) if spec.get("steps") else all_steps


def lr_at(base: float, warmup: int, total: int, final_factor: float, step: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / (total - warmup) if total > warmup else 1.0
    end = base * final_factor
    return end + (base - end) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def lr_scalars(spec: dict, step: int, spe: int, total: int) -> dict:
    """{"lr", "lr_bias", "lr_fixed"}: the group lrs at `step` (base lrs scaled by batch / 256)."""
    o, s = spec["optimizer"], spec["schedule"]
    scale = spec["batch"] / 256
    warmup = js_round(s.get("warmupEpochs", 0) * spe)
    final = s.get("finalFactor", 0.001) if s["kind"] == "cosine" else 1.0
    out = {"lr": lr_at(o["lr"] * scale, warmup, total, final, step), "lr_fixed": o["lr"] * scale}
    out["lr_bias"] = lr_at(o["biasLr"] * scale, warmup, total, final, step) if o["kind"] == "lars" and o.get("biasLr") is not None else out["lr"]
    return out


def tau_at(tau: dict, step: int, total: int) -> float:
    """τ from base at step 0 to final at the last step along the cosine (or constant)."""
    if tau.get("schedule", "cosine") == "const" or total <= 0:
        return tau["base"]
    final = tau.get("final", 1)
    return final - (final - tau["base"]) * (math.cos(math.pi * min(step, total) / total) + 1) / 2


def adam_corrections(spec: dict, step: int):
    o = spec["optimizer"]
    t = step + 1
    return 1 - o.get("beta1", 0.9) ** t, 1 - o.get("beta2", 0.999) ** t

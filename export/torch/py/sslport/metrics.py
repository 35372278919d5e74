"""metrics.jsonl as the project writes it (one JSON object per line; non-finite numbers as the
strings "NaN", "Infinity", "-Infinity") and the project's collapse diagnostics of the two
embeddings of the main loss term (losses/diagnostics.ts, train/effective_rank.ts)."""
import json
import math
import os

import torch


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return v


def append(path: str, record: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps({k: _clean(v) for k, v in record.items()}, separators=(",", ":")) + "\n")


def effective_rank(z: torch.Tensor) -> float:
    """exp of the entropy of the normalised singular values of z [N, D], rows centred (float64)."""
    x = z.detach().double().cpu()
    x = x - x.mean(0, keepdim=True)
    s = torch.linalg.svdvals(x)
    total = float(s.sum())
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return math.exp(float(-(p * p.log()).sum()))


@torch.no_grad()
def collapse_diagnostics(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-5) -> dict:
    """std_mean / std_min (per-feature std over the batch), nstd_mean (the same on row-normalised
    a), corr_diag_mean / corr_offdiag_abs_mean (of the standardized cross-correlation C), and the
    effective rank of a."""
    from .losses import normalize, standardize
    a, b = a.detach().float(), b.detach().float()
    n, d = a.shape
    std = lambda z: (z - z.mean(0, keepdim=True)).square().mean(0).sqrt()
    s = std(a)
    sa, sb = standardize(a, eps), standardize(b, eps)
    c = sa.t().matmul(sb) / n
    diag = (sa * sb).sum(0) / n
    return {
        "std_mean": float(s.mean()), "std_min": float(s.min()), "nstd_mean": float(std(normalize(a, 1)).mean()),
        "corr_diag_mean": float(diag.mean()),
        "corr_offdiag_abs_mean": float((c - torch.diag(diag)).abs().sum() / max(1, d * (d - 1))),
        "effective_rank": effective_rank(a),
    }

"""The loss language's nodes (dsl/schema.ts `LossNode`) with the project's formulas and
constants (losses/): library losses, and the primitives a hand-written loss is made of.
Generated programs call these one node at a time; every input is the global batch."""
import torch

MASKED_LOGIT = -1e9


# ---------------------------------------------------------------------------- building blocks

def normalize(x: torch.Tensor, axis: int, eps: float = 1e-12) -> torch.Tensor:
    """x / max(‖x‖₂, eps) along axis (F.normalize), as x·rsqrt(max(Σx², eps²))."""
    return x * torch.rsqrt(torch.clamp(x.square().sum(axis, keepdim=True), min=eps * eps))


def standardize(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(z − mean) / √(biased var + eps) per column: batch norm without affine."""
    zc = z - z.mean(0, keepdim=True)
    return zc * torch.rsqrt(zc.square().mean(0, keepdim=True) + eps)


def _off_diag_square_sum(m: torch.Tensor, diag: torch.Tensor) -> torch.Tensor:
    """Σ_{i≠j} m_ij² as Σ (m − diag(diag))², diag held constant (no cancellation near m ≈ I)."""
    return (m - torch.diag(diag.detach())).square().sum()


def _cosine(a, b):
    return (normalize(a, 1) * normalize(b, 1)).sum(1)


# ------------------------------------------------------------------------------ library losses

def barlow_twins(a: torch.Tensor, b: torch.Tensor, lam) -> torch.Tensor:
    """Σ(1 − C_ii)² + λ Σ_{i≠j} C_ij², C = standardize(a)ᵀ standardize(b) / N; λ 'mean' = 1/(D−1)."""
    n, d = a.shape
    if lam == "mean":
        lam = 1.0 / (d - 1)
    sa, sb = standardize(a), standardize(b)
    c = sa.t().matmul(sb) * (1.0 / n)
    diag = (sa * sb).sum(0) * (1.0 / n)
    return (diag - 1).square().sum() + _off_diag_square_sum(c, diag) * lam


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR: over the 2N rows, −log softmax of cos/T at each row's partner, self excluded."""
    n, inv = a.shape[0], 1.0 / temperature
    na, nb = normalize(a, 1), normalize(b, 1)
    z = torch.cat([na, nb], 0)
    s = z.matmul(z.t()) * inv
    eye = torch.eye(2 * n, dtype=torch.bool, device=a.device)
    logits = torch.where(eye, torch.full_like(s, MASKED_LOGIT), s)
    pos = (na * nb).sum(1) * inv
    return (torch.logsumexp(logits, 1).sum() - pos.sum() * 2) * (1.0 / (2 * n))


def info_nce(q: torch.Tensor, k: torch.Tensor, negatives: torch.Tensor, temperature: float) -> torch.Tensor:
    """MoCo: row i of q against its key k_i and the rows of `negatives` (held constant)."""
    inv = 1.0 / temperature
    nq, nk = normalize(q, 1), normalize(k.detach(), 1)
    pos = (nq * nk).sum(1, keepdim=True)
    neg = nq.matmul(negatives.detach().t())
    logits = torch.cat([pos, neg], 1) * inv
    return (torch.logsumexp(logits, 1) - pos.reshape(-1) * inv).mean()


def byol(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """mean over rows of 2 − 2·cos(p, sg(z))."""
    return (_cosine(p, z.detach()) * -2 + 2).mean()


def simsiam(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """−mean over rows of cos(p, sg(z))."""
    return -_cosine(p, z.detach()).mean()


def _vicreg_branch(z: torch.Tensor, eps: float):
    n, d = z.shape
    zc = z - z.mean(0, keepdim=True)
    var = zc.square().sum(0) * (1.0 / (n - 1))
    hinge = torch.relu(1 - torch.sqrt(var + eps)).mean()
    cov = zc.t().matmul(zc) * (1.0 / (n - 1))
    return hinge, _off_diag_square_sum(cov, var) * (1.0 / d)


def vicreg(a: torch.Tensor, b: torch.Tensor, sim: float, var: float, cov: float, eps: float = 1e-4) -> torch.Tensor:
    """sim·MSE(a, b) + var·(hinge(a) + hinge(b))/2 + cov·(offcov(a) + offcov(b)), official formulas."""
    inv = (a - b).square().mean()
    ha, ca = _vicreg_branch(a, eps)
    hb, cb = _vicreg_branch(b, eps)
    return inv * sim + (ha + hb) * 0.5 * var + (ca + cb) * cov


def feature_sim_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """mean((âᵀ b̂ − I)²), â, b̂ = columns L2-normalized along the batch."""
    d = a.shape[1]
    na, nb = normalize(a, 0), normalize(b, 0)
    c = na.t().matmul(nb)
    diag = (na * nb).sum(0)
    return ((diag - 1).square().sum() + _off_diag_square_sum(c, diag)) * (1.0 / (d * d))


# ---------------------------------------------------------------------------------- primitives

def reduce(op: str, x: torch.Tensor, axis=None) -> torch.Tensor:
    """sum / mean / logsumexp over `axis` keeping it as size 1, or over everything to a scalar."""
    if op == "logsumexp":
        return torch.logsumexp(x.reshape(-1), 0) if axis is None else torch.logsumexp(x, axis, keepdim=True)
    f = torch.sum if op == "sum" else torch.mean
    return f(x) if axis is None else f(x, axis, keepdim=True)


def matmul(a: torch.Tensor, b: torch.Tensor, ta: bool = False, tb: bool = False) -> torch.Tensor:
    return (a.t() if ta else a).matmul(b.t() if tb else b)


def eye(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(n, dtype=torch.float32, device=like.device)


UNARY = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "square": torch.square,
    "abs": torch.abs, "relu": torch.relu, "transpose": lambda x: x.t(), "stopGrad": lambda x: x.detach(),
}

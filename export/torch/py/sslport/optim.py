"""The project's parameter updates (step/optim.ts), applied in place after backward: SGD
(momentum, Nesterov), LARS as in the Barlow Twins code (optional solo-learn clip) and AdamW,
with 1-D parameters (biases, BN γ/β) excluded from weight decay and trust-ratio adaptation when
excludeBiasAndNorm. State per parameter: `<name>.momentum`, or `<name>.adam_m` / `.adam_v`."""
import numpy as np
import torch


def f32(x: float) -> float:
    """A per-step scalar as the project's f32 uniform holds it."""
    return float(np.float32(x))


def state_names(spec: dict, name: str):
    o = spec["optimizer"]
    if o["kind"] == "adamw":
        return [f"{name}.adam_m", f"{name}.adam_v"]
    return [f"{name}.momentum"] if o.get("momentum", 0.9) != 0 else []


def lr_group(spec: dict, name: str, rank: int) -> str:
    """Which lr a parameter reads: fixed-lr modules, 1-D params with their own lr, the rest."""
    o = spec["optimizer"]
    if any(name.startswith(f"{m}.") for m in o.get("fixedLr", [])):
        return "lr_fixed"
    if o["kind"] == "lars" and o.get("biasLr") is not None and rank <= 1:
        return "lr_bias"
    return "lr"


def _excluded(o: dict, p: torch.Tensor) -> bool:
    return o.get("excludeBiasAndNorm", True) and p.dim() <= 1


def _momentum_step(o, p, d, lr, state, name):
    mu = o.get("momentum", 0.9)
    if mu == 0:
        p.sub_(lr * d)
        return
    buf = state[f"{name}.momentum"]
    buf.mul_(f32(mu)).add_(d)
    direction = d + buf * f32(mu) if o.get("nesterov", False) else buf
    p.sub_(lr * direction)


@torch.no_grad()
def update(spec: dict, params, state: dict, scalars: dict) -> None:
    """params: [(project name, parameter with .grad)]; state: name → tensor; scalars: lr groups, adam_bc1/2."""
    o = spec["optimizer"]
    kind, wd = o["kind"], o.get("weightDecay", 0)
    for name, p in params:
        g = p.grad
        lr = f32(scalars[lr_group(spec, name, p.dim())])
        if kind == "sgd":
            d = g + p * f32(wd) if wd and not _excluded(o, p) else g
            _momentum_step(o, p, d, lr, state, name)
        elif kind == "lars":
            if _excluded(o, p):
                _momentum_step(o, p, g, lr, state, name)
                continue
            d = g + p * f32(wd) if wd else g
            wn, dn = p.square().sum().sqrt(), d.square().sum().sqrt()
            ratio = torch.where((wn > 0) & (dn > 0), wn * f32(o.get("eta", 1e-3)) / torch.clamp(dn, min=1e-30),
                                torch.ones_like(wn))
            if o.get("clip", False):
                ratio = torch.clamp(ratio / lr, max=1.0)
            _momentum_step(o, p, d * ratio, lr, state, name)
        else:
            b1, b2, eps = o.get("beta1", 0.9), o.get("beta2", 0.999), o.get("eps", 1e-8)
            m, v = state[f"{name}.adam_m"], state[f"{name}.adam_v"]
            m.mul_(f32(b1)).add_(g * f32(1 - b1))
            v.mul_(f32(b2)).add_(g.square() * f32(1 - b2))
            mhat, vhat = m / f32(scalars["adam_bc1"]), v / f32(scalars["adam_bc2"])
            decay = 0.0 if _excluded(o, p) else f32(wd)
            p.sub_(lr * (mhat / (vhat.sqrt() + f32(eps)) + p * decay))

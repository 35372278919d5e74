"""Per-sample random parameters of one view, drawn from Philox keyed by (seed, stream) with the
counter (sample, step, view, augment-domain | block): the same numbers as the project's
drawParams (kernels/augment/params.ts). The crop arithmetic is rounded to float32 after every
operation, as the project rounds it, so both pick the same integer boxes; every other choice
is made on integers."""
import torch

from .augment_spec import BLOCK_BLUR, BLOCK_CROP, BLOCK_FACTORS, BLOCK_SWITCH, CROP_ATTEMPTS, ViewRecipe
from .philox import DOMAIN_AUGMENT, below, bernoulli, draw, to_unit


def _f32(x: torch.Tensor) -> torch.Tensor:
    """Round float64 values to float32 and back (JavaScript's Math.fround)."""
    return x.float().double()


def _fround(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float64).float())


def jitter_order(k: int):
    """The k-th (Lehmer code) order of the 4 jitter ops."""
    left, order = [0, 1, 2, 3], []
    for base in (6, 2, 1):
        order.append(left.pop(k // base))
        k %= base
    order.append(left[0])
    return order


JITTER_ORDERS = torch.tensor([jitter_order(k) for k in range(24)], dtype=torch.int64)


def _crop_boxes(r: ViewRecipe, words):
    """torchvision RandomResizedCrop.get_params for every sample: first of 10 attempts that fits."""
    n = words[0][0].shape[0]
    dev = words[0][0].device
    box = torch.tensor(r.crop.fallback if r.crop else (0, 0, r.h, r.w), dtype=torch.int64, device=dev).repeat(n, 1)
    if not r.crop:
        return box
    c = r.crop
    area, s_lo, s_d = _fround(r.h * r.w), _fround(c.scale[0]), _fround(c.scale[1] - c.scale[0])
    r_lo, r_d = _fround(c.log_ratio[0]), _fround(c.log_ratio[1] - c.log_ratio[0])
    done = torch.zeros(n, dtype=torch.bool, device=dev)
    for t in range(CROP_ATTEMPTS):
        d = words[BLOCK_CROP + t]
        target = _f32(area * _f32(s_lo + _f32(s_d * to_unit(d[0]))))
        aspect = _f32(torch.exp(_f32(r_lo + _f32(r_d * to_unit(d[1])))))
        w = torch.round(_f32(torch.sqrt(_f32(target * aspect)))).to(torch.int64)
        h = torch.round(_f32(torch.sqrt(_f32(target / aspect)))).to(torch.int64)
        ok = ~done & (w > 0) & (w <= r.w) & (h > 0) & (h <= r.h)
        if bool(ok.any()):
            i = below(d[2], torch.clamp(r.h - h + 1, min=1))
            j = below(d[3], torch.clamp(r.w - w + 1, min=1))
            box[ok] = torch.stack([i, j, h, w], 1)[ok]
            done |= ok
    return box


def draw_params(r: ViewRecipe, seed: int, step: int, samples: torch.Tensor) -> dict:
    """Parameters of the given samples (int64 global row indices), on their device."""
    samples = samples.to(torch.int64)
    dev = samples.device
    blocks = range(BLOCK_BLUR + 1)
    words = [draw(seed, r.stream, samples, step, r.view, DOMAIN_AUGMENT, b) for b in blocks]
    sw, fa, bl = words[BLOCK_SWITCH], words[BLOCK_FACTORS], words[BLOCK_BLUR]
    n = samples.shape[0]
    p = {
        "box": _crop_boxes(r, words),
        "flip": bernoulli(sw[0], r.flip),
        "gray": bernoulli(sw[3], r.grayscale),
        "solarize": bernoulli(bl[2], r.solarize),
        "jitter": torch.zeros(n, dtype=torch.bool, device=dev),
        "factors": torch.zeros(n, 4, dtype=torch.float64, device=dev),
        "order": torch.zeros(n, 4, dtype=torch.int64, device=dev),
        "sigma": torch.zeros(n, dtype=torch.float64, device=dev),
    }
    j = r.jitter
    if j:
        p["jitter"] = bernoulli(sw[1], j.p)
        lerp = lambda lo, hi, w: lo + (hi - lo) * to_unit(w)
        p["factors"] = torch.stack([
            lerp(max(0.0, 1 - j.brightness), 1 + j.brightness, fa[0]),
            lerp(max(0.0, 1 - j.contrast), 1 + j.contrast, fa[1]),
            lerp(max(0.0, 1 - j.saturation), 1 + j.saturation, fa[2]),
            lerp(-j.hue, j.hue, fa[3]),
        ], 1)
        p["order"] = JITTER_ORDERS.to(dev)[below(sw[2], 24)]
    b = r.blur
    if b:
        on = bernoulli(bl[0], b.p)
        p["sigma"] = torch.where(on, b.sigma[0] + (b.sigma[1] - b.sigma[0]) * to_unit(bl[1]), torch.zeros(n, dtype=torch.float64, device=dev))
    return p

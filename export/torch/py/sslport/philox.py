"""Philox4x32-10, the project's counter-based random numbers, on torch int64 tensors.

torch has no uint32 dtype, so every word is an int64 holding a value in [0, 2^32); products
are split into 16-bit halves so nothing overflows. The words equal the project's
(kernels/wgsl/philox.ts) bit for bit: key = (seed, stream), counter = (index, step, view,
domain << 16 | block).
"""
import math

import torch

M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9
W1 = 0xBB67AE85
MASK = 0xFFFFFFFF

DOMAIN_RAND = 1
DOMAIN_AUGMENT = 2
DOMAIN_SHUFFLE = 3


def _mulhilo(a: int, b: torch.Tensor):
    """High and low 32-bit words of the constant a times the u32 words b."""
    al, ah = a & 0xFFFF, a >> 16
    bl, bh = b & 0xFFFF, b >> 16
    ll, hl, lh, hh = al * bl, ah * bl, al * bh, ah * bh
    cross = (ll >> 16) + (hl & 0xFFFF) + lh
    hi = (hh + (hl >> 16) + (cross >> 16)) & MASK
    lo = ((cross & 0xFFFF) << 16) | (ll & 0xFFFF)
    return hi, lo


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Ten rounds over counters c0..c3 (int64 tensors or ints) under the key (k0, k1); 4 words."""
    ref = next(x for x in (c0, c1, c2, c3, k0, k1) if isinstance(x, torch.Tensor))
    as_t = lambda x: x if isinstance(x, torch.Tensor) else torch.full_like(ref, int(x) & MASK)
    c0, c1, c2, c3 = (as_t(x) for x in (c0, c1, c2, c3))
    k0, k1 = as_t(k0), as_t(k1)
    for r in range(10):
        if r > 0:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        h0, l0 = _mulhilo(M0, c0)
        h1, l1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
    return c0, c1, c2, c3


def draw(seed: int, stream: int, index, step: int, view: int, domain: int, block: int):
    """The project's keyed draw for every index (an int64 tensor of sample/element ids)."""
    tag = ((domain << 16) | (block & 0xFFFF)) & MASK
    return philox4x32(index, step & MASK, view & MASK, tag, seed & MASK, stream & MASK)


def to_unit(w: torch.Tensor) -> torch.Tensor:
    """u32 → uniform in [0, 1) with 24 bits (exact in f32), as float64."""
    return (w >> 8).double() * 5.9604644775390625e-8


def below(w: torch.Tensor, m) -> torch.Tensor:
    """Integer in [0, m): the high word of w·m (m an int or an int64 tensor below 2^31)."""
    return (w * m) >> 32


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves go up), for thresholds and step counts."""
    r = math.floor(x)
    return int(r + 1) if x - r >= 0.5 else int(r)


def bernoulli_threshold(p: float) -> int:
    return js_round(min(1.0, max(0.0, p)) * 16777216)


def bernoulli(w: torch.Tensor, p: float) -> torch.Tensor:
    """(w >> 8) < round(p·2^24): decided on integers, as the project decides it."""
    return (w >> 8) < bernoulli_threshold(p)

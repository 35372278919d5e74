"""The project's synthetic data set (data/synthetic.ts) with its defaults: 16×16 gray images of
4 procedurally drawn classes with jittered phase, position, size, contrast, background and
pixel noise. Image i depends only on (seed, split, i): the same mulberry32-style streams,
vectorized over images, give the project's pixels (to float64 rounding of cos/exp/hypot)."""
import numpy as np
import torch

from .data import Dataset

M32 = np.uint64(0xFFFFFFFF)


def _imul(a, b):
    return (np.asarray(a, dtype=np.uint64) * np.asarray(b, dtype=np.uint64)) & M32


class _Streams:
    """One generator per image, all advanced together."""

    def __init__(self, seed: int, split: int, index: np.ndarray):
        i = index.astype(np.uint64)
        a = _imul((seed ^ 0x9E3779B9) & 0xFFFFFFFF, 0x85EBCA6B) ^ _imul(split + 1, 0xC2B2AE35) ^ _imul(i + np.uint64(1), 0x27D4EB2F)
        self.a = _imul(a ^ (a >> np.uint64(16)), 0x45D9F3B)

    def __call__(self) -> np.ndarray:
        self.a = (self.a + np.uint64(0x6D2B79F5)) & M32
        a = self.a
        t = _imul(a ^ (a >> np.uint64(15)), a | np.uint64(1))
        t = t ^ ((t + _imul(t ^ (t >> np.uint64(7)), t | np.uint64(61))) & M32)
        return ((t ^ (t >> np.uint64(14))) & M32).astype(np.float64) / 4294967296.0


def _pattern(k: int, u, v, phase, cx, cy, r):
    tau, f = 2 * np.pi, 3
    dx, dy = u - cx, v - cy
    rad = np.hypot(dx, dy)
    soft = lambda d: 1 / (1 + np.exp(d / 0.03))
    if k == 0:
        return 0.5 + 0.5 * np.cos(tau * (f * v + phase))
    if k == 1:
        return 0.5 + 0.5 * np.cos(tau * (f * u + phase))
    if k == 2:
        return 0.5 + 0.5 * np.cos(tau * ((f * (u + v)) / 1.4 + phase))
    if k == 3:
        return (np.cos(tau * (2 * dx + 0.25)) * np.cos(tau * (2 * dy + 0.25)) > 0).astype(np.float64)
    if k == 4:
        return soft(rad - r)
    if k == 5:
        return soft(np.abs(rad - r) - 0.07)
    if k == 6:
        return soft(np.minimum(np.abs(dx), np.abs(dy)) - 0.08)
    if k == 7:
        return soft(np.abs(np.maximum(np.abs(dx), np.abs(dy)) - r) - 0.06)
    if k == 8:
        return np.maximum(0, 1 - rad / (1.6 * r))
    return np.exp(-((u - 0.25 - (cx - 0.5)) ** 2 + (v - 0.25 - (cy - 0.5)) ** 2) / (2 * 0.12 ** 2))


def make(n: int, split: int = 0, size: int = 16, channels: int = 1, classes: int = 4, noise: float = 0.05,
         seed: int = 0) -> Dataset:
    h = w = size
    idx = np.arange(n)
    rnd = _Streams(seed, split, idx)
    phase = 0.15 * rnd()
    cx = 0.5 + 0.12 * (rnd() - 0.5)
    cy = 0.5 + 0.12 * (rnd() - 0.5)
    r = 0.28 + 0.06 * (rnd() - 0.5)
    contrast = 0.6 + 0.4 * rnd()
    bg = 0.15 * rnd()
    tint = [np.ones(n) if channels == 1 else 0.6 + 0.4 * rnd() for _ in range(channels)]
    labels = idx % classes
    col = lambda x: x[:, None, None]
    ys, xs = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    val = np.zeros((n, h, w))
    for k in range(classes):
        sel = labels == k
        val[sel] = _pattern(k, xs[None], ys[None], col(phase[sel]), col(cx[sel]), col(cy[sel]), col(r[sel]))
    val = col(bg) + col(contrast) * val
    out = np.zeros((n, channels, h, w))
    for y in range(h):
        for x in range(w):
            for ch in range(channels):
                u1, u2 = rnd(), rnd()
                g = np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2)
                out[:, ch, y, x] = np.clip(val[:, y, x] * tint[ch] + noise * g, 0, 1)
    return Dataset("synthetic/train" if split == 0 else "synthetic/test", torch.from_numpy(out.astype(np.float32)),
                   torch.from_numpy(labels.astype(np.int64)), classes)

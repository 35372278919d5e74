"""The epoch order: position i of epoch e holds image shuffle_index(i, n, seed, e), a balanced
Feistel network over Philox restricted to [0, n) by cycle walking (kernels/wgsl/shuffle.ts)."""
import torch

from .philox import DOMAIN_SHUFFLE, philox4x32
from .schedule import steps_per_epoch

ROUNDS = 6


def half_bits(n: int) -> int:
    """Half of the smallest even bit width ≥ 2 whose range covers n."""
    if not (1 <= n <= 2 ** 32):
        raise ValueError(f"shuffle: n = {n} must be an integer in [1, 2^32]")
    bits = 2
    while 2 ** bits < n:
        bits += 2
    return bits // 2


def _feistel(x: torch.Tensor, half: int, seed: int, epoch: int) -> torch.Tensor:
    mask = (1 << half) - 1
    left, right = (x >> half) & mask, x & mask
    for k in range(ROUNDS):
        f = philox4x32(right, epoch, k, DOMAIN_SHUFFLE << 16, seed, 0)[0] & mask
        left, right = right, (left ^ f) & mask
    return (left << half) | right


def shuffle_index(positions: torch.Tensor, n: int, seed: int, epoch: int) -> torch.Tensor:
    """Images at the given positions (int64 tensor, each in [0, n)) of epoch `epoch`."""
    if positions.numel() and (int(positions.min()) < 0 or int(positions.max()) >= n):
        raise ValueError(f"shuffle: positions must lie in [0, {n})")
    half = half_bits(n)
    seed, epoch = seed & 0xFFFFFFFF, epoch & 0xFFFFFFFF
    x = _feistel(positions.to(torch.int64), half, seed, epoch)
    todo = x >= n
    while bool(todo.any()):
        x[todo] = _feistel(x[todo], half, seed, epoch)
        todo = x >= n
    return x


def batch_rows(step: int, batch: int, n: int, seed: int) -> torch.Tensor:
    """Images of global step `step`: epoch floor(step / spe), positions (step mod spe)·batch + r."""
    spe = steps_per_epoch(batch, n)
    epoch, first = step // spe, (step % spe) * batch
    return shuffle_index(torch.arange(first, first + batch, dtype=torch.int64), n, seed, epoch)

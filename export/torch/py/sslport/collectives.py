"""Cross-rank operations for one global batch split over the ranks of a torchrun job.

Every rank evaluates the loss on the gathered global batch, so each holds the same loss L. The
backward of a gather sums the incoming gradients over ranks and keeps this rank's rows, and the
backward of an all-reduce sums over ranks: each rank's local gradient is then P·∂L/∂(its rows),
and DDP's average over the P ranks gives exactly the one-device gradient ∂L/∂θ."""
import os

import torch
import torch.distributed as dist


def world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world() > 1 else 0


def init_from_env(device: str):
    """Joins the torchrun job when launched by torchrun (gloo on CPU, nccl on GPUs). Returns the
    device this rank uses and whether this call started the process group (an embedding program
    may have started it already and keeps it)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device, False
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if dist.is_initialized():
        return device, False
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return device, True


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, g):
        g = g.contiguous().clone()
        dist.all_reduce(g)
        return g


class _Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        parts = [torch.empty_like(x) for _ in range(world())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = x.shape[0]
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, g):
        g = g.contiguous().clone()
        dist.all_reduce(g)
        r = rank()
        return g[r * ctx.rows:(r + 1) * ctx.rows]


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """Σ over ranks, differentiable (identity on one process)."""
    return _AllReduceSum.apply(x) if world() > 1 else x


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Every rank's rows in rank order: the global batch (differentiable when x needs grad)."""
    if world() == 1:
        return x
    if x.requires_grad:
        return _Gather.apply(x)
    parts = [torch.empty_like(x) for _ in range(world())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, 0)


def barrier() -> None:
    if world() > 1:
        dist.barrier()


def any_rank(flag: bool, device) -> bool:
    """Whether `flag` is set on any rank: a decision every rank must take alike (stopping on
    Ctrl-C, which reaches the ranks between different steps), lest one wait on the others'
    collectives forever."""
    if world() == 1:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())

"""One training step, as the project's compiled step does it: views of the batch → branches
(each view through each module once) → the loss over the global batch → gradients → the
optimizer update → EMA copies follow the updated weights → queues take the step's keys."""
import torch

from . import optim, schedule
from .augment_pixels import augment
from .collectives import gather_rows
from .losses import normalize


def views_of(recipes: dict, images: torch.Tensor, seed: int, step: int, samples: torch.Tensor) -> dict:
    """Every view of this rank's rows; `samples` are their row numbers in the global batch."""
    return {name: augment(r, images, seed, step, samples) for name, r in recipes.items()}


def forward_loss(model, online, views: dict):
    """(loss, branch outputs over the global batch). `online` is the module the online branches
    run through: model.step, or its DDP wrapper."""
    program = model.program
    out = dict(online(views))
    if program.EMA:
        with torch.no_grad():
            out.update(program.ema_forward(model.shadows, views))
    branches = {name: gather_rows(z) for name, z in out.items()}
    queues = {name: q.clone() for name, q in model.queues.items()}
    return program.loss(branches, queues), branches


def scalars_at(spec: dict, step: int, spe: int, total: int) -> dict:
    s = schedule.lr_scalars(spec, step, spe, total)
    if spec["optimizer"]["kind"] == "adamw":
        s["adam_bc1"], s["adam_bc2"] = schedule.adam_corrections(spec, step)
    return s


@torch.no_grad()
def apply_updates(model, branches: dict, step: int, spe: int, total: int) -> None:
    spec, program = model.spec, model.program
    optim.update(spec, model.params(), model.opt_state, scalars_at(spec, step, spe, total))
    for of, e in program.EMA.items():
        tau = optim.f32(schedule.tau_at(e["tau"], step, total))
        rest = optim.f32(1 - tau)
        for m, mod in model.shadows[of].items():
            online = dict(model.online[m].named_parameters())
            for n, t in mod.named_parameters():
                t.mul_(tau).add_(online[n] * rest)
    batch = spec["batch"]
    for q in program.QUEUES:
        buf = model.queues[q["name"]]
        rows = normalize(branches[q["of"]].detach(), 1)
        at = (torch.arange(batch, device=buf.device) + step * batch) % q["size"]
        buf[at] = rows


def train_step(model, online, recipes: dict, images: torch.Tensor, samples: torch.Tensor, step: int, spe: int,
               total: int):
    """The whole step for this rank's rows; returns (loss, branch outputs)."""
    views = views_of(recipes, images, model.spec["seed"], step, samples)
    loss, branches = forward_loss(model, online, views)
    for _, p in model.params():
        p.grad = None
    loss.backward()
    apply_updates(model, branches, step, spe, total)
    return loss.detach(), branches

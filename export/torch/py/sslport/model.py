"""Everything a run holds, by the project's tensor names: the trained modules, the EMA copies
(`ema_<of>/<name>`), the queues (`queue_<name>`) and the optimizer state, with the project's
initial values, and the checkpoint tensors both ways."""
import copy

import numpy as np
import torch

from . import optim
from .initial_values import initial_value
from .layers import init_specs


class OnlineStep(torch.nn.Module):
    """The trained modules and the forward of the non-EMA branches: the unit DDP wraps."""

    def __init__(self, program, modules: dict):
        super().__init__()
        self.program = program
        self.m = torch.nn.ModuleDict(modules)

    def forward(self, views: dict) -> dict:
        return self.program.online_forward(self.m, views)


class Model:
    def __init__(self, program, spec: dict, view_shapes: dict, device):
        self.program, self.spec, self.device = program, spec, device
        self.step = OnlineStep(program, program.build_modules(lambda v: view_shapes[v])).to(device)
        self.online = self.step.m
        self.shadows = {}
        for of, e in program.EMA.items():
            copies = torch.nn.ModuleDict({m: copy.deepcopy(self.online[m]) for m in e["modules"]})
            self.shadows[of] = copies.requires_grad_(False)
        self.queues = {q["name"]: torch.zeros(q["size"], q["dim"], device=device) for q in program.QUEUES}
        self.opt_state = {}
        self.passthrough = {}
        for name, p in self.params():
            for s in optim.state_names(spec, name):
                self.opt_state[s] = torch.zeros_like(p)

    def params(self):
        """(project name, parameter) of every trained parameter."""
        return [(f"{m}.{n}", p) for m, mod in self.online.items() for n, p in mod.named_parameters()]

    def tensors(self) -> dict:
        """Every persistent tensor by its project name (the checkpoint's contents)."""
        out = {}
        for m, mod in self.online.items():
            for n, t in list(mod.named_parameters()) + list(mod.named_buffers()):
                out[f"{m}.{n}"] = t
        for of, mods in self.shadows.items():
            for m, mod in mods.items():
                for n, t in list(mod.named_parameters()) + list(mod.named_buffers()):
                    out[f"ema_{of}/{m}.{n}"] = t
        for q, t in self.queues.items():
            out[f"queue_{q}"] = t
        out.update(self.opt_state)
        return out

    def shapes(self) -> dict:
        return {k: list(t.shape) for k, t in self.tensors().items()}

    @torch.no_grad()
    def init(self, seed: int) -> None:
        """The project's initial values for `seed` (runtime/init.ts): EMA copies start equal to
        the online weights, queues hold random unit rows, optimizer state is zero."""
        values = {}
        for m, mod in self.online.items():
            specs = init_specs(mod)
            for n, t in list(mod.named_parameters()) + list(mod.named_buffers()):
                values[f"{m}.{n}"] = initial_value(specs[n], list(t.shape), seed, f"{m}.{n}", values.get)
        for of, mods in self.shadows.items():
            for m, mod in mods.items():
                for n, t in mod.named_parameters():
                    values[f"ema_{of}/{m}.{n}"] = values[f"{m}.{n}"]
                for n, t in mod.named_buffers():
                    kind = "zeros" if n.endswith("running_mean") else "ones"
                    values[f"ema_{of}/{m}.{n}"] = initial_value({"kind": kind}, list(t.shape), seed, n, None)
        for q in self.program.QUEUES:
            name = f"queue_{q['name']}"
            values[name] = initial_value({"kind": "unitRows", "width": q["dim"]}, [q["size"], q["dim"]], seed, name, None)
        self.load(values, strict=False)

    @torch.no_grad()
    def load(self, values: dict, strict: bool = True) -> None:
        for name, t in self.tensors().items():
            if name not in values:
                if strict:
                    raise KeyError(f'missing tensor "{name}"')
                continue
            t.copy_(torch.as_tensor(np.asarray(values[name])).reshape(t.shape))

    def numpy(self) -> dict:
        return {k: t.detach().float().cpu().numpy() for k, t in self.tensors().items()}

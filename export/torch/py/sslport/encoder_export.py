"""The encoder alone as a PyTorch state dict, for downstream use. A ResNet-18 keeps
torchvision's names (plus num_batches_tracked), so `torchvision.models.resnet18` loads it
(strict except the classifier head `fc`; the CIFAR stem needs conv1 = 3×3 stride 1 and
maxpool = Identity first). An MLP or CNN loads into `program.encoder(shape)`."""
import os

import torch

from .layers import BatchNorm, ResNet18


def encoder_state(model, step: int) -> dict:
    program = model.program
    leaves = program.ENCODER_LEAVES
    state = {}
    for leaf in leaves:
        mod = model.online[leaf]
        prefix = "" if len(leaves) == 1 else f"{leaves.index(leaf)}."
        for k, t in mod.state_dict().items():
            state[prefix + k] = t.detach().cpu().clone()
        if isinstance(mod, ResNet18):
            for name, m in mod.named_modules():
                if isinstance(m, BatchNorm):
                    state[f"{prefix}{name}.num_batches_tracked"] = torch.tensor(step, dtype=torch.int64)
    return state


def write_encoder(model, path: str, step: int) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(encoder_state(model, step), path)
    return path


def view_shapes_from_checkpoint(program, spec: dict, tensors: dict):
    """Every view's (C, S, S) read from a checkpoint instead of the data set, so the encoder can be
    exported where the data is not: S from the views' crops, C from the encoder's first weight
    (conv: its input channels; Linear: its input width / S²). None when a view has no crop."""
    crops = [v["aug"].get("crop") for v in spec["views"]]
    if not all(crops):
        return None
    leaf = program.ENCODER_LEAVES[0]
    kind = spec["modules"][leaf]["kind"]
    first = {"mlp": f"{leaf}.0.linear.weight", "cnn": f"{leaf}.conv0.weight", "resnet18": f"{leaf}.conv1.weight"}[kind]
    if first not in tensors:
        return None
    s = crops[0]["size"]
    c = tensors[first].shape[1] if kind != "mlp" else tensors[first].shape[1] // (s * s)
    return {v["name"]: (c, v["aug"]["crop"]["size"], v["aug"]["crop"]["size"]) for v in spec["views"]}

"""The project's training checkpoints (io/checkpoint.ts): `<run>/checkpoint.safetensors` holding
every persistent tensor of the step by its project name, and in the header the format tag, the
spec (JSON), its hash, the step and the epoch."""
import json
import os

from . import safetensors

FILE = "checkpoint.safetensors"
FORMAT = "ssl-webgpu-checkpoint"
VERSION = "1"


class CheckpointError(Exception):
    pass


def path_of(run_or_file: str) -> str:
    return run_or_file if os.path.isfile(run_or_file) else os.path.join(run_or_file, FILE)


def load(run_or_file: str, spec_hash: str = None, shapes: dict = None) -> dict:
    """{tensors, spec, spec_hash, step, epoch}; refuses another spec or missing/misshapen tensors."""
    path = path_of(run_or_file)
    try:
        tensors, meta = safetensors.read(path)
    except safetensors.SafetensorsError as e:
        raise CheckpointError(f"cannot load the checkpoint: {e}") from None
    fail = lambda why: CheckpointError(f"{path}: {why}")
    if meta.get("format") != FORMAT:
        raise fail(f'not a checkpoint (metadata format is {meta.get("format")!r}, expected "{FORMAT}")')
    if meta.get("format_version") != VERSION:
        raise fail(f"checkpoint format version {meta.get('format_version')} is not supported (expected {VERSION})")
    for key in ("step", "epoch"):
        if not str(meta.get(key, "")).isdigit():
            raise fail(f"{key} {meta.get(key)!r} is not a non-negative integer")
    if spec_hash is not None and meta.get("spec_hash") != spec_hash:
        raise fail(f"written for spec hash {meta.get('spec_hash')}, but this program's spec hashes to {spec_hash} "
                   "(regenerate the program from the checkpoint's spec: tools/to_torch.ts --spec)")
    try:
        spec = json.loads(meta["spec"])
    except (KeyError, ValueError):
        raise fail("the metadata holds no spec JSON") from None
    ck = {"tensors": tensors, "spec": spec, "spec_hash": meta.get("spec_hash", ""),
          "step": int(meta["step"]), "epoch": int(meta["epoch"])}
    check_shapes(ck, shapes or {}, path)
    return ck


def check_shapes(ck: dict, shapes: dict, where: str) -> None:
    """Every tensor of `shapes` is in the checkpoint with exactly that shape (extras are fine)."""
    for name, shape in shapes.items():
        if name not in ck["tensors"]:
            raise CheckpointError(f'{path_of(where)}: missing tensor "{name}"')
        if list(ck["tensors"][name].shape) != list(shape):
            raise CheckpointError(f'{path_of(where)}: tensor "{name}" has shape {list(ck["tensors"][name].shape)}, expected {list(shape)}')


def save(run: str, tensors: dict, spec_json: str, spec_hash: str, step: int, epoch: int) -> str:
    os.makedirs(run, exist_ok=True)
    path = os.path.join(run, FILE)
    meta = {"format": FORMAT, "format_version": VERSION, "spec": spec_json, "spec_hash": spec_hash,
            "step": str(step), "epoch": str(epoch)}
    safetensors.write(path, tensors, meta)
    return path

"""Data sets by the names the project uses (data/load.ts): fashion-mnist[:dir], mnist:<dir>,
cifar10:<dir>, cifar100:<dir>, synthetic, or a folder (IDX files, CIFAR batches or class
sub-folders of images). Only the training split is read (training needs nothing else). Images
are kept as stored (bytes, or float32 for synthetic) and converted per batch to float32 in
[0, 1] as the project's device-side gather does: f32(byte) × f32(1/255), a float32 product."""
import os
import re
from dataclasses import dataclass

import torch

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
UNIT = torch.arange(256, dtype=torch.float32) * torch.tensor(1 / 255, dtype=torch.float32)


class DataError(Exception):
    pass


@dataclass
class Dataset:
    name: str
    images: torch.Tensor  # [n, C, H, W] uint8 or float32
    labels: torch.Tensor  # [n] int64
    classes: int

    @property
    def n(self):
        return self.images.shape[0]

    @property
    def shape(self):
        return tuple(self.images.shape[1:])

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        x = self.images[rows]
        return UNIT[x.long()] if x.dtype == torch.uint8 else x.float()


def load_train(name: str, limit: int = None, test_limit: int = None) -> Dataset:
    from . import data_cifar, data_folder, data_idx, data_synthetic
    spec = name.strip()
    kind, arg = (spec.split(":", 1) if ":" in spec else (spec, ""))

    def need_dir(what):
        if not arg:
            raise DataError(f"{what} needs a folder: use {kind}:<dir>")
        return arg

    if kind in ("", "fashion-mnist"):
        folder = arg or FASHION_MNIST_DIR
        if data_idx.find_files(folder) is None:
            how = ("install it with `apt-get install dataset-fashion-mnist`, or pass fashion-mnist:<dir>" if not arg
                   else "the folder must hold train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
            raise DataError(f"Fashion-MNIST not found in {folder}; {how}")
        return data_idx.load(folder, "fashion-mnist/train", limit)
    if kind == "mnist":
        return data_idx.load(need_dir("MNIST"), "mnist/train", limit)
    if kind == "cifar10":
        return data_cifar.load10(need_dir("CIFAR-10"), limit)
    if kind == "cifar100":
        return data_cifar.load100(need_dir("CIFAR-100"), limit)
    if kind == "synthetic":
        if arg:
            raise DataError(f'synthetic takes no argument (got "{arg}")')
        return data_synthetic.make(limit if limit is not None else 1000)
    if os.path.isdir(spec):
        if data_idx.find_files(spec) is not None:
            return data_idx.load(spec, f"{spec}/train", limit)
        has = lambda *p: any(os.path.isfile(os.path.join(spec, *p) + ext) for ext in ("", ".gz"))
        if has("test_batch.bin") or has("cifar-10-batches-bin", "test_batch.bin"):
            return data_cifar.load10(spec, limit)
        if has("train.bin") or has("cifar-100-binary", "train.bin"):
            return data_cifar.load100(spec, limit)
        return data_folder.load(spec, limit, test_limit)
    raise DataError(f'unknown dataset "{spec}": not a known name or an existing folder '
                    "(use fashion-mnist, fashion-mnist:<dir>, mnist:<dir>, cifar10:<dir>, cifar100:<dir>, synthetic, or a folder)")


def read_maybe_gzip(path: str) -> bytes:
    import gzip
    try:
        with open(path, "rb") as f:
            b = f.read()
    except OSError as e:
        raise DataError(f"{path}: {e.strerror or e}") from None
    if b[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(b)
        except OSError as e:
            raise DataError(f"{path}: bad gzip file: {e}") from None
    return b


def take(n_available: int, limit) -> int:
    return n_available if limit is None else min(n_available, limit)


def match_first(folder: str, pattern: str):
    try:
        names = sorted(f for f in os.listdir(folder) if re.match(pattern, f))
    except OSError:
        return None
    return os.path.join(folder, names[0]) if names else None

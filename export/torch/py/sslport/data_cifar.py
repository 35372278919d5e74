"""CIFAR-10 / CIFAR-100 binary batches: records of label byte(s) + 3072 pixel bytes (R, G, B
planes of 32×32). The folder may be the archive's parent (cifar-10-batches-bin/ inside)."""
import os
import re

import torch

from .data import DataError, Dataset, read_maybe_gzip

PIXELS = 3 * 32 * 32


def _dir(folder: str, sub: str, marker: str) -> str:
    for d in (folder, os.path.join(folder, sub)):
        if any(os.path.isfile(os.path.join(d, marker) + ext) for ext in ("", ".gz")):
            return d
    raise DataError(f"{folder}: no {marker} here or in {os.path.join(folder, sub)} (expected the CIFAR binary version)")


def _records(files, labels_per_record: int, label_index: int, classes: int, name: str, limit) -> Dataset:
    rec = labels_per_record + PIXELS
    chunks, total = [], 0
    for f in files:
        if limit is not None and total >= limit:
            break
        b = read_maybe_gzip(f)
        if not b or len(b) % rec:
            raise DataError(f"{f}: truncated or corrupt batch: {len(b)} bytes is not a positive multiple of {rec}")
        chunks.append(torch.frombuffer(bytearray(b), dtype=torch.uint8).reshape(-1, rec))
        total += len(b) // rec
    allr = torch.cat(chunks, 0)
    if limit is not None:
        allr = allr[:limit]
    return Dataset(name, allr[:, labels_per_record:].reshape(-1, 3, 32, 32).clone(), allr[:, label_index].long(), classes)


def load10(folder: str, limit=None) -> Dataset:
    d = _dir(folder, "cifar-10-batches-bin", "test_batch.bin")
    found = sorted(((int(m.group(1)), f) for f in os.listdir(d) for m in [re.match(r"^data_batch_(\d+)\.bin(\.gz)?$", f)] if m))
    if not found:
        raise DataError(f"{d}: no data_batch_<k>.bin training batches")
    return _records([os.path.join(d, f) for _, f in found], 1, 0, 10, "cifar10/train", limit)


def load100(folder: str, limit=None) -> Dataset:
    d = _dir(folder, "cifar-100-binary", "train.bin")
    f = os.path.join(d, "train.bin")
    return _records([f if os.path.isfile(f) else f + ".gz"], 2, 1, 100, "cifar100/train", limit)

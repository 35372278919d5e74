"""IDX files (MNIST, Fashion-MNIST): big-endian header (00 00 08 rank, then rank uint32 dims),
then unsigned bytes; gzipped or not."""
import struct

import torch

from .data import DataError, Dataset, match_first, read_maybe_gzip, take


def find_files(folder: str):
    images = match_first(folder, r"^train-images[-.]idx3-ubyte(\.gz)?$")
    labels = match_first(folder, r"^train-labels[-.]idx1-ubyte(\.gz)?$")
    return (images, labels) if images and labels else None


def _parse(b: bytes, path: str, rank: int):
    if len(b) < 4 or b[0] != 0 or b[1] != 0:
        raise DataError(f"{path}: not an IDX file (expected magic bytes 00 00 08 0{rank})")
    if b[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{b[2]:x}, only 0x08 (ubyte) is supported")
    if b[3] != rank:
        raise DataError(f"{path}: IDX rank {b[3]}, expected {rank}")
    head = 4 + 4 * rank
    if len(b) < head:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{rank}I", b[4:head])
    want = 1
    for d in dims:
        want *= d
    if len(b) - head != want:
        raise DataError(f"{path}: IDX data has {len(b) - head} bytes, header says {'×'.join(map(str, dims))} = {want}")
    return dims, b[head:]


def load(folder: str, name: str, limit=None) -> Dataset:
    found = find_files(folder)
    if found is None:
        raise DataError(f"{folder}: no IDX training files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz])")
    (n, h, w), pix = _parse(read_maybe_gzip(found[0]), found[0], 3)
    (nl,), lab = _parse(read_maybe_gzip(found[1]), found[1], 1)
    if nl != n:
        raise DataError(f"{found[1]}: {nl} labels but {found[0]} has {n} images")
    m = take(n, limit)
    images = torch.frombuffer(bytearray(pix[:m * h * w]), dtype=torch.uint8).reshape(m, 1, h, w)
    labels = torch.frombuffer(bytearray(lab[:m]), dtype=torch.uint8).long()
    return Dataset(name, images, labels, 10)

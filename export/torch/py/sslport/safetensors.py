"""safetensors without the package: an 8-byte little-endian header length, a JSON header
{"__metadata__": {str: str}, name: {dtype, shape, data_offsets}}, then the raw little-endian
tensors. F32 is read and written (what the project stores); the writer orders tensors by name
and pads the header with spaces so the data starts 8-byte aligned, as the project's writer does."""
import json
import os
import struct

import numpy as np

MAX_HEADER = 100_000_000


class SafetensorsError(Exception):
    pass


def read(path: str):
    """(tensors {name: float32 ndarray}, metadata {str: str}); errors name the file and the problem."""
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        raise SafetensorsError(f"{path}: file not found") from None
    except OSError as e:
        raise SafetensorsError(f"{path}: cannot read ({e.strerror or e})") from None
    fail = lambda why: SafetensorsError(f"{path}: {why}")
    if len(b) < 8:
        raise fail(f"truncated: {len(b)} bytes, less than the 8-byte header length")
    (n,) = struct.unpack("<Q", b[:8])
    if n > len(b) - 8:
        raise fail(f"truncated or not safetensors: header length {n} exceeds the {len(b) - 8} bytes after it")
    if n > MAX_HEADER:
        raise fail(f"header length {n} exceeds the {MAX_HEADER}-byte limit")
    try:
        header = json.loads(b[8:8 + n].decode("utf-8"))
    except ValueError as e:
        raise fail(f"header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise fail("header is not a JSON object")
    data = memoryview(b)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        if not isinstance(e, dict) or "shape" not in e or "data_offsets" not in e:
            raise fail(f'tensor "{name}": header entry is not {{dtype, shape, data_offsets}}')
        if e.get("dtype") != "F32":
            raise fail(f'tensor "{name}": dtype {e.get("dtype")!r} is not supported (only F32)')
        shape, (lo, hi) = e["shape"], e["data_offsets"]
        count = int(np.prod(shape)) if shape else 1
        if lo < 0 or hi > len(data) or hi - lo != 4 * count:
            raise fail(f'tensor "{name}": data_offsets [{lo}, {hi}] do not fit shape {shape} in {len(data)} data bytes')
        tensors[name] = np.frombuffer(data[lo:hi], dtype="<f4").reshape(shape).copy()
    return tensors, {str(k): str(v) for k, v in meta.items()}


def write(path: str, tensors: dict, metadata: dict) -> None:
    """Writes atomically (temporary file, then rename)."""
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs, off = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

"""The project's initial values of parameters and state, deterministic in (seed, tensor name):
splitmix32 streams keyed by an FNV-1a hash of the name (runtime/init.ts), so a run started here
begins from the same weights as a WebGPU run with the same seed. Values are computed in float64
with numpy and rounded to float32, as the project does."""
import numpy as np

U32 = np.uint64(0xFFFFFFFF)


def _fnv1a(name: str) -> int:
    h = 0x811C9DC5
    for unit in _utf16_units(name):
        h = ((h ^ unit) * 0x01000193) & 0xFFFFFFFF
    return h


def _utf16_units(s: str):
    b = s.encode("utf-16-le")
    return [b[i] | (b[i + 1] << 8) for i in range(0, len(b), 2)]


def _imul(a: np.ndarray, b: int) -> np.ndarray:
    return (a * np.uint64(b)) & U32


def uniform_stream(seed: int, name: str, count: int) -> np.ndarray:
    """The first `count` draws in [0, 1) of the stream of (seed, name), as float64."""
    s0 = (_fnv1a(name) ^ ((seed * 0x9E3779B9) & 0xFFFFFFFF)) & 0xFFFFFFFF
    k = np.arange(1, count + 1, dtype=np.uint64)
    z = (np.uint64(s0) + k * np.uint64(0x9E3779B9)) & U32
    z = _imul(z ^ (z >> np.uint64(16)), 0x85EBCA6B)
    z = _imul(z ^ (z >> np.uint64(13)), 0xC2B2AE35)
    z = (z ^ (z >> np.uint64(16))) & U32
    return z.astype(np.float64) / 4294967296.0


def _normals(count: int, std: float, seed: int, name: str) -> np.ndarray:
    r = uniform_stream(seed, name, 2 * count)
    u, v = np.maximum(r[0::2], 1e-12), r[1::2]
    return std * np.sqrt(-2.0 * np.log(u)) * np.cos(2.0 * np.pi * v)


def initial_value(init: dict, shape, seed: int, name: str, lookup) -> np.ndarray:
    """float32 array of `shape` for an Init spec {kind, …} (ir/graph.ts Init)."""
    n = int(np.prod(shape)) if len(shape) else 1
    kind = init["kind"]
    if kind == "zeros":
        out = np.zeros(n)
    elif kind == "ones":
        out = np.ones(n)
    elif kind == "const":
        out = np.full(n, init["value"], dtype=np.float64)
    elif kind == "uniform":
        out = (2.0 * uniform_stream(seed, name, n) - 1.0) * init["bound"]
    elif kind == "normal":
        out = _normals(n, init["std"], seed, name)
    elif kind == "unitRows":
        w = init["width"]
        out = _normals(n, 1.0, seed, name).astype(np.float32).astype(np.float64).reshape(-1, w)
        out = out * (1.0 / np.sqrt((out * out).sum(1, keepdims=True)))
    elif kind == "copy":
        return np.array(lookup(init["of"]), dtype=np.float32).reshape(shape)
    else:
        raise ValueError(f"{name}: unknown initializer {kind!r}")
    return out.astype(np.float32).reshape(shape)

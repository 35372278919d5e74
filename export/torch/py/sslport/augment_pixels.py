"""The pixel side of one augmented view, batched with torch ops on the images' device, in the
project's order and arithmetic (kernels/augment/): bilinear resized crop + horizontal flip in
one resampling, colour jitter in each sample's random order, grayscale, gaussian blur (rows
then columns, reflect padding), solarize. Images are float32 [n, C, H, W] in [0, 1]."""
import torch

from .augment_params import draw_params
from .augment_spec import ViewRecipe

GRAY = (0.2989, 0.587, 0.114)
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3


def _taps(out_len: int, start: torch.Tensor, length: torch.Tensor, device):
    """Source rows (or columns) of every output position: two taps and the second's weight, in f32."""
    o = torch.arange(out_len, device=device, dtype=torch.float32)[None, :]
    ln = length.to(device=device, dtype=torch.float32)[:, None]
    src = torch.clamp((o + 0.5) * ln / out_len - 0.5, min=0.0)
    i0 = torch.minimum(torch.floor(src), ln - 1)
    i1 = torch.minimum(i0 + 1, ln - 1)
    st = start.to(device)[:, None]
    return st + i0.long(), st + i1.long(), src - i0


def resized_crop(x: torch.Tensor, box: torch.Tensor, flip: torch.Tensor, ho: int, wo: int) -> torch.Tensor:
    """Each sample's box [i, j, h, w] resampled to ho×wo (half-pixel centres), mirrored where flip."""
    n, c, h, w = x.shape
    dev = x.device
    y0, y1, ly = _taps(ho, box[:, 0], box[:, 2], dev)
    x0, x1, lx = _taps(wo, box[:, 1], box[:, 3], dev)
    cols = torch.arange(wo, device=dev)
    mirror = torch.where(flip.to(dev)[:, None], wo - 1 - cols[None, :], cols[None, :])
    x0, x1, lx = x0.gather(1, mirror), x1.gather(1, mirror), lx.gather(1, mirror)
    flat = x.reshape(n, c, h * w)
    pick = lambda yy, xx: flat.gather(2, (yy[:, :, None] * w + xx[:, None, :]).reshape(n, 1, ho * wo).expand(n, c, ho * wo))
    lxe = lx[:, None, None, :]
    top = (1.0 - lxe) * pick(y0, x0).reshape(n, c, ho, wo) + lxe * pick(y0, x1).reshape(n, c, ho, wo)
    bot = (1.0 - lxe) * pick(y1, x0).reshape(n, c, ho, wo) + lxe * pick(y1, x1).reshape(n, c, ho, wo)
    lye = ly[:, None, :, None]
    return (1.0 - lye) * top + lye * bot


def _gray(v: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma [n, 1, H, W] of RGB images."""
    return GRAY[0] * v[:, 0:1] + GRAY[1] * v[:, 1:2] + GRAY[2] * v[:, 2:3]


def _blend(v, other, f):
    return torch.clamp(f * v + (1.0 - f) * other, 0.0, 1.0)


def _adjust_hue(v: torch.Tensor, hf: torch.Tensor) -> torch.Tensor:
    """torchvision adjust_hue: RGB → HSV, shift h, back; hf is [n, 1, 1, 1]."""
    r, g, b = v[:, 0], v[:, 1], v[:, 2]
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    eqc = maxc == minc
    cr = maxc - minc
    one = torch.ones_like(maxc)
    s = cr / torch.where(eqc, one, maxc)
    crd = torch.where(eqc, one, cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = h / 6.0 + 1.0
    h = h - torch.floor(h)
    h = h + hf[:, 0]
    h = h - torch.floor(h)
    h6 = h * 6.0
    fi = torch.floor(h6)
    fr = h6 - fi
    sec = fi.long() % 6
    p = torch.clamp(maxc * (1.0 - s), 0.0, 1.0)
    q = torch.clamp(maxc * (1.0 - s * fr), 0.0, 1.0)
    t = torch.clamp(maxc * (1.0 - s * (1.0 - fr)), 0.0, 1.0)
    table_r = torch.stack([maxc, q, p, p, t, maxc], 0)
    table_g = torch.stack([t, maxc, maxc, q, p, p], 0)
    table_b = torch.stack([p, p, t, maxc, maxc, q], 0)
    pick = lambda tab: tab.gather(0, sec[None]).squeeze(0)
    return torch.stack([pick(table_r), pick(table_g), pick(table_b)], 1)


def _jitter_op(op: int, v: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    c = v.shape[1]
    if op == BRIGHTNESS:
        return _blend(v, 0.0, f)
    if op == CONTRAST:
        lum = _gray(v) if c == 3 else v
        mean = lum.sum(dim=(1, 2, 3), keepdim=True) / float(v.shape[2] * v.shape[3])
        return _blend(v, mean, f)
    if c != 3:
        return v  # saturation and hue do nothing to one channel
    if op == SATURATION:
        return _blend(v, _gray(v), f)
    return torch.where(f == 0.0, v, _adjust_hue(v, f))


def color_jitter(v: torch.Tensor, p: dict) -> torch.Tensor:
    dev = v.device
    on = p["jitter"].to(dev)
    if not bool(on.any()):
        return v
    order = p["order"].to(dev)
    factors = p["factors"].to(device=dev, dtype=torch.float32)
    for pos in range(4):
        for op in range(4):
            use = on & (order[:, pos] == op)
            if bool(use.any()):
                f = factors[:, op][:, None, None, None]
                v = torch.where(use[:, None, None, None], _jitter_op(op, v, f), v)
    return v


def _reflect(k: torch.Tensor, n: int) -> torch.Tensor:
    return torch.where(k < 0, -k, torch.where(k >= n, 2 * (n - 1) - k, k))


def _blur_axis(v: torch.Tensor, sigma: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    n_len = v.shape[dim]
    pos = torch.arange(n_len, device=v.device)
    acc = torch.zeros_like(v)
    wsum = torch.zeros_like(sigma)
    for t in range(2 * radius + 1):
        d = (t - radius) / torch.clamp(sigma, min=1e-30)
        w = torch.where(sigma == 0.0, torch.full_like(sigma, float(t == radius)), torch.exp(-0.5 * d * d))
        wsum = wsum + w
        src = v.index_select(dim, _reflect(pos + t - radius, n_len))
        acc = acc + w[:, None, None, None] * src
    return acc / wsum[:, None, None, None]


def gaussian_blur(v: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable blur with each sample's σ (0: unchanged), rows then columns."""
    s = sigma.to(device=v.device, dtype=torch.float32)
    if not bool((s > 0).any()):
        return v
    return _blur_axis(_blur_axis(v, s, radius, 3), s, radius, 2)


def apply_view(r: ViewRecipe, images: torch.Tensor, params: dict) -> torch.Tensor:
    dev = images.device
    v = resized_crop(images, params["box"], params["flip"], r.ho, r.wo)
    if r.jitter:
        v = color_jitter(v, params)
    if r.c == 3 and r.grayscale > 0:
        g = params["gray"].to(dev)[:, None, None, None]
        v = torch.where(g, _gray(v).expand_as(v), v)
    if r.blur:
        v = gaussian_blur(v, params["sigma"], r.blur.radius)
    if r.solarize > 0:
        s = params["solarize"].to(dev)[:, None, None, None]
        v = torch.where(s & (v >= 0.5), 1.0 - v, v)
    return v


def augment(r: ViewRecipe, images: torch.Tensor, seed: int, step: int, samples: torch.Tensor) -> torch.Tensor:
    """One view of `images`, whose rows are the given global samples of the step's batch."""
    return apply_view(r, images, draw_params(r, seed, step, samples))

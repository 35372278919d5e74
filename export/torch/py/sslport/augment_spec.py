"""One view's recipe from the spec, checked and filled in the way the project's `augment` op
reads it (kernels/augment/spec.ts normalizeAugment), so every later step reads plain numbers."""
import math
from dataclasses import dataclass
from typing import Optional, Tuple

CROP_ATTEMPTS = 10
# Philox blocks of one sample: 0..9 crop attempts, then switches, jitter factors, blur/solarize
BLOCK_CROP, BLOCK_SWITCH, BLOCK_FACTORS, BLOCK_BLUR = 0, 10, 11, 12


def round_half_even(x: float) -> int:
    return int(round(x))


def fallback_crop(h: int, w: int, ratio) -> Tuple[int, int, int, int]:
    """torchvision's centred box when 10 attempts fail: aspect clamped into the ratio range."""
    in_ratio = w / h
    ch, cw = h, w
    if in_ratio < ratio[0]:
        ch = round_half_even(cw / ratio[0])
    elif in_ratio > ratio[1]:
        cw = round_half_even(ch * ratio[1])
    return (h - ch) // 2, (w - cw) // 2, ch, cw


@dataclass
class Crop:
    scale: Tuple[float, float]
    log_ratio: Tuple[float, float]
    fallback: Tuple[int, int, int, int]


@dataclass
class Jitter:
    brightness: float
    contrast: float
    saturation: float
    hue: float
    p: float


@dataclass
class Blur:
    p: float
    sigma: Tuple[float, float]
    radius: int


@dataclass
class ViewRecipe:
    c: int
    h: int
    w: int
    ho: int
    wo: int
    crop: Optional[Crop]
    flip: float
    jitter: Optional[Jitter]
    grayscale: float
    blur: Optional[Blur]
    solarize: float
    view: int
    stream: int = 0

    @property
    def out_size(self):
        return self.ho, self.wo


def default_blur_kernel(side: int) -> int:
    k = max(3, math.floor(side / 10 + 0.5))
    return k if k % 2 == 1 else k + 1


def view_recipe(aug: dict, view: int, image_shape) -> ViewRecipe:
    """The recipe of view number `view` (its index in spec.views) for images [C, H, W]."""
    c, h, w = image_shape
    where = f"views[{view}].aug"
    if c not in (1, 3):
        raise ValueError(f"{where}: images must have 1 or 3 channels, got {c}")
    crop_spec = aug.get("crop")
    ho, wo = (crop_spec["size"], crop_spec["size"]) if crop_spec else (h, w)
    crop = None
    if crop_spec:
        scale, ratio = tuple(crop_spec["scale"]), tuple(crop_spec.get("ratio", (3 / 4, 4 / 3)))
        crop = Crop(scale, (math.log(ratio[0]), math.log(ratio[1])), fallback_crop(h, w, ratio))
    jitter = None
    cj = aug.get("colorJitter")
    if cj:
        strengths = [cj.get(k, 0) for k in ("brightness", "contrast", "saturation", "hue")]
        p = cj.get("p", 1)
        if p > 0 and sum(strengths) > 0:
            jitter = Jitter(*strengths, p)
    blur = None
    b = aug.get("blur")
    if b:
        p = b.get("p", 1)
        k = b.get("kernel") or default_blur_kernel(min(ho, wo))
        radius = (k - 1) // 2
        if radius >= min(ho, wo):
            raise ValueError(f"{where}.blur.kernel: {k} must be smaller than twice the output size {ho}×{wo}")
        if p > 0 and radius > 0:
            blur = Blur(p, tuple(b.get("sigma", (0.1, 2))), radius)
    return ViewRecipe(c, h, w, ho, wo, crop, aug.get("flip", 0), jitter, aug.get("grayscale", 0), blur,
                      aug.get("solarize", 0), view)

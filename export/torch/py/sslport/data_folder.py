"""An image folder: <dir>/train/<class>/*.png|jpg with <dir>/test/…, or <dir>/<class>/… where
each class's last ⌈0.2·count⌉ files (name order) are held out as test. Classes in sorted order;
files interleaved round-robin across classes; one channel when every image of both splits is
gray, else three. PNG decodes exactly as the project's decoder does; JPEG decoders may differ
in the last bit."""
import math
import os

import numpy as np
import torch

from .data import DataError, Dataset

IMAGE_EXT = (".png", ".jpg", ".jpeg")


def _list(d):
    return sorted(f for f in os.listdir(d) if not f.startswith("."))


def _class_files(root: str):
    classes = [c for c in _list(root) if os.path.isdir(os.path.join(root, c))]
    if not classes:
        raise DataError(f"{root}: no class sub-folders (expected {root}/<class>/<image>.png or .jpg)")
    out = {}
    for c in classes:
        files = [os.path.join(root, c, f) for f in _list(os.path.join(root, c)) if f.lower().endswith(IMAGE_EXT)]
        if not files:
            raise DataError(f"{os.path.join(root, c)}: class folder has no .png/.jpg/.jpeg images")
        out[c] = files
    return out


def _interleave(lists):
    return [(l[i], k) for i in range(max(map(len, lists), default=0)) for k, l in enumerate(lists) if i < len(l)]


def _decode(items):
    from PIL import Image
    pics = []
    for path, _ in items:
        try:
            with Image.open(path) as im:
                pics.append(np.asarray(im.convert("RGB")))
        except OSError as e:
            raise DataError(f"{path}: cannot decode ({e})") from None
    return pics


def load(folder: str, limit=None, test_limit=None) -> Dataset:
    if os.path.isdir(os.path.join(folder, "train")) and os.path.isdir(os.path.join(folder, "test")):
        train = _class_files(os.path.join(folder, "train"))
        classes = list(train)
        test = _class_files(os.path.join(folder, "test"))
        train_lists, test_lists = [train[c] for c in classes], [test.get(c, []) for c in classes]
    else:
        every = _class_files(folder)
        classes = list(every)
        cut = [len(l) - math.ceil(0.2 * len(l)) for l in every.values()]
        train_lists = [l[:k] for l, k in zip(every.values(), cut)]
        test_lists = [l[k:] for l, k in zip(every.values(), cut)]
    order = _interleave(train_lists)[:limit]
    if not order:
        raise DataError(f"{folder}: no training images")
    pics = _decode(order)
    h, w = pics[0].shape[:2]
    for (path, _), p in zip(order, pics):
        if p.shape[:2] != (h, w):
            raise DataError(f"{path}: image is {p.shape[1]}×{p.shape[0]} but {order[0][0]} is {w}×{h}; all images must have one size")
    x = np.stack(pics).transpose(0, 3, 1, 2)
    is_gray = lambda a: bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())
    gray = is_gray(np.stack(pics)) and all(is_gray(p) for p in _decode(_interleave(test_lists)[:test_limit]))
    images = torch.from_numpy(np.ascontiguousarray(x[:, :1] if gray else x))
    return Dataset(f"{folder}/train", images, torch.tensor([k for _, k in order]), len(classes))

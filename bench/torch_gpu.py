"""PyTorch running the same workloads as bench/gpu.ts, in the same invocation of bench/gpu.sh.

bench/gpu.ts passes the workload list as JSON (--workloads), so both sides read one definition:

  matmul     C = A·B, n×n×n, f32 (TF32 off: plain f32 arithmetic like the project's kernels) or f16
  bt_mlp     one Barlow Twins training step: two augmented views of `batch` 1×28×28 images, MLP
             encoder (Linear+BN+ReLU per layer), projector (Linear+BN+ReLU, …, Linear; no biases), BT loss
             (λ = 0.0051), LARS
  bt_resnet  the same with a ResNet-18 encoder (CIFAR stem) on 3×32×32 images; precision "f16"
             runs it under autocast (f16 convolutions and matmuls, f32 sums and BN)
  pipeline   the training loop of pipelines/barlow.ts's default run (batch 256, 784→512→512,
             projector 1024-1024): training images/s over `steps` steps from a device-resident set

The augmentations (random resized crop 0.08–1 with aspect 3/4–4/3, flip, brightness/contrast
jitter p 0.8, solarize p 0.2 on the second view) run on the device, batched, as the project's
step does. Eager PyTorch, timed with CUDA events after a warm-up (perf_counter on the CPU).
Prints and writes one JSON object: {torch, device, workloads: {id: {seconds, ...}}}.

Usage: python3 bench/torch_gpu.py --workloads '<json>' [--device cuda|cpu] [--out file.json]
"""
import argparse
import contextlib
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_peer import Lars, barlow_loss  # bench/torch_peer.py: the script's folder is on sys.path


# ---- models -------------------------------------------------------------------------------------

def mlp_encoder(d_in, widths):
    """the project's default encoder: Linear (no bias: a BN follows) + BN + ReLU per layer"""
    layers = []
    for w in widths:
        layers += [nn.Linear(d_in, w, bias=False), nn.BatchNorm1d(w), nn.ReLU()]
        d_in = w
    return nn.Sequential(nn.Flatten(), *layers)


def projector(d_in, widths):
    layers = []
    for i, w in enumerate(widths):
        last = i == len(widths) - 1
        layers.append(nn.Linear(d_in, w, bias=False))
        if not last:
            layers += [nn.BatchNorm1d(w), nn.ReLU()]
        d_in = w
    return nn.Sequential(*layers)


class Block(nn.Module):
    """torchvision's BasicBlock: two 3×3 convs with BN, a 1×1 conv + BN shortcut when the shape changes."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = None
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.short is None else self.short(x)))


class ResNet18(nn.Module):
    """ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no max-pool), global average pool."""

    def __init__(self, width=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks, c = [], width
        for i, w in enumerate([width, 2 * width, 4 * width, 8 * width]):
            for j in range(2):
                blocks.append(Block(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.dim = c

    def forward(self, x):
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


# ---- augmentations, batched on the device -----------------------------------------------------

def augment(x, size, solarize_p, gen):
    """Random resized crop (bilinear) + flip + brightness/contrast jitter + optional solarize."""
    b, dev = x.shape[0], x.device
    u = lambda *s: torch.rand(*s, device=dev, generator=gen)
    area = 0.08 + 0.92 * u(b)
    ratio = torch.exp(math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * u(b))
    w = torch.sqrt(area * ratio).clamp(max=1.0)
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (u(b) * 2 - 1) * (1 - w)
    cy = (u(b) * 2 - 1) * (1 - h)
    flip = torch.where(u(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w * flip, cx, h, cy
    grid = F.affine_grid(theta, (b, x.shape[1], size, size), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    on = (u(b, 1, 1, 1) < 0.8).float()
    bright = 1 + on * (u(b, 1, 1, 1) * 0.8 - 0.4)
    contrast = 1 + on * (u(b, 1, 1, 1) * 0.8 - 0.4)
    v = v * bright
    mean = v.mean(dim=(1, 2, 3), keepdim=True)
    v = ((v - mean) * contrast + mean).clamp(0, 1)
    if solarize_p > 0:
        v = torch.where((u(b, 1, 1, 1) < solarize_p) & (v >= 0.5), 1 - v, v)
    return v


# ---- timing -------------------------------------------------------------------------------------

def timer(device):
    """seconds per call of fn(), over `iters` calls after `warmup` calls, all queued before one sync"""
    def run(fn, warmup, iters):
        for _ in range(warmup):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000 / iters
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t) / iters
    return run


def median_of(run, fn, warmup, iters, rounds=3):
    return statistics.median(run(fn, warmup if r == 0 else 1, iters) for r in range(rounds))


def bench_matmul(w, device, run):
    n = w["n"]
    dtype = torch.float16 if w["dtype"] == "f16" else torch.float32
    gen = torch.Generator(device=device).manual_seed(0)
    # several input pairs so repeated products do not all hit the same cached operands
    pairs = [(torch.rand(n, n, device=device, generator=gen, dtype=torch.float32).to(dtype) - 0.5,
              torch.rand(n, n, device=device, generator=gen, dtype=torch.float32).to(dtype) - 0.5) for _ in range(3)]
    out = torch.empty(n, n, device=device, dtype=dtype)
    k = [0]

    def fn():
        a, b = pairs[k[0] % 3]
        k[0] += 1
        torch.matmul(a, b, out=out)

    s = median_of(run, fn, 3, w.get("iters", 10))
    return {"seconds": s, "tflops": 2 * n ** 3 / s / 1e12}


def step_fn(model, data, batch, size, gen, precision, device):
    opt = Lars(model.parameters(), weight_decay=1e-4)
    n = data.shape[0]
    k = [0]

    def fn():
        i = (k[0] * batch) % max(1, n - batch + 1)
        k[0] += 1
        x = data[i:i + batch]
        for p in model.parameters():
            p.grad = None
        # autocast only for f16 rows (CPU autocast has bfloat16 only: the CPU dry run uses that)
        half = torch.float16 if device.type == "cuda" else torch.bfloat16
        ctx = torch.autocast(device.type, dtype=half) if precision == "f16" else contextlib.nullcontext()
        with ctx:
            v1, v2 = augment(x, size, 0.0, gen), augment(x, size, 0.2, gen)
            loss = barlow_loss(model(v1).float(), model(v2).float())
        loss.backward()
        opt.step()
    return fn


def build(w, device):
    torch.manual_seed(0)
    if w["kind"] in ("bt_mlp", "pipeline"):
        c, hgt, wid = w.get("image", [1, 28, 28])
        model = nn.Sequential(mlp_encoder(c * hgt * wid, w["encoder"]), projector(w["encoder"][-1], w["proj"]))
    else:
        c, hgt, wid = w.get("image", [3, 32, 32])
        enc = ResNet18(w.get("width", 64))
        model = nn.Sequential(enc, projector(enc.dim, w["proj"]))
    return model.to(device), (c, hgt, wid)


def bench_step(w, device, run):
    model, (c, hgt, wid) = build(w, device)
    gen = torch.Generator(device=device).manual_seed(1)
    batch = w["batch"]
    data = torch.rand(4 * batch, c, hgt, wid, device=device, generator=gen)
    fn = step_fn(model, data, batch, hgt, gen, w.get("precision", "f32"), device)
    s = median_of(run, fn, 3, w.get("iters", 10))
    return {"seconds": s}


def bench_pipeline(w, device, run):
    """training images/s: `steps` steps over a device-resident set of w['train'] images"""
    model, (c, hgt, wid) = build(w, device)
    gen = torch.Generator(device=device).manual_seed(2)
    data = torch.rand(w["train"], c, hgt, wid, device=device, generator=gen)
    batch, steps = w["batch"], w["steps"]
    fn = step_fn(model, data, batch, hgt, gen, "f32", device)
    s = run(fn, 5, steps)
    # per training image, as the project's side reports it (1 / images/s)
    return {"seconds": s / batch, "images_per_sec": batch / s, "steps": steps, "step_seconds": s}


KINDS = {"matmul": bench_matmul, "bt_mlp": bench_step, "bt_resnet": bench_step, "pipeline": bench_pipeline}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", required=True, help="JSON list of workloads (bench/gpu.ts)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out")
    a = ap.parse_args()
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    run = timer(device)
    out = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "tf32": False,
        "workloads": {},
    }
    for w in json.loads(a.workloads):
        t = time.perf_counter()
        try:
            r = KINDS[w["kind"]](w, device, run)
        except Exception as e:  # one failing workload must not lose the others
            r = {"error": f"{type(e).__name__}: {e}"}
        r["wall_seconds"] = round(time.perf_counter() - t, 2)
        out["workloads"][w["id"]] = r
        print(f"torch {w['id']}: {r}", flush=True)
    text = json.dumps(out)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

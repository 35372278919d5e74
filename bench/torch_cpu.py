"""PyTorch on the CPU running the same training steps as `deno task bench`, for same-run ratios.

  bt_mlp:   batch 256, two views of 784 pixels, encoder 784→1024→1024 (Linear+BN+ReLU, bias),
            projector 1024→2048 (Linear+BN+ReLU) → 2048, Barlow Twins loss (λ = 0.0051), LARS
  resnet18: batch 32, two views of 3×32×32, ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no
            max-pool), projector 512→2048→2048, Barlow Twins loss, LARS
  cnn:      batch 256, two views of 1×28×28, per stage conv 3×3 (no bias) → BN → ReLU → 2×2
            max-pool, widths 32, 64, 128, global average pool, projector 128→1024→1024, Barlow
            Twins loss, LARS (the project's `--encoder cnn:32,64,128`)

The project's steps also run their two augmentations on the device; here the views are given,
which favours PyTorch slightly. Prints one JSON object: median seconds per step of each workload.
Usage: python3 bench/torch_cpu.py [--threads 2] [--repeats 5] [--only bt_mlp,resnet18,cnn]

--serve: build the workloads and take one warm-up step of each, print one JSON line (the
versions), then for every workload name read from standard input run one step and print
{"seconds": …} — bench/paired.ts alternates these steps with the project's.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision

from torch_peer import Lars, barlow_loss  # bench/torch_peer.py: the script's folder is on sys.path


def projector(d_in, widths):
    layers = []
    for i, w in enumerate(widths):
        last = i == len(widths) - 1
        layers.append(nn.Linear(d_in, w, bias=last))
        if not last:
            layers += [nn.BatchNorm1d(w), nn.ReLU()]
        d_in = w
    return nn.Sequential(*layers)


def mlp_encoder(d_in, widths):
    layers = []
    for w in widths:
        layers += [nn.Linear(d_in, w), nn.BatchNorm1d(w), nn.ReLU()]
        d_in = w
    return nn.Sequential(*layers)


def cifar_resnet18():
    net = torchvision.models.resnet18()
    net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    return net


def small_cnn(widths=(32, 64, 128)):
    layers, c = [], 1
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def training_step(model, views):
    """One Barlow Twins step of `model` on the two views, as a function; the first call warms up."""
    opt = Lars(model.parameters(), weight_decay=1e-6)

    def step():
        for p in model.parameters():
            p.grad = None
        za, zb = model(views[0]), model(views[1])
        loss = barlow_loss(za, zb)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def seconds(step):
    t = time.perf_counter()
    step()
    return time.perf_counter() - t


def timed_step(step, repeats):
    step()  # warm-up: allocations, thread pool
    return statistics.median(seconds(step) for _ in range(repeats))


RESULT_KEY = {"bt_mlp": "bt_mlp_step_seconds", "resnet18": "resnet18_bt_step_seconds", "cnn": "cnn_bt_step_seconds"}


def workloads(only):
    """The steps of the workloads named in `only`, by workload name."""
    steps = {}
    if "bt_mlp" in only:
        bt = nn.Sequential(mlp_encoder(784, [1024, 1024]), projector(1024, [2048, 2048]))
        steps["bt_mlp"] = training_step(bt, [torch.rand(256, 784), torch.rand(256, 784)])
    if "resnet18" in only:
        rn = nn.Sequential(cifar_resnet18(), projector(512, [2048, 2048]))
        steps["resnet18"] = training_step(rn, [torch.rand(32, 3, 32, 32), torch.rand(32, 3, 32, 32)])
    if "cnn" in only:
        cnn = nn.Sequential(small_cnn(), projector(128, [1024, 1024]))
        steps["cnn"] = training_step(cnn, [torch.rand(256, 1, 28, 28), torch.rand(256, 1, 28, 28)])
    return steps


def serve(steps, meta):
    for step in steps.values():
        step()
    print(json.dumps(meta), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name not in steps:
            print(json.dumps({"error": f"unknown workload '{name}'; serving {sorted(steps)}"}), flush=True)
            continue
        print(json.dumps({"seconds": seconds(steps[name])}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated workloads: bt_mlp, resnet18, cnn (default all)")
    ap.add_argument("--serve", action="store_true", help="one step per workload name read from standard input")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    only = set(a.only.split(",")) if a.only else {"bt_mlp", "resnet18", "cnn"}
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        # Debian's torch calls the system BLAS; which library that is, is the alternatives' choice
        "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
    }
    steps = workloads(only)
    if a.serve:
        return serve(steps, out)
    for name, step in steps.items():
        out[RESULT_KEY[name]] = timed_step(step, max(2, a.repeats // 2) if name == "resnet18" else a.repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

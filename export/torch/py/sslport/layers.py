"""The project's modules as torch modules with its parameter names, shapes and initial values
(nn/): an MLP of Linear [+BN] [+ReLU] layers, the small CNN (conv → BN → ReLU → 2×2 max-pool
stages, global average pool) and ResNet-18 (torchvision's BasicBlock layout and names, CIFAR or
ImageNet stem, a width multiplier). Batch norm takes its statistics over the GLOBAL batch (a
sync batch norm: per-rank sums all-reduced with gradients), so a torchrun job normalises like
one device; every view goes through a module separately, as in the project."""
import math

import torch
import torch.nn.functional as F

from .collectives import all_reduce_sum, world


class BatchNorm(torch.nn.Module):
    """PyTorch's batch norm semantics: normalise with the biased variance, track the running
    variance with the unbiased one, running = 0.9·running + 0.1·batch. Names: weight, bias (when
    affine), running_mean, running_var."""

    def __init__(self, channels: int, affine: bool = True, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        if affine:
            self.weight = torch.nn.Parameter(torch.ones(channels))
            self.bias = torch.nn.Parameter(torch.zeros(channels))
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axes = [0] if x.dim() == 2 else [0, 2, 3]
        shape = [1, -1] if x.dim() == 2 else [1, -1, 1, 1]
        if self.training:
            count = x.numel() // x.shape[1] * world()
            if count < 2:
                raise ValueError(f"batch norm: training needs more than 1 value per channel, got {list(x.shape)}")
            mean = all_reduce_sum(x.sum(axes)) / count
            xc = x - mean.reshape(shape)
            var = all_reduce_sum(xc.square().sum(axes)) / count
            xhat = xc * torch.rsqrt(var + self.eps).reshape(shape)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach() * m)
                self.running_var.mul_(1 - m).add_(var.detach() * (count / (count - 1)) * m)
        else:
            xhat = (x - self.running_mean.reshape(shape)) * torch.rsqrt(self.running_var + self.eps).reshape(shape)
        if self.weight is None:
            return xhat
        return xhat * self.weight.reshape(shape) + self.bias.reshape(shape)


class MlpLayer(torch.nn.Module):
    def __init__(self, fan_in: int, out: int, bias: bool, bn: bool, bn_affine: bool, relu: bool):
        super().__init__()
        self.linear = torch.nn.Linear(fan_in, out, bias=bias)
        self.bn = BatchNorm(out, affine=bn_affine) if bn else None
        self.relu = relu

    def forward(self, x):
        h = self.linear(x)
        if self.bn is not None:
            h = self.bn(h)
        return F.relu(h) if self.relu else h


class MLP(torch.nn.Module):
    """Layer i: `i.linear.{weight,bias}`, `i.bn.*`. Hidden layers Linear → [BN] → [ReLU]; the
    last Linear → [BN] → [ReLU] by last_bn / last_relu. Inputs of rank 4 are flattened."""

    def __init__(self, fan_in: int, widths, bias=True, bn=True, relu=True, last_bn=False, last_bn_affine=True,
                 last_relu=False):
        super().__init__()
        for i, w in enumerate(widths):
            last = i == len(widths) - 1
            self.add_module(str(i), MlpLayer(fan_in, w, bias, last_bn if last else bn,
                                             last_bn_affine if last else True, last_relu if last else relu))
            fan_in = w

    def forward(self, x):
        h = x.flatten(1) if x.dim() > 2 else x
        for layer in self.children():
            h = layer(h)
        return h


def conv(cin: int, cout: int, k: int, stride: int = 1, pad: int = None) -> torch.nn.Conv2d:
    return torch.nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2 if pad is None else pad, bias=False)


class CNN(torch.nn.Module):
    """Stage i: `conv{i}.weight` (k×k, stride 1, same padding) → `bn{i}.*` → ReLU → 2×2 max-pool
    (while the map is at least 2×2); then the mean over each feature map."""

    def __init__(self, cin: int, channels, kernel=3, bn=True, pool=True):
        super().__init__()
        self.stages, self.pool = len(channels), pool
        for i, ch in enumerate(channels):
            setattr(self, f"conv{i}", conv(cin, ch, kernel))
            if bn:
                setattr(self, f"bn{i}", BatchNorm(ch))
            cin = ch
        self.bn = bn

    def forward(self, x):
        h = x
        for i in range(self.stages):
            h = getattr(self, f"conv{i}")(h)
            if self.bn:
                h = getattr(self, f"bn{i}")(h)
            h = F.relu(h)
            if self.pool and h.shape[2] >= 2 and h.shape[3] >= 2:
                h = F.max_pool2d(h, 2, 2)
        return h.mean((2, 3))


class BasicBlock(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 3, stride), BatchNorm(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3), BatchNorm(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = torch.nn.Sequential(conv(cin, cout, 1, stride, 0), BatchNorm(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(torch.nn.Module):
    """torchvision's names: conv1, bn1, layer1..4.{0,1}.{conv1,bn1,conv2,bn2,downsample.{0,1}};
    widths width·[1, 2, 4, 8]; output the global average pool [N, 8·width]."""

    def __init__(self, cin: int, width: int = 64, stem: str = "cifar"):
        super().__init__()
        self.stem = stem
        self.conv1 = conv(cin, width, 3, 1) if stem == "cifar" else conv(cin, width, 7, 2, 3)
        self.bn1 = BatchNorm(width)
        c = width
        for s in range(4):
            out = width << s
            blocks = [BasicBlock(c if b == 0 else out, out, 2 if s > 0 and b == 0 else 1) for b in range(2)]
            setattr(self, f"layer{s + 1}", torch.nn.Sequential(*blocks))
            c = out

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.stem == "imagenet":
            h = F.max_pool2d(h, 3, 2, 1)
        for s in range(4):
            h = getattr(self, f"layer{s + 1}")(h)
        return h.mean((2, 3))


def init_specs(module: torch.nn.Module) -> dict:
    """The project's initializer of every parameter and BN buffer, by local name (nn/*.ts):
    Linear U(±1/√fan_in) for weight and bias, conv normal with std √(2/fan_out), BN γ = 1,
    β = 0, running mean 0, running variance 1."""
    out = {}
    for prefix, m in module.named_modules():
        at = lambda leaf: f"{prefix}.{leaf}" if prefix else leaf
        if isinstance(m, torch.nn.Linear):
            bound = {"kind": "uniform", "bound": 1 / math.sqrt(m.in_features)}
            out[at("weight")] = bound
            if m.bias is not None:
                out[at("bias")] = bound
        elif isinstance(m, torch.nn.Conv2d):
            o, _, kh, kw = m.weight.shape
            out[at("weight")] = {"kind": "normal", "std": math.sqrt(2 / (o * kh * kw))}
        elif isinstance(m, BatchNorm):
            if m.weight is not None:
                out[at("weight")], out[at("bias")] = {"kind": "ones"}, {"kind": "zeros"}
            out[at("running_mean")], out[at("running_var")] = {"kind": "zeros"}, {"kind": "ones"}
    return out

"""What bench/torch_cpu.py and bench/torch_gpu.py share: the Barlow Twins loss and LARS as the
project's step computes them (timing peers, not parity references: the parity tests use the
exported program in export/torch/)."""
import torch


def barlow_loss(za, zb, lam=0.0051):
    n = za.shape[0]
    za = (za - za.mean(0)) / za.std(0, unbiased=False).add(1e-5)
    zb = (zb - zb.mean(0)) / zb.std(0, unbiased=False).add(1e-5)
    c = za.T @ zb / n
    d = torch.diagonal(c)
    return (d - 1).pow(2).sum() + lam * (c.pow(2).sum() - d.pow(2).sum())


class Lars:
    """SGD with momentum and LARS trust ratios; 1-D parameters (biases, BN) skip decay and adaptation."""

    def __init__(self, params, weight_decay, lr=0.2, momentum=0.9, eta=1e-3):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.mu, self.wd, self.eta = lr, momentum, weight_decay, eta
        self.buf = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        for p, b in zip(self.params, self.buf):
            g = p.grad
            if p.ndim > 1:
                g = g.add(p, alpha=self.wd)
                wn, gn = p.norm(), g.norm()
                g = g.mul(torch.where((wn > 0) & (gn > 0), self.eta * wn / gn, torch.ones_like(wn)))
            b.mul_(self.mu).add_(g)
            p.add_(b, alpha=-self.lr)

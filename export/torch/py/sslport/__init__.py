"""The spec-independent half of a program written by tools/to_torch.ts: the project's random
streams, augmentations, modules, losses, optimizers, schedules, data readers and checkpoint
format in PyTorch, so a spec trains here as it trains on WebGPU."""

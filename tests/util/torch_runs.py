"""Runs several generated programs' train.py in one Python process: `torch_runs.py runs.json`
with runs [{program, args}], alone or as every rank of one torchrun job (the process group is
started once and kept across the runs), so the DDP test pays torch's start-up once."""
import importlib.util
import json
import os
import sys

import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "export", "torch", "py"))

from sslport.main import main  # noqa: E402

if __name__ == "__main__":
    runs = json.load(open(sys.argv[1]))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    for i, r in enumerate(runs):
        spec = importlib.util.spec_from_file_location(f"program_{i}", os.path.join(r["program"], "program.py"))
        program = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(program)
        main(program, r["args"])
    if dist.is_initialized():
        dist.destroy_process_group()

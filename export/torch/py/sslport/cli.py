"""The generated program's command line, and the spec it trains after the flags that change it
(--batch, --data: the spec hash is then recomputed as the project computes it)."""
import argparse
import json
import os
import sys

from .spec_hash import spec_hash


def parse_args(argv):
    a = argparse.ArgumentParser(prog="train.py", description="Train this folder's spec with PyTorch (see README.md next to it).")
    a.add_argument("--steps", type=int, help="stop once N steps (counted from step 0) are done; the lr/τ schedules keep the spec's length")
    a.add_argument("--batch", type=int, help="global batch (all ranks together); changes the spec (lr scales with it) and its hash")
    a.add_argument("--out", help="run folder: metrics.jsonl, checkpoint.safetensors (default runs/<spec name>)")
    a.add_argument("--resume", help="run folder or checkpoint file to continue from (the project's or this program's)")
    a.add_argument("--overwrite", action="store_true", help="start afresh in an --out folder that holds an earlier run, replacing its files")
    a.add_argument("--device", default="cpu", help="cpu or cuda (each torchrun rank takes cuda:LOCAL_RANK)")
    a.add_argument("--log-every", type=int, help="log the loss every K steps (default: as the project's trainer)")
    a.add_argument("--data", help="data set name or folder (fashion-mnist, mnist:<dir>, cifar10:<dir>, synthetic, …); changes the spec")
    a.add_argument("--encoder-only", metavar="FILE", help="write the encoder's weights as a PyTorch state dict and exit "
                   "(ResNet-18: torchvision names); from --resume, else from the initial weights")
    a.add_argument("--threads", type=int, help="torch CPU threads of this process")
    return a.parse_args(argv)


def fail(msg: str, code: int = 2):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


def printable(text: str) -> str:
    """A spec's text (its method) with control characters escaped, as the project's report/printable.ts."""
    out = []
    for c in str(text):
        n = ord(c)
        if c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif n < 0x20 or 0x7f <= n <= 0x9f:
            out.append(f"\\x{n:02x}")
        elif n in (0x2028, 0x2029) or 0x202a <= n <= 0x202e or 0x2066 <= n <= 0x2069:
            out.append(f"\\u{n:04x}")
        else:
            out.append(c)
    return "".join(out)


def check_out(out: str) -> str:
    """--out must be a folder or a place one can be made: checked before anything is loaded."""
    if os.path.exists(out) and not os.path.isdir(out):
        fail(f"--out {out}: is a file, not a folder; name a folder for the run (it is created if missing)")
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        fail(f"--out {out}: {parent} is a file, so the run folder cannot be made inside it")
    return out


RUN_FILES = ("checkpoint.safetensors", "metrics.jsonl", "report.json", "loss.svg", "correlation.png")


def check_run_folder(out: str, resume: bool, overwrite: bool, delete: bool = True) -> None:
    """As the project's trainer: a folder holding a run is refused unless --resume (continue it)
    or --overwrite (its run files are deleted first, by the process given `delete`)."""
    if resume and overwrite:
        fail(f"{out}: --resume and --overwrite exclude each other (continue the run, or replace it)")
    existing = [f for f in RUN_FILES if os.path.exists(os.path.join(out, f))]
    if existing and not resume and not overwrite:
        fail(f"{out} already holds a run ({', '.join(existing)}). To continue it: --resume {out}. "
             "To start another run beside it: --out <another folder>. To replace it: --overwrite.")
    if overwrite and delete:
        for f in existing:
            os.remove(os.path.join(out, f))


def run_spec(program, args):
    """(spec, hash) after --batch and --data; a flag out of range fails here, naming it."""
    spec = json.loads(program.SPEC_JSON)
    changed = False
    if args.batch is not None:
        if args.batch < 2:
            fail(f"--batch: expected an integer ≥ 2, got {args.batch}")
        for q in spec.get("queues", []):
            if q["size"] % args.batch:
                fail(f"--batch {args.batch}: queue '{q['name']}' of {q['size']} rows is not a multiple of the batch")
        changed |= spec["batch"] != args.batch
        spec["batch"] = args.batch
    if args.data is not None:
        changed |= spec["data"]["name"] != args.data
        spec["data"]["name"] = args.data
    if args.steps is not None and args.steps < 0:
        fail(f"--steps: expected an integer ≥ 0, got {args.steps}")
    for flag, value in (("--log-every", args.log_every), ("--threads", args.threads)):
        if value is not None and value < 1:
            fail(f"{flag}: expected an integer ≥ 1, got {value}")
    return spec, (spec_hash(spec) if changed else program.SPEC_HASH)

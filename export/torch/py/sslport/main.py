"""The training program: `train.py [--steps N] [--batch GLOBAL_BATCH] [--out RUN] [--resume RUN]
[--overwrite] [--device cpu|cuda] [--log-every K] [--data NAME] [--encoder-only FILE.pt]
[--threads T]`, one process or one rank of `torchrun --nproc_per_node=P train.py …` (DDP; each
rank takes a contiguous shard of every global batch; the loss is evaluated on the gathered
global batch). Mirrors the project's trainer: the epoch order, the views, the per-step scalars,
metrics.jsonl, and a checkpoint in the project's format at every epoch end, at the end and on
Ctrl-C (all ranks stop at the same step)."""
import math
import os
import signal
import sys
import time

import torch

from . import checkpoint, collectives, metrics
from .augment_spec import view_recipe
from .cli import check_out, check_run_folder, fail, parse_args, printable, run_spec
from .data import DataError, load_train
from .model import Model
from .philox import js_round
from .schedule import lr_scalars, steps_per_epoch, total_steps
from .shuffle import batch_rows
from .spec_hash import canonical_json
from .step import train_step


def load_data(spec):
    try:
        return load_train(spec["data"]["name"], spec["data"].get("trainLimit"), spec["data"].get("testLimit"))
    except DataError as e:
        fail(str(e))


def view_recipes(spec, data) -> dict:
    """Every view's recipe for this data set's images; one the images cannot take fails by name."""
    try:
        return {v["name"]: view_recipe(v["aug"], i, data.shape) for i, v in enumerate(spec["views"])}
    except ValueError as e:
        fail(f"{data.name}: {e}")


def build_model(program, spec, args, device):
    """(model, first step, data or None). The data set is read only when training needs it or
    the view shapes cannot be read off the checkpoint (--encoder-only)."""
    ck = None
    if args.resume:
        try:
            ck = checkpoint.load(args.resume, args.hash)
        except checkpoint.CheckpointError as e:
            fail(str(e))
    data, shapes = None, None
    if args.encoder_only and ck is not None:
        from .encoder_export import view_shapes_from_checkpoint
        shapes = view_shapes_from_checkpoint(program, spec, ck["tensors"])
    if shapes is None:
        data = load_data(spec)
        shapes = {name: (data.shape[0], *r.out_size) for name, r in view_recipes(spec, data).items()}
    model = Model(program, spec, shapes, device)
    if ck is None:
        model.init(spec["seed"])
        return model, 0, data
    try:
        checkpoint.check_shapes(ck, model.shapes(), args.resume)
    except checkpoint.CheckpointError as e:
        fail(str(e))
    model.load(ck["tensors"])
    # tensors this program does not use (e.g. the loss-scaling state of a mixed-precision WebGPU
    # run) go back into every checkpoint it writes, so that run can resume from it
    model.passthrough = {k: v for k, v in ck["tensors"].items() if k not in model.shapes()}
    return model, ck["step"], data


def main(program, argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spec, args.hash = run_spec(program, args)  # also checks the flags
    if not args.encoder_only:  # the run folder is refused before the data are loaded
        args.out = check_out(args.out or os.path.join("runs", spec["name"]))
        check_run_folder(args.out, bool(args.resume), args.overwrite, delete=False)
    if args.threads:
        torch.set_num_threads(args.threads)
    device, owns_group = collectives.init_from_env(args.device)
    world, rank = collectives.world(), collectives.rank()
    if spec["batch"] % world:
        fail(f"the global batch {spec['batch']} does not split over {world} processes")
    model, start, data = build_model(program, spec, args, device)
    interrupted = False
    if args.encoder_only:
        from .encoder_export import write_encoder
        if rank == 0:
            print(f"wrote {write_encoder(model, args.encoder_only, start)}")
    else:
        interrupted = train(program, spec, args, model, start, data or load_data(spec), device)
    if owns_group:
        torch.distributed.destroy_process_group()
    if interrupted:
        sys.exit(130)


def train(program, spec, args, model, start, data, device) -> bool:
    """Steps [start, end) with metrics and checkpoints; returns whether Ctrl-C stopped it."""
    world, rank = collectives.world(), collectives.rank()
    batch, seed = spec["batch"], spec["seed"]
    recipes = view_recipes(spec, data)
    out = args.out or os.path.join("runs", spec["name"])
    try:
        spe, total = steps_per_epoch(batch, data.n), total_steps(spec, data.n)
    except ValueError as e:  # a global batch larger than the data set
        fail(f"{data.name}: {e}")
    end = min(total, args.steps) if args.steps is not None else total
    log_every = args.log_every or max(1, min(50, spe // 20 or 1))
    diag_every = log_every * max(1, js_round((spe // 4) / log_every))
    metrics_path = os.path.join(out, "metrics.jsonl")
    # every rank refuses a folder holding a run, before rank 0 writes anything there
    check_run_folder(out, bool(args.resume), args.overwrite, delete=rank == 0)
    collectives.barrier()
    if rank == 0:
        if spec.get("precision", "f32") != "f32":
            print(f"note: the spec asks for precision {spec['precision']}; this program trains in float32 "
                  "(the loss-scaling state of a checkpoint passes through unchanged)", flush=True)
        os.makedirs(out, exist_ok=True)
        if not args.resume:
            open(metrics_path, "w").close()
        print(f"{printable(spec['method'])} '{spec['name']}': global batch {batch} on {world} process(es), steps {start} → {end} "
              f"of {total}, {data.name} {data.n} images of {'×'.join(map(str, data.shape))}, device {device} → {out}",
              flush=True)
    online = model.step
    if world > 1:
        ids = [torch.device(device).index] if device.startswith("cuda") else None
        online = torch.nn.parallel.DistributedDataParallel(model.step, device_ids=ids, broadcast_buffers=False)
    per = batch // world
    samples = torch.arange(rank * per, (rank + 1) * per, dtype=torch.int64, device=device)

    def save(step: int):
        if rank != 0:
            return
        bad = [k for k, t in model.tensors().items() if not bool(torch.isfinite(t).all())]
        if bad:
            fail(f"parameters or state became non-finite by step {step}: {', '.join(bad[:5])}; the last good "
                 f"checkpoint in {out} is kept. Try a lower lr or a longer warmup.", 1)
        checkpoint.save(out, {**model.passthrough, **model.numpy()}, canonical_json(spec), args.hash, step, step // spe)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    t0 = time.time()
    step = start
    while step < end and not collectives.any_rank(stop["now"], device):
        rows = batch_rows(step, batch, data.n, seed)[rank * per:(rank + 1) * per]
        loss, branches = train_step(model, online, recipes, data.batch(rows).to(device), samples, step, spe, total)
        last = step == end - 1 or (step + 1) % spe == 0
        if (step + 1) % log_every == 0 or last:
            value = float(loss)
            if not math.isfinite(value):
                fail(f"loss became {value} at step {step} (epoch {step // spe + 1}); the last good checkpoint in "
                     f"{out} is kept. Try a lower lr or a longer warmup.", 1)
            if rank == 0:
                rec = {"step": step, "epoch": step // spe + 1, "loss": value, "lr": lr_scalars(spec, step, spe, total)["lr"]}
                if program.PAIR and ((step + 1) % diag_every == 0 or last):
                    rec.update(metrics.collapse_diagnostics(*(branches[k] for k in program.PAIR)))
                rec["seconds"] = time.time() - t0
                metrics.append(metrics_path, rec)
        if last and step + 1 < end:
            save(step + 1)
        step += 1
    save(step)
    interrupted = step < end
    if rank == 0:
        dt = time.time() - t0
        what = "interrupted" if interrupted else "done"
        print(f"{what}: {step - start} steps in {dt:.1f} s ({(step - start) * batch / max(dt, 1e-9):.0f} images/s); "
              f"checkpoint at step {step} in {out}", flush=True)
    return interrupted

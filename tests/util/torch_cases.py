"""The PyTorch side of tests/torch_*_test.ts: `torch_cases.py cases.json` runs each case and
writes its results to the safetensors file the case names (`out`); the TypeScript test compares
them with the project's. One process for many cases, so torch is imported once.

Case kinds (fields besides `kind` and `out`):
  grads    program, checkpoint, views: loss and every parameter gradient from the given views
  steps    program, checkpoint, views (<step>.<view> entries), start, count, spe, total:
           `count` training steps on the given views; the state after them and the losses
  augment  views [{name, aug}], images, seed, step: each view (index = its position) of the batch
  init     program, image [C, H, W]: the program's initial state for the spec's seed
  shuffle  orders [[n, seed, epoch], …]: each epoch order as a float tensor
  synthetic n: the synthetic training images
  hash     program, batch: the spec hash after changing the batch (written to out as text)
  data     name, limit: the training split as the program reads it (float pixels, labels)
  embed    program, encoder (a --encoder-only state dict), npy (written by tools/embed.ts), n: the .npy
           as numpy reads it, and the features of the first n synthetic test images under
           program.encoder(shape) loaded strictly with that state dict (inference mode)
  torchvision  encoder (a --encoder-only state dict), stem, images: features of
           torchvision.models.resnet18 loaded with it (strict but for the head `fc`)
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
# the runtime package the generator copies into every program folder, imported from its source
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "export", "torch", "py"))
_programs = {}


def load_program(folder: str):
    """program.py of a generated folder (each under its own module name; sslport is shared)."""
    if folder not in _programs:
        spec = importlib.util.spec_from_file_location(f"program_{len(_programs)}", os.path.join(folder, "program.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _programs[folder] = mod
    return _programs[folder]


def save(path, tensors):
    from sslport import safetensors
    safetensors.write(path, {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}, {})


def model_from(case, view_tensors, optimizer_state=True):
    from sslport import checkpoint
    from sslport.model import Model
    program = load_program(case["program"])
    spec = json.loads(program.SPEC_JSON)
    shapes = {v["name"]: tuple(view_tensors[v["name"]].shape[1:]) for v in spec["views"]}
    model = Model(program, spec, shapes, "cpu")
    shapes = model.shapes()
    if not optimizer_state:  # a forward/backward checkpoint holds no optimizer state
        shapes = {k: v for k, v in shapes.items() if k not in model.opt_state}
    ck = checkpoint.load(case["checkpoint"], program.SPEC_HASH, shapes)
    extra = sorted(set(ck["tensors"]) - set(shapes))
    if extra:
        raise SystemExit(f"{case['checkpoint']}: tensors the program does not hold: {extra}")
    model.load(ck["tensors"], strict=optimizer_state)
    return model


def views_at(store, prefix=""):
    return {k[len(prefix):]: torch.from_numpy(v) for k, v in store.items() if k.startswith(prefix)}


def case_grads(case):
    from sslport import safetensors
    from sslport.step import forward_loss
    views = views_at(safetensors.read(case["views"])[0])
    model = model_from(case, views, optimizer_state=False)
    loss, _ = forward_loss(model, model.step, views)
    loss.backward()
    out = {f"grad.{n}": p.grad.numpy() for n, p in model.params()}
    out["loss"] = np.array([float(loss)])
    save(case["out"], out)


def case_steps(case):
    from sslport import safetensors
    from sslport.step import apply_updates, forward_loss
    store = safetensors.read(case["views"])[0]
    model = model_from(case, views_at(store, f"{case['start']}."))
    losses = []
    for s in range(case["start"], case["start"] + case["count"]):
        loss, branches = forward_loss(model, model.step, views_at(store, f"{s}."))
        for _, p in model.params():
            p.grad = None
        loss.backward()
        apply_updates(model, branches, s, case["spe"], case["total"])
        losses.append(float(loss))
    out = {f"state.{k}": v for k, v in model.numpy().items()}
    out["losses"] = np.array(losses)
    save(case["out"], out)


def case_augment(case):
    from sslport import safetensors
    from sslport.augment_spec import view_recipe
    from sslport.augment_pixels import augment
    images = torch.from_numpy(safetensors.read(case["images"])[0]["images"])
    rows = torch.arange(images.shape[0])
    out = {}
    for i, v in enumerate(case["views"]):
        r = view_recipe(v["aug"], i, tuple(images.shape[1:]))
        out[v["name"]] = augment(r, images, case["seed"], case["step"], rows).numpy()
    save(case["out"], out)


def case_init(case):
    from sslport.model import Model
    program = load_program(case["program"])
    spec = json.loads(program.SPEC_JSON)
    c, h, w = case["image"]
    shapes = {}
    for v in spec["views"]:
        crop = v["aug"].get("crop")
        shapes[v["name"]] = (c, crop["size"], crop["size"]) if crop else (c, h, w)
    model = Model(program, spec, shapes, "cpu")
    model.init(spec["seed"])
    save(case["out"], model.numpy())


def case_shuffle(case):
    from sslport.shuffle import shuffle_index
    save(case["out"], {f"{n}.{seed}.{epoch}": shuffle_index(torch.arange(n), n, seed, epoch).double().numpy()
                       for n, seed, epoch in case["orders"]})


def case_synthetic(case):
    from sslport.data_synthetic import make
    save(case["out"], {"images": make(case["n"]).images.numpy()})


def case_hash(case):
    from sslport.spec_hash import spec_hash
    program = load_program(case["program"])
    spec = json.loads(program.SPEC_JSON)
    same = spec_hash(spec)
    spec["batch"] = case["batch"]
    with open(case["out"], "w") as f:
        json.dump({"same": same, "changed": spec_hash(spec)}, f)


def case_data(case):
    from sslport.data import load_train
    d = load_train(case["name"], case.get("limit"))
    save(case["out"], {"images": d.batch(torch.arange(d.n)).numpy(), "labels": d.labels.numpy()})


def case_embed(case):
    from sslport.data_synthetic import make
    program = load_program(case["program"])
    test = make(case["n"], split=1)
    encoder = program.encoder(test.shape)
    encoder.load_state_dict(torch.load(case["encoder"]), strict=True)
    encoder.eval()
    with torch.no_grad():
        mine = encoder(test.batch(torch.arange(case["n"])))
    save(case["out"], {"npy": np.load(case["npy"]), "labels": np.load(case["npy"].replace(".npy", ".labels.npy")),
                       "features": mine.numpy(), "want_labels": test.labels.numpy()})


def case_torchvision(case):
    import torchvision
    from sslport import safetensors
    net = torchvision.models.resnet18()
    if case["stem"] == "cifar":
        net.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        net.maxpool = torch.nn.Identity()
    missing, unexpected = net.load_state_dict(torch.load(case["encoder"]), strict=False)
    if sorted(missing) != ["fc.bias", "fc.weight"] or unexpected:
        raise SystemExit(f"torchvision load: missing {missing}, unexpected {unexpected} (want only fc missing)")
    net.fc = torch.nn.Identity()
    net.eval()
    images = torch.from_numpy(safetensors.read(case["images"])[0]["images"])
    with torch.no_grad():
        save(case["out"], {"features": net(images).numpy()})


if __name__ == "__main__":
    cases = json.load(open(sys.argv[1]))
    for c in cases:
        globals()[f"case_{c['kind']}"](c)
    print(json.dumps({"cases": len(cases)}))

#!/usr/bin/env bash
# The project next to PyTorch on this machine's CPU, in one invocation so the ratios compare like
# with like: `deno task bench` (writes bench/results.json), then the same Barlow Twins MLP step and
# ResNet-18 step in PyTorch (Debian's python3-torch with OpenBLAS, 2 threads; bench/torch_cpu.py),
# then the ratios project time / PyTorch time into bench/results.json. Installs what is missing.
# Extra arguments go to the project's bench (e.g. --quick). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-torchvision libopenblas0-pthread >/dev/null
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/ssl-webgpu-xdg}"; mkdir -p "$XDG_RUNTIME_DIR"
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
node_modules/.bin/deno task bench "$@"
torch_json=$(/usr/bin/python3 bench/torch_cpu.py --threads 2)
echo "PyTorch (CPU): $torch_json"
TORCH="$torch_json" node -e '
const fs = require("node:fs");
const file = "bench/results.json";
const r = JSON.parse(fs.readFileSync(file, "utf8")), t = JSON.parse(process.env.TORCH);
const round = (v) => Math.round(v * 1000) / 1000;
r.torch_cpu = { version: t.torch, threads: t.threads, blas: t.blas, bt_step_seconds: round(t.bt_mlp_step_seconds), resnet18_bt_step_seconds: round(t.resnet18_bt_step_seconds) };
r.bt_step_vs_torch_cpu = round(r.bt_step_seconds / t.bt_mlp_step_seconds);
r.resnet18_step_vs_torch_cpu = round(r.resnet18_bt_step_seconds / t.resnet18_bt_step_seconds);
fs.writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
console.log(`bt_step_vs_torch_cpu ${r.bt_step_vs_torch_cpu} (project ${r.bt_step_seconds} s, PyTorch ${round(t.bt_mlp_step_seconds)} s)`);
console.log(`resnet18_step_vs_torch_cpu ${r.resnet18_step_vs_torch_cpu} (project ${r.resnet18_bt_step_seconds} s, PyTorch ${round(t.resnet18_bt_step_seconds)} s)`);
'

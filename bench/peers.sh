#!/usr/bin/env bash
# The project next to PyTorch on this machine's CPU, in one invocation so the ratios compare like
# with like: `deno task bench` (writes bench/results.json), then the Barlow Twins MLP, ResNet-18
# and small-CNN steps in paired rounds against PyTorch's (bench/paired.ts: Debian's python3-torch
# with OpenBLAS, 2 threads, bench/torch_cpu.py), whose ratios go into bench/results.json. Installs
# what is missing. Extra arguments go to the project's bench (e.g. --quick; --quick halves the
# rounds too). Run it on an otherwise idle machine.
# The convolutional subset: `bash bench/peers.sh --conv-steps [--quick] [--profile]` times only the
# ResNet-18 and small-CNN steps on both sides and prints resnet18_step_vs_torch_cpu,
# cnn_bt_step_seconds, cnn_step_vs_torch_cpu, the dispatches per step and each step's GFLOP/s.
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
# the ratios: paired rounds, one project step and one PyTorch step after the other (bench/paired.ts)
paired=()
for a in "$@"; do
  [ "$a" = "--conv-steps" ] && paired+=(--only resnet18,cnn)
  [ "$a" = "--quick" ] && paired+=(--quick)
done
node_modules/.bin/deno run -A bench/paired.ts "${paired[@]}"
node -e '
const fs = require("node:fs");
const r = JSON.parse(fs.readFileSync("bench/results.json", "utf8"));
// the effective GFLOP/s of each step next to the stand-alone convolutions
const conv = Object.keys(r).filter((k) => k.startsWith("conv_") && k.endsWith("_gflops"));
for (const k of ["resnet18_dispatches_per_step", "cnn_bt_dispatches_per_step", "resnet18_bt_step_gflops", "cnn_bt_step_gflops", ...conv]) {
  if (r[k] !== undefined) console.log(`${k} ${r[k]}`);
}
'

#!/usr/bin/env bash
# The project next to PyTorch on this machine's CPU, in one invocation so the ratios compare like
# with like: `deno task bench` (writes bench/results.json), then the same Barlow Twins MLP step and
# ResNet-18 step in PyTorch (Debian's python3-torch with OpenBLAS, 2 threads; bench/torch_cpu.py),
# then the ratios project time / PyTorch time into bench/results.json. Installs what is missing.
# Extra arguments go to the project's bench (e.g. --quick). Run it on an otherwise idle machine.
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
only=""
for a in "$@"; do [ "$a" = "--conv-steps" ] && only="--only resnet18,cnn"; done
# shellcheck disable=SC2086
torch_json=$(/usr/bin/python3 bench/torch_cpu.py --threads 2 $only)
echo "PyTorch (CPU): $torch_json"
TORCH="$torch_json" node -e '
const fs = require("node:fs");
const file = "bench/results.json";
const r = JSON.parse(fs.readFileSync(file, "utf8")), t = JSON.parse(process.env.TORCH);
const round = (v) => Math.round(v * 1000) / 1000;
const peer = { bt: "bt_mlp_step_seconds", resnet18: "resnet18_bt_step_seconds", cnn: "cnn_bt_step_seconds" };
r.torch_cpu = { ...r.torch_cpu, version: t.torch, threads: t.threads, blas: t.blas };
// each ratio: [result key, its project figure, its PyTorch figure]
const ratios = [
  ["bt_step_vs_torch_cpu", "bt_step_seconds", peer.bt],
  ["resnet18_step_vs_torch_cpu", "resnet18_bt_step_seconds", peer.resnet18],
  ["cnn_step_vs_torch_cpu", "cnn_bt_step_seconds", peer.cnn],
];
for (const [key, ours, theirs] of ratios) {
  if (t[theirs] === undefined || r[ours] === undefined) continue;
  r.torch_cpu[ours] = round(t[theirs]);
  r[key] = round(r[ours] / t[theirs]);
  console.log(`${key} ${r[key]} (project ${r[ours]} s, PyTorch ${round(t[theirs])} s)`);
}
// the effective GFLOP/s of each step next to the stand-alone convolutions
const conv = Object.keys(r).filter((k) => k.startsWith("conv_") && k.endsWith("_gflops"));
for (const k of ["resnet18_dispatches_per_step", "cnn_bt_dispatches_per_step", "resnet18_bt_step_gflops", "cnn_bt_step_gflops", ...conv]) {
  if (r[k] !== undefined) console.log(`${k} ${r[k]}`);
}
fs.writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
'

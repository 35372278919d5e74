#!/usr/bin/env bash
# The project next to PyTorch on an NVIDIA GPU, in one invocation (about 6 minutes on an H100/H200):
#   1. a runtime: node_modules if present, else unpacked from .gl/runtime.tar.xz (deno, dawn.node,
#      the npm packages; bench/gpu_fetch.sh makes it)
#   2. the Vulkan loader Dawn needs, from .gl/*.deb when the machine has none, and NVIDIA's ICD
#   3. bench/gpu.ts project: every discrete-GPU kernel variant (shared-memory tiles, f16, the
#      tensor-core variants for the adapter's subgroup-matrix config, conv tiles) checked against
#      float64 on this GPU, then the workloads timed: matmul 4096³ f32 and f16, the default and the
#      reference Barlow Twins steps, the ResNet-18 step (f32 and f16-input kernels), and the
#      default pipelines/barlow.ts run's training images/s
#   4. bench/torch_gpu.py: the same workloads in PyTorch CUDA (TF32 off)
#   5. bench/gpu.ts merge → bench/results_gpu.json (also copied to $OUT when set)
#
# On the device machine (no network; see bench/gpu_fetch.sh for what to prepare first):
#   run(command: "bash bench/gpu.sh", carry: [".gl"], timeout_s: 480)
# Here, end to end at small sizes on llvmpipe and PyTorch's CPU (writes bench/results_gpu_dry_run.json):
#   bash bench/gpu.sh --cpu-dry-run
set -uo pipefail
cd "$(dirname "$0")/.."
mode=gpu
[ "${1:-}" = "--cpu-dry-run" ] && mode=cpu
small=""; result=bench/results_gpu.json; budget=250; tune=""
# the dry run keeps the adapter's default kernels (tuning every shape on llvmpipe would take most of an hour)
if [ "$mode" = cpu ]; then small="--small"; result=bench/results_gpu_dry_run.json; budget=900; tune="--no-tune"; fi
tmp=$(mktemp -d /tmp/ssl-gpu-bench.XXXXXX)
say() { echo "[gpu.sh $(date +%H:%M:%S)] $*"; }

# 1. runtime
if [ ! -x node_modules/.bin/deno ] || [ ! -d node_modules/webgpu ]; then
  if [ -f .gl/runtime.tar.xz ]; then
    say "unpacking .gl/runtime.tar.xz"
    tar -xJf .gl/runtime.tar.xz || { say "could not unpack .gl/runtime.tar.xz"; exit 2; }
  else
    say "no node_modules and no .gl/runtime.tar.xz: run bench/gpu_fetch.sh on a machine with network and carry .gl"
    exit 2
  fi
fi
DENO=node_modules/.bin/deno
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/ssl-webgpu-xdg}"; mkdir -p "$XDG_RUNTIME_DIR"
export NO_COLOR=1

# 2. Vulkan loader and driver
if [ "$mode" = gpu ]; then
  if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    if ls .gl/*.deb >/dev/null 2>&1; then
      say "installing the carried Vulkan loader (.gl/*.deb)"
      for f in .gl/*.deb; do dpkg -x "$f" /; done
      ldconfig
    else
      say "no Vulkan loader on this machine and none carried in .gl/ (bench/gpu_fetch.sh downloads it)"
    fi
  fi
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$nv" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nv"
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$tmp/smi.txt" 2>/dev/null || true
  say "GPU: $(cat "$tmp/smi.txt" 2>/dev/null)"
fi
python3 - "$tmp/smi.txt" "$tmp/machine.json" "$mode" <<'EOF' 2>/dev/null || echo '{}' > "$tmp/machine.json"
import json, os, platform, sys
line = open(sys.argv[1]).read().strip() if os.path.exists(sys.argv[1]) else ""
parts = [p.strip() for p in line.split(",")] if line else []
keys = ["gpu", "driver", "memory", "max_sm_clock"]
m = dict(zip(keys, parts))
m.update({"mode": sys.argv[3], "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()})
json.dump(m, open(sys.argv[2], "w"))
EOF

# 3. the project
say "project side (budget ${budget} s)"
timeout $((budget + 90)) "$DENO" run -A --no-check bench/gpu.ts project --out "$tmp/project.json" --budget-s "$budget" $small $tune 2>&1 | grep --line-buffered -v "^Warning: maxDynamic"
[ -f "$tmp/project.json" ] || { say "the project side wrote no results"; exit 1; }

# 4. PyTorch
py=python3; dev=cuda
if [ "$mode" = cpu ]; then py=/usr/bin/python3; dev=cpu; fi
if "$py" -c "import torch" 2>/dev/null; then
  say "PyTorch side ($py, $dev)"
  workloads=$("$DENO" run -A --no-check bench/gpu.ts workloads $small)
  PYTHONUNBUFFERED=1 timeout 240 "$py" bench/torch_gpu.py --workloads "$workloads" --device "$dev" --out "$tmp/torch.json" | grep -v '^{'
else
  say "$py has no torch: the PyTorch columns stay empty"
fi

# 5. merge
"$DENO" run -A --no-check bench/gpu.ts merge --project "$tmp/project.json" --torch "$tmp/torch.json" --machine "$tmp/machine.json" --out "$result" $small
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then cp "$result" "$OUT/" && cp "$tmp"/project.json "$OUT/gpu-project.json" 2>/dev/null; fi
say "done"

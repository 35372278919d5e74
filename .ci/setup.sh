#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (root): Mesa 25 lavapipe
# from bookworm-backports (Dawn rejects Debian 12's own Mesa 22), Fashion-MNIST, Debian's
# PyTorch 1.13 (only the PyTorch-export tests use it), Debian's Chromium (the browser tests drive
# it with puppeteer-core, which never downloads a browser), npm packages (Deno itself comes from
# npm). Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need_apt=0
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[4-9]\|^[3-9]'; then need_apt=1; fi
[ -d /usr/share/datasets/fashion-mnist ] || need_apt=1
# Debian's PyTorch as /usr/bin/python3: tests/torch_*_test.ts run the programs tools/to_torch.ts writes
need_torch=0
/usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1 || need_torch=1
# Chromium for tests/browser_test.ts (WebGPU on SwiftShader, or on lavapipe through ANGLE)
need_chromium=0
[ -x /usr/lib/chromium/chromium ] || need_chromium=1
if [ "$need_apt" = 1 ] || [ "$need_torch" = 1 ] || [ "$need_chromium" = 1 ]; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-torchvision libopenblas0-pthread >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x node_modules/.bin/deno ] || [ ! -d node_modules/webgpu ] || [ ! -d node_modules/tsx ] || [ ! -d node_modules/puppeteer-core ]; then
  npm install --no-audit --no-fund --loglevel=error
fi
# the commit habit (subject ≤ 72 characters, a body saying why) checked by git itself
if git rev-parse --git-dir >/dev/null 2>&1 && [ "$(git config core.hooksPath)" != .githooks ]; then
  git config core.hooksPath .githooks
fi

#!/usr/bin/env bash
# Prepares .gl/ (git-ignored) so that bench/gpu.sh runs on a device machine that has no network
# and gets only the repository plus carried folders (64 MiB in all):
#   .gl/libvulkan1_*.deb   the Vulkan loader (amd64) Dawn needs there, downloaded from Debian the
#                          way the device machine's notes describe; bench/gpu.sh unpacks it to /
#                          only when `ldconfig -p` shows no libvulkan
#   .gl/runtime.tar.xz     node_modules without what the bench does not need (Bun, esbuild, tsx,
#                          type packages, dawn.node for other platforms): deno and the linux-x64
#                          dawn.node, compressed (~35 MB); unpacked when node_modules is missing
# Then, in a later session with a GPU: run(command: "bash bench/gpu.sh", carry: [".gl"], timeout_s: 480).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qsx '/.gl/' .gitignore .git/info/exclude || echo '/.gl/' >> .git/info/exclude
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1)
fi
[ -x node_modules/.bin/deno ] || { echo "node_modules is missing: npm install first"; exit 2; }
XZ_OPT="-9 -T0" tar -cJf .gl/runtime.tar.xz \
  --exclude=node_modules/bun --exclude=node_modules/@esbuild --exclude=node_modules/tsx \
  --exclude=node_modules/@types --exclude=node_modules/@deno \
  --exclude=node_modules/webgpu/dist/darwin-universal --exclude=node_modules/webgpu/dist/linux-arm64 \
  --exclude=node_modules/webgpu/dist/win32-arm64 --exclude=node_modules/webgpu/dist/win32-x64 \
  node_modules
ls -la .gl
total=$(du -sm .gl | cut -f1)
tree=$( (git ls-files -z | du -cm --files0-from=- 2>/dev/null || true) | tail -1 | cut -f1)
echo ".gl: ${total} MiB, tracked files: ${tree} MiB (the device machine takes 64 MiB in all)"

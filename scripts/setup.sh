#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: the Vulkan loader and Debian's chromium (which ships
# SwiftShader, the software Vulkan adapter used when there is no GPU, and the browser the demo
# tests drive), numpy, then the npm dependencies from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -e /usr/lib/chromium/libvk_swiftshader.so ] || need+=(chromium)
# grep without -q reads all of ldconfig's output: with -q it stops early, ldconfig gets SIGPIPE
# and pipefail turns a found loader into a missing one.
ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1 ' >/dev/null || need+=(libvulkan1)
# numpy reads a saved convnet back in the model-file test and times the book's own code in the bench.
python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

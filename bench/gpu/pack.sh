#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run the Node bench (it has no Node.js and reaches no
# registry): a compressed Node binary, the bench bundle with Dawn beside it, and the Vulkan
# loader's Debian packages. Everything lands in git-ignored folders (.gpu/, .gl/) that the
# device tool's `carry` takes along. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
mkdir -p .gpu .gl /tmp/amd64/partial
node bench/bundle.mjs --with-dawn linux-x64
rm -rf .gpu/dist && cp -r bench/.dist .gpu/dist
[ -f .gpu/node.xz ] || xz -T2 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
cp bench/gpu/run.sh .gpu/run.sh
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
echo 'then: device run with carry [".gpu", ".gl"] and command: bash .gpu/run.sh'

#!/usr/bin/env bash
# Copies the third-party sources descent builds with (spdlog, fmt, toml++, CLI11 headers and
# googletest's sources, all from this machine's Debian packages) into .deps/, so that a machine
# without Debian's packages (the GPU machine) can build descent header-only:
#   cmake -S . -B build -DDESCENT_DEPS_DIR=$PWD/.deps
# .deps/ is ignored by git; name it in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
rm -rf .deps
mkdir -p .deps/include
for dir in spdlog fmt toml++ CLI; do
  cp -r "/usr/include/$dir" .deps/include/
done
cp -r /usr/src/googletest .deps/googletest
du -sh .deps

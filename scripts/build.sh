#!/usr/bin/env bash
# Configures and builds descent into build/ (Release, warnings as errors).
# Extra arguments go to cmake, e.g. scripts/build.sh -DDESCENT_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_WERROR=ON "$@"
cmake --build build --parallel "$(nproc)"

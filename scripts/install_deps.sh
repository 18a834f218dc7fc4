#!/usr/bin/env bash
# Installs what descent needs to build and test on Debian (run as root). Installs only the
# packages that are missing, so it is quick on a machine that has them. The CUDA toolkit is
# optional: without nvcc the CUDA backend is left out and descent trains on the CPU.
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libspdlog-dev libfmt-dev libtomlplusplus-dev
          libcli11-dev googletest libgtest-dev libgmock-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

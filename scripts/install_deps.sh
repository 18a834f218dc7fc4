#!/usr/bin/env bash
# Installs what descent needs to build and test on Debian (run as root). Installs only the
# packages that are missing, so it is quick on a machine that has them. The CUDA toolkit is
# optional: without nvcc the CUDA backend is left out and descent trains on the CPU.
#   build:   cmake ninja-build g++ pkg-config and the libraries' -dev packages (OpenBLAS's
#            single-threaded build for the CPU's matrix products)
#   tests:   googletest; python3-numpy for the .npy interoperability tests (no test may skip
#            for want of a package: scripts/check_skips.sh fails CI when one does)
#   checks:  clang-format (scripts/check_format.sh), clang-tidy (scripts/check_tidy.sh),
#            clang and its sanitizer runtimes libclang-rt-14-dev (scripts/test_sanitized.sh)
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libspdlog-dev libfmt-dev libtomlplusplus-dev
          libcli11-dev libopenblas-serial-dev googletest libgtest-dev libgmock-dev python3 python3-numpy
          clang-format clang-tidy clang libclang-rt-14-dev)
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
